"""Build RunSpecs for tests through the real suite parser (so tests exercise the same path as users)."""
from __future__ import annotations

from typing import Any

from ganbench.specs import RunSpec
from ganbench.expand import expand
from ganbench.suite import parse


def run_spec(dataset: str = "ring", loss: str | None = "ns", arch: str = "mlp", *, steps: int = 20,
             eval_every: int | None = None, hparams: dict[str, Any] | None = None, dataset_params=None,
             penalty: str | None = None, kind: str = "gan", metrics=("knn",), n: int = 100, seed: int = 0,
             conditioning: str | None = None, extractor: str | None = None,
             augment: str | None = None) -> RunSpec:
    model: dict[str, Any] = {"name": "m", "arch": arch, "kind": kind}
    if augment is not None:
        model["augment"] = augment
    if conditioning is not None:
        model["conditioning"] = conditioning
    if loss is not None and kind == "gan":
        model["loss"] = loss
    if penalty is not None:
        model["penalty"] = penalty
    doc = {"name": "test", "datasets": [{"name": dataset, "params": dataset_params or {}}], "models": [model],
           "hparams": {"batch_size": 16, "width": 8, **(hparams or {})}, "seeds": [seed],
           "budget": {"steps": steps, "eval_every": eval_every or steps},
           "evaluation": {"metrics": list(metrics), "n_gen": n, "n_real": n,
                          **({"extractor": extractor} if extractor else {})}}
    return expand(parse(doc)).runs[0]


#: small domain pairs: each pair's parameters for tests
PAIR_PARAMS = {"digit_styles": {"size": 8, "n_test": 100}, "ring_warp": {"n_train": 1000, "n_test": 200},
               "polygon_styles": {"n_train": 64, "n_test": 32}}


def translation_spec(kind: str = "cyclegan", loss: str = "lsgan", dataset: str = "ring_warp", *, steps: int = 4,
                     eval_every: int | None = None, hparams: dict[str, Any] | None = None, params=None,
                     metrics=("fid", "content", "ground_truth", "cycle"), n: int = 100, seed: int = 0) -> RunSpec:
    """A translation run through the real suite parser: ``kind`` (cyclegan, pix2pix) with ``loss`` on a small
    domain pair (ring_warp on mlp_pair, the image pairs on resnet_patch)."""
    arch = "mlp_pair" if dataset == "ring_warp" else "resnet_patch"
    data = params or PAIR_PARAMS[dataset]
    doc = {"name": "t", "datasets": [{"name": dataset, "params": data}],
           "models": [{"name": "m", "kind": kind, "loss": loss, "arch": arch}],
           "hparams": {"batch_size": 8, "width": 8, **(hparams or {})}, "seeds": [seed],
           "budget": {"steps": steps, "eval_every": eval_every or steps},
           "evaluation": {"metrics": list(metrics), "n_gen": n, "n_real": n}}
    return expand(parse(doc)).runs[0]
