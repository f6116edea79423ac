"""The study's protocol as facts of its code (google/compare_gan, tag v1.0, ``compare_gan/src/``).

"Are GANs Created Equal?" (Lucic et al., NeurIPS 2018) ran the code in compare_gan v1.0; where the
paper's text and the code differ, the code produced the published numbers. Every constant here names
the file it comes from; ``suites/lucic.yaml``, the networks, losses and trainer are tested against
them, and :func:`departures` tells the report where a stored run is not the study. docs/protocol.md is
the same table for people. Plain Python: the report imports this without torch.
"""
from __future__ import annotations

from typing import Any, Mapping

from ganbench.schedules import describe, is_schedule

SOURCE = "google/compare_gan v1.0, compare_gan/src/"

# ---- training length (generate_tasks_lib.py TuneParams) ----------------------------------------
BATCH_SIZE = 64  # BATCH_SIZE
Z_DIM = 64  # "z_dim": [64]
Z_PRIOR = "uniform"  # abstract_gan.z_generator: U[-1, 1] (the VAE draws N(0, I))
EPOCH_IMAGES = {"mnist": 50_000, "fashion_mnist": 50_000, "cifar10": 50_000, "celeba": 162_000}
EPOCHS = {"mnist": 20, "fashion_mnist": 20, "cifar10": 100, "celeba": 40}
CHECKPOINT_EPOCHS = 5  # save_checkpoint_steps = 5 * epoch // BATCH_SIZE


def budget_steps(dataset: str) -> int:
    """Training steps (D updates) of a study dataset: ``epochs · epoch // 64``."""
    return EPOCHS[dataset] * EPOCH_IMAGES[dataset] // BATCH_SIZE


def checkpoint_every(dataset: str) -> int:
    """Steps between checkpoints, each one scored: ``5 · epoch // 64``."""
    return CHECKPOINT_EPOCHS * EPOCH_IMAGES[dataset] // BATCH_SIZE


# ---- evaluation (eval_gan_lib.py) ---------------------------------------------------------------
N_EVAL = 10_000  # num_test_examples: real images of the test split and generated images
EVAL_SPLIT = "test"
EXTRACTOR = "inception"  # Inception FID/IS through TF-GAN; ganbench uses torch-fidelity's port
NAN_FID = 31337.0  # NAN_DETECTED: the score of a checkpoint whose samples contain NaN
IS_SPLITS = 1  # fid_score.inception_score_fn: tfgan classifier_score over every sample at once
DEFAULT_IS_SPLITS = 10  # ganbench's own default (metrics/inception_score.py; a test keeps them equal)

# ---- networks (abstract_gan.py, BEGAN.py, VAE.py, ops.py) ----------------------------------------
ARCH = "infogan"
BN_DECAY, BN_EPS = 0.999, 1e-3  # ops.batch_norm
LEAK = 0.2  # ops.lrelu, after every BN of G (abstract_gan.generator)
BEGAN_CODE = 64  # BEGAN.discriminator d_fc6

# ---- models: the loss each trains with, and its author defaults (params.py *HyperParams) -------
#: model name → (loss, {β1, lr, n_disc, BN in D (d_norm), extra}); the VAE has no loss
AUTHOR_DEFAULTS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "MM GAN": ("mm", {"beta1": 0.0, "lr": 5e-5, "n_disc": 1, "d_norm": "batch"}),
    "NS GAN": ("ns", {"beta1": 0.0, "lr": 5e-5, "n_disc": 1, "d_norm": "batch"}),
    "LSGAN": ("lsgan", {"beta1": 0.5, "lr": 2e-4, "n_disc": 1, "d_norm": "batch"}),
    "WGAN": ("wgan", {"beta1": 0.5, "lr": 5e-5, "n_disc": 5, "d_norm": "batch", "clip": 0.01}),
    "WGAN GP": ("wgan_gp", {"beta1": 0.5, "lr": 1e-4, "n_disc": 5, "d_norm": "none", "lambda": 10.0}),
    "DRAGAN": ("dragan", {"beta1": 0.5, "lr": 1e-4, "n_disc": 1, "d_norm": "batch", "lambda": 10.0}),
    "BEGAN": ("began", {"beta1": 0.5, "lr": 1e-4, "n_disc": 5, "d_norm": "none", "lambda_k": 1e-3,
                        "gamma": 0.75}),
    "VAE": (None, {"beta1": 0.5, "lr": 5e-5}),
}
#: the narrow range's setting 0 where it differs from the wide one (params.VAEHyperParams: BN off)
NARROW_DEFAULTS = {"VAE": {"d_norm": "none"}}
STUDY_LOSSES = {loss for loss, _ in AUTHOR_DEFAULTS.values() if loss}

# ---- search (params.py, generate_tasks_lib.py) ---------------------------------------------------
WIDE_SETTINGS, NARROW_SETTINGS, SEEDS = 100, 50, 50  # TuneParams num_samples; Phase3Auto num_repeat
#: hyperparameter → ("loguniform" | "uniform", low, high) or ("choice", values) or a fixed value
WIDE_RANGE: dict[str, Any] = {
    "beta1": ("uniform", 0.0, 1.0), "lr": ("loguniform", 1e-5, 1e-2), "n_disc": ("choice", (1, 5)),
    "d_norm": ("choice", ("batch", "none")), "clip": ("loguniform", 1e-3, 1.0),
    "lambda": ("loguniform", 0.1, 100.0), "lambda_k": ("loguniform", 1e-4, 1e-2), "gamma": ("uniform", 0.0, 1.0),
}
NARROW_RANGE: dict[str, Any] = {
    "beta1": 0.5, "lr": ("loguniform", 1e-4, 1e-3), "n_disc": 1, "d_norm": ("choice", ("batch", "none")),
    "clip": ("loguniform", 1e-2, 1.0), "lambda": ("loguniform", 0.1, 10.0), "lambda_k": 1e-3,
    "gamma": ("uniform", 0.6, 0.9),
}
NARROW_BN_OFF = ("WGAN GP", "DRAGAN")  # "From the barplot, clearly False is better."

#: code revisions (ganbench.revisions) at which ganbench's components are the study's
REVISIONS = {"trainer": 2, "arch": {"infogan": 2}, "loss": {"began": 2}, "penalty": {"dragan": 2}}


def departures(spec: Mapping[str, Any]) -> list[str]:
    """How one stored run spec (``spec.json``) departs from the study's protocol, in words; [] if none.

    Only runs that can be the study's are checked: a study dataset and a study loss (or the VAE).
    Anything else is "not the study" in a single line, so a report can say its numbers are not
    comparable with the published ones.
    """
    dataset = spec.get("dataset")
    model = spec.get("model") or {}
    kind, loss, arch = model.get("kind"), model.get("loss"), model.get("arch")
    if spec.get("role") == "calibration":  # real data scored as a model: no protocol to depart from
        return []
    if dataset not in EPOCH_IMAGES:
        return [f"dataset '{dataset}' is not one of the study's (MNIST, Fashion-MNIST, CIFAR-10, CelebA)"]
    if kind == "gan" and loss not in STUDY_LOSSES:
        return [f"loss '{loss}' is not one of the study's"]
    if model.get("conditioning", "none") != "none":
        return [f"conditioning '{model['conditioning']}': the study's GANs are unconditional"]
    out: list[str] = []
    hp = spec.get("hparams") or {}
    budget = spec.get("budget") or {}
    evaluation = spec.get("evaluation") or {}
    revisions = spec.get("revisions") or {}

    def differs(what: str, have: Any, study: Any) -> None:
        if have != study:
            out.append(f"{what} {have} (study: {study})")

    differs("steps", budget.get("steps"), budget_steps(dataset))
    differs("checkpoint every", budget.get("eval_every"), checkpoint_every(dataset))
    differs("architecture", arch, ARCH)
    differs("batch size", hp.get("batch_size"), BATCH_SIZE)
    differs("z_dim", hp.get("z_dim"), Z_DIM)
    if kind == "gan":
        differs("z prior", hp.get("z_prior"), Z_PRIOR)
    differs("evaluation extractor", evaluation.get("extractor"), EXTRACTOR)
    differs("generated samples", evaluation.get("n_gen"), N_EVAL)
    differs("real samples", evaluation.get("n_real"), N_EVAL)
    differs("real split", evaluation.get("split"), EVAL_SPLIT)
    if "is" in (evaluation.get("metrics") or []):
        splits = ((evaluation.get("metric_options") or {}).get("is") or {}).get("splits", DEFAULT_IS_SPLITS)
        differs("Inception Score splits", splits, IS_SPLITS)
    for key, value in (("ema", 0.0), ("instance_noise", 0.0), ("unroll", 0), ("g_norm", "batch"),
                       ("beta2", 0.999), ("width", 64)):
        if key in hp:
            differs(key, describe(hp[key]) if is_schedule(hp[key]) else hp[key], value)
    if model.get("augment", "none") != "none":
        out.append(f"D's inputs augmented by {model['augment']} (study: none)")
    for key, what in (("lecam", "LeCam regularisation"), ("penalty_every", "lazy regularisation every")):
        if key in hp:
            out.append(f"{what} {hp[key]} (study: none)")
    out.extend(f"{key} scheduled {describe(hp[key])} (study: fixed)" for key in ("lr", "beta1", "lambda")
               if is_schedule(hp.get(key)))
    if hp.get("d_norm") not in (None, "batch", "none"):
        out.append(f"d_norm {hp['d_norm']} (study: batch norm on or off)")
    if kind == "gan" and loss == "began" and hp.get("clip_k"):
        out.append("BEGAN k clipped to [0, 1] (study: unclipped)")
    penalty = model.get("penalty")
    default_penalty = {"wgan_gp": "wgan_gp", "dragan": "dragan"}.get(loss, "none")
    if kind == "gan":
        differs("penalty", penalty, default_penalty)
    wanted = {"trainer": REVISIONS["trainer"], "arch": REVISIONS["arch"].get(arch, 1),
              "loss": REVISIONS["loss"].get(loss, 1), "penalty": REVISIONS["penalty"].get(penalty, 1)}
    for component, revision in wanted.items():
        have = int(revisions.get(component, 1))
        if have < revision:
            out.append(f"trained by an older {component} (revision {have}; the study's is revision {revision})")
    return out
