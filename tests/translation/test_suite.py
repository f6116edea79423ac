"""Translation suites: what they expand to, what they refuse (one message naming the field and the fix), and a
tiny one end to end through the store and the report."""
from __future__ import annotations

import copy
import json

import pytest
import yaml

from ganbench.errors import SpecError
from ganbench.expand import expand
from ganbench.suite import load, parse
from ganbench.suites import resolve
from helpers.specs import translation_spec

PAIR_MODELS = [{"name": "CycleGAN", "kind": "cyclegan", "loss": "lsgan", "arch": {"image": "resnet_patch",
                                                                                    "vector": "mlp_pair"}},
               {"name": "pix2pix", "kind": "pix2pix", "loss": "ns", "arch": {"image": "resnet_patch",
                                                                               "vector": "mlp_pair"}}]
SUITE = {"name": "tr", "datasets": [{"name": "ring_warp", "params": {"n_train": 1000, "n_test": 200}}],
         "models": PAIR_MODELS, "hparams": {"batch_size": 32, "width": 8}, "seeds": [0],
         "budget": {"steps": 30, "eval_every": 15},
         "evaluation": {"metrics": ["fid", "prc", "content", "ground_truth", "cycle"], "n_gen": 200, "n_real": 200}}


def _with(**changes):
    doc = copy.deepcopy(SUITE)
    doc.update(changes)
    return doc


def _error(doc) -> str:
    with pytest.raises(SpecError) as err:
        parse(doc)
    return str(err.value)


def test_shipped_translation_suite_expands_to_methods_and_identity_rows():
    spec = load(resolve("translation"))
    runs = expand(spec).runs
    kinds = {r.model.kind for r in runs}
    assert kinds == {"cyclegan", "pix2pix", "identity"}
    identity = [r for r in runs if r.model.kind == "identity"]
    assert {r.dataset for r in identity} == {"digit_styles", "ring_warp"} and all(r.role == "calibration"
                                                                                 for r in identity)
    cycle = next(r for r in runs if r.model.kind == "cyclegan")
    assert {"lambda_cyc", "lambda_id", "pool_size", "lr", "width"} <= set(cycle.hparams)
    assert not {"z_dim", "d_norm", "g_norm", "ema", "n_disc"} & set(cycle.hparams)  # nothing a translator ignores
    pix = next(r for r in runs if r.model.kind == "pix2pix")
    assert pix.hparams["lambda_l1"] == 100.0 and "lambda_cyc" not in pix.hparams
    assert {r.headline for r in runs if r.dataset == "ring_warp"} == {"l1"}


def test_generation_suites_get_no_identity_row_and_translation_suites_no_floor():
    default = expand(load(resolve("default"))).runs
    assert {r.model.kind for r in default if r.role == "calibration"} == {"floor", "copycat"}
    runs = expand(parse(SUITE)).runs
    assert {r.model.kind for r in runs if r.role == "calibration"} == {"identity"}


def test_metrics_a_translation_cannot_feed_are_dropped_and_directions_are_keyed():
    doc = _with(evaluation={**SUITE["evaluation"], "metrics": ["fid", "modes", "authenticity", "content", "cycle"]})
    run = expand(parse(doc)).runs[0]
    assert run.evaluation.metrics == ("fid", "content", "cycle")  # modes reads σ, authenticity the train split
    doc = _with(evaluation={**SUITE["evaluation"], "headline": "fid_ba"})
    assert expand(parse(doc)).runs[0].headline == "fid_ba"
    gan = {"name": "g", "datasets": ["ring"], "models": [{"loss": "ns", "arch": "mlp"}], "budget": {"steps": 1},
           "evaluation": {"metrics": ["knn", "content", "cycle"], "n_gen": 10, "n_real": 10}}
    assert expand(parse(gan)).runs[0].evaluation.metrics == ("knn",)


@pytest.mark.parametrize("change,where,says", [
    ({"datasets": ["digits"]}, "models[0].kind", "list domain pairs"),
    ({"models": [{"name": "g", "loss": "ns", "arch": "mlp"}]}, "models[0]", "kind: cyclegan or pix2pix"),
    ({"models": [{"name": "c", "kind": "cyclegan", "loss": "lsgan", "arch": "mlp"}]}, "models[0].arch",
     "use mlp_pair for vector data"),
    ({"models": [{"name": "c", "kind": "cyclegan", "loss": "began", "arch": "mlp_pair"}]}, "models[0].loss",
     "use a loss with a logit D"),
    ({"models": [{"name": "c", "kind": "cyclegan", "loss": "ns", "arch": "mlp_pair", "conditioning": "acgan"}]},
     "models[0].conditioning", "remove it"),
    ({"evaluation": {**SUITE["evaluation"], "sampling_seeds": 3}}, "evaluation.sampling_seeds", "set sampling_seeds: 1"),
    ({"models": [{"name": "g", "loss": "ns", "arch": "mlp_pair"}]}, "models[0].arch", "use mlp for vector data"),
])
def test_mismatched_tasks_get_one_message_naming_the_field_and_the_fix(change, where, says):
    message = _error(_with(**change))
    assert where in message and says in message, message


def test_a_translation_suite_runs_end_to_end_through_store_and_report(tmp_path):
    from ganbench.report import build
    from ganbench.results import load_results
    from ganbench.results.store import Store
    from ganbench.suite_runner import run_suite

    store = Store(tmp_path / "results")
    counts = run_suite(parse(SUITE), store, workers="1", progress=False)
    root = tmp_path / "results" / "tr"
    records = [json.loads(p.read_text()) for p in root.glob("*/result.json")]
    assert len(records) == 3 and {r["status"] for r in records} == {"done"}, counts
    kinds = {p.parent.name: json.loads(p.read_text())["model"]["kind"] for p in root.glob("*/spec.json")}
    by_kind = {kinds[r["run_id"]]: r for r in records}
    assert by_kind["identity"]["final"]["cycle"] == 0.0 and by_kind["identity"]["best_step"]["l1"] == 0
    cycle = by_kind["cyclegan"]
    assert {"fid", "fid_ab", "fid_ba", "recall_ab", "content_ba", "l1", "cycle"} <= set(cycle["final"])
    assert cycle["directions"]["l1_ab"] is False and cycle["directions"]["content"] is True
    assert cycle["protocol"]["translation"]["paired"] is True and cycle["samples"] == "samples.npy"
    assert (root / cycle["run_id"] / "generator.pt").exists()
    index = build(load_results(str(root)), tmp_path / "report", n_boot=50, formats=("png",))
    tables = tmp_path / "report" / "tables"
    translation = (tables / "translation.md").read_text()
    assert "identity (copies the input) †" in translation and "cycle L1" in translation
    assert "Copying the input (the identity row) scores L1 to truth" in (tables / "findings.md").read_text()
    assert "<h3>Translation</h3>" in index.read_text()


def test_the_folder_template_in_the_docs_is_a_valid_suite():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "translation.md").read_text()
    block = text.split("A template:\n\n```yaml\n", 1)[1].split("```", 1)[0]
    spec = parse(yaml.safe_load(block))
    runs = expand(spec).runs
    assert {r.model.kind for r in runs} == {"cyclegan", "identity"}
    assert runs[0].evaluation.metrics == ("fid", "kid", "cycle") and runs[0].headline == "fid"
    assert runs[0].hparams["batch_size"] == 1


def test_tensorboard_logs_a_translation_runs_metrics_and_translations(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from ganbench.results.store import Store
    from ganbench.run_one import RunOptions, execute
    from ganbench.tensorboard import run_log_dir

    spec = translation_spec("cyclegan", "lsgan", "digit_styles", steps=4, eval_every=2, n=32)
    store = Store(tmp_path / "results")
    assert execute(spec, store, RunOptions(tensorboard=str(tmp_path / "tb"))) == "done"
    history = [json.loads(line) for line in (store.run_dir(spec) / "history.jsonl").read_text().splitlines()]
    acc = EventAccumulator(str(run_log_dir(tmp_path / "tb", spec)), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    logged = {e.step: e.value for e in acc.Scalars("metric/content_ab")}
    assert logged == pytest.approx({row["step"]: row["metrics"]["content_ab"] for row in history}, rel=1e-6)
    assert {"loss/cycle", "metric/fid_ba", "metric/ssim"} <= set(acc.Tags()["scalars"])
    assert [im.step for im in acc.Images("samples")] == [2, 4]  # the A → B translations
