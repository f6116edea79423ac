"""Every hyperparameter a run can take: its type, default, valid range and which models it applies to.

A suite may only name these (an unknown key gets a "did you mean"). When a run is resolved, every
hyperparameter that applies to its model gets a value — the suite's, else the default here — so the
stored spec (and the run_id hashed from it) is complete and explicit. The exception is an *opt-in*
hyperparameter, one whose default switches something off (LeCam's weight 0, the penalty every step): a
spec names it only when it is set to another value, so adding one leaves every existing run id as it was.
A *schedulable* hyperparameter may also be a schedule over the run (:mod:`ganbench.schedules`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ganbench.registry import Registry

#: Which models a hyperparameter applies to: every model, GANs only, models with a penalty, models whose
#: loss declares it among its own parameters, or models whose conditioning does (AC-GAN's weight).
#: "generative": models that generate from a latent (GAN, VAE), not translators; "translation": a translation
#: kind's own parameters (catalog KINDS ``params``), defaults stated there.
SCOPES = ("all", "generative", "gan", "penalty", "loss", "conditioning", "augment", "translation")


@dataclass(frozen=True)
class HParam:
    name: str
    type: type
    default: Any
    doc: str
    scope: str = "all"
    low: float | None = None  # inclusive bounds for numbers
    high: float | None = None
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    opt_in: bool = False  # stated in a spec only when it differs from its (switched-off) default
    schedulable: bool = False  # may be a schedule over the run (ganbench/schedules.py)

    def check(self, value: Any) -> str | None:
        """An error message for ``value``, or None when it is valid."""
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if self.type is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, self.type) or isinstance(value, bool) and self.type is not bool:
            return f"expected {self.type.__name__}, got {type(value).__name__} {value!r}"
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(map(str, self.choices))}, got {value!r}"
        if self.low is not None and value < self.low:
            return f"must be ≥ {self.low}, got {value!r}"
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return f"must be {'<' if self.high_open else '≤'} {self.high}, got {value!r}"
        return None

    def coerce(self, value: Any) -> Any:
        return self.type(value) if self.type in (int, float) else value


HPARAMS: Registry[HParam] = Registry("hyperparameter")


def _add(name: str, type_: type, default: Any, doc: str, **kw: Any) -> None:
    HPARAMS.add(name, HParam(name, type_, default, doc, **kw), description=doc)


# Defaults: the study's common setting (batch 64, z ∈ R^64 uniform, Adam β2 = 0.999 not tuned).
_add("lr", float, 2e-4, "Adam learning rate of both networks.", low=1e-12, schedulable=True)
_add("beta1", float, 0.5, "Adam β1 (the study samples it from U[0, 1]).", low=0.0, high=1.0, schedulable=True)
_add("beta2", float, 0.999, "Adam β2 (not tuned in the study).", low=0.0, high=1.0, high_open=True,
     schedulable=True)
_add("batch_size", int, 64, "Samples per batch for real and generated data.", low=1)
_add("z_dim", int, 64, "Latent dimension.", scope="generative", low=1)
_add("z_prior", str, "uniform", "Latent prior of a GAN: uniform on [−1, 1] (the study) or standard normal.", scope="gan",
     choices=("uniform", "normal"))
_add("width", int, 64, "Base channel count (conv nets) or hidden units (MLP).", low=1)
_add("d_norm", str, "batch", "Normalisation in D (the study tunes batch norm on/off).", scope="generative",
     choices=("batch", "none", "spectral", "layer"))
_add("g_norm", str, "batch", "Normalisation in G.", scope="generative", choices=("batch", "layer", "none"))
_add("n_disc", int, 1, "D updates per G update (one training step = one D update).", scope="gan", low=1)
_add("lambda", float, 10.0, "Weight of the gradient penalty.", scope="penalty", low=0.0, schedulable=True)
_add("penalty_every", int, 1, "Lazy regularisation (StyleGAN2): the penalty on every k-th D step only, weighted "
     "× k so its average pull is unchanged (1: every step).", scope="penalty", low=1, opt_in=True)
_add("lecam", float, 0.0, "Weight of LeCam regularisation (Tseng et al. 2021): D's scores pulled towards EMA "
     "anchors of the other side's mean score (0: off).", scope="gan", low=0.0, opt_in=True)
_add("lecam_decay", float, 0.99, "Decay of LeCam's EMA anchors of D's mean real and generated scores.",
     scope="gan", low=0.0, high=1.0, high_open=True, opt_in=True)
# A loss's own parameters: their defaults are the loss's registration (losses.py), stated there only.
_add("clip", float, None, "WGAN weight-clipping bound c.", scope="loss", low=0.0)
_add("gamma", float, None, "BEGAN diversity ratio γ.", scope="loss", low=0.0, high=1.0)
_add("lambda_k", float, None, "BEGAN learning rate λ_k of the equilibrium term k_t.", scope="loss", low=0.0)
_add("clip_k", bool, None, "BEGAN: clip k_t to [0, 1] as the BEGAN paper (the study does not).", scope="loss")
# A conditioning's own parameters: their defaults are its registration (catalog CONDITIONINGS), stated there only.
_add("aux_weight", float, None, "AC-GAN: weight of the auxiliary classifier's cross-entropy for both players.",
     scope="conditioning", low=0.0)
_add("info_weight", float, None, "InfoGAN: weight λ of the mutual-information bound for G and Q.",
     scope="conditioning", low=0.0)
_add("info_cat", int, None, "InfoGAN: values of the categorical code (0: none).", scope="conditioning", low=0)
_add("info_cont", int, None, "InfoGAN: continuous U(−1, 1) codes.", scope="conditioning", low=0)
_add("augment_policy", str, None, "DiffAugment's policies: a comma-separated subset of color, translation, cutout.",
     scope="augment", choices=("color", "translation", "cutout", "color,translation", "color,cutout",
                               "translation,cutout", "color,translation,cutout"))
_add("ada_target", float, None, "ADA: the target of the overfitting heuristic r_t = E[sign D(x_real)].",
     scope="augment", low=0.0, high=1.0)
_add("ada_kimg", float, None, "ADA: thousands of real images over which p may move from 0 to 1 (its speed).",
     scope="augment", low=1e-3)
_add("ada_interval", int, None, "ADA: D steps between adjustments of the augmentation probability p.",
     scope="augment", low=1)
_add("ema", float, 0.0, "Decay of an exponential moving average of G's weights used for evaluation (0 = off).",
     scope="generative", low=0.0, high=1.0, high_open=True, schedulable=True)
_add("instance_noise", float, 0.0, "Std of Gaussian noise added to D's inputs, annealed linearly to 0.",
     scope="gan", low=0.0)
# A translation kind's own parameters: their defaults are its registration (catalog KINDS), stated there only.
_add("lambda_cyc", float, None, "CycleGAN: weight λ_cyc of the cycle-consistency L1 (10 in the paper).",
     scope="translation", low=0.0)
_add("lambda_id", float, None, "CycleGAN: weight of the identity L1, in units of λ_cyc (0.5 in CycleGAN's code; 0: "
     "off).", scope="translation", low=0.0)
_add("pool_size", int, None, "CycleGAN: generated images kept in D's history buffer (50 in the paper; 0: off).",
     scope="translation", low=0)
_add("lambda_l1", float, None, "pix2pix: weight λ_L1 of the L1 to the true counterpart (100 in the paper).",
     scope="translation", low=0.0)
_add("unroll", int, 0, "Unrolled D steps for each G update (Metz et al. 2017).", scope="gan", low=0)
_add("unroll_mode", str, "through", "How G's gradient treats the unrolled D: 'through' its K updates (Metz et al.) "
     "or 'first_order' (the look-ahead D held constant).", scope="gan", choices=("through", "first_order"))


def _kind_meta(kind: str) -> Mapping[str, Any]:
    from ganbench.catalog import KINDS  # here: the catalog imports this module

    return KINDS.meta(kind) if kind in KINDS else {}


def kind_params(kind: str) -> dict[str, Any]:
    """A model kind's own hyperparameters (a translation method's) with their defaults; {} for the others."""
    return dict(_kind_meta(kind).get("params", {}))


def applies(name: str, kind: str, loss_params: tuple[str, ...], penalty: str,
            conditioning_params: tuple[str, ...] = (), augment_params: tuple[str, ...] = ()) -> bool:
    """Whether hyperparameter ``name`` means anything for a model of this kind/loss/penalty/conditioning."""
    scope = HPARAMS.get(name).scope
    translates = _kind_meta(kind).get("task") == "translation"
    if scope == "all":
        return True
    if scope == "generative":
        return not translates
    if scope == "translation":
        return name in kind_params(kind)
    if kind != "gan" and not translates:
        return False
    if scope == "gan":
        return not translates
    if scope == "penalty":
        return penalty != "none"
    if scope == "conditioning":
        return name in conditioning_params
    if scope == "augment":
        return name in augment_params
    return name in loss_params  # scope == "loss"


def defaults_for(kind: str, loss_params: tuple[str, ...], penalty: str,
                 loss_defaults: dict[str, Any] | None = None,
                 conditioning_defaults: dict[str, Any] | None = None,
                 augment_defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every applicable hyperparameter with its default (a loss's, conditioning's or augmentation's own
    default wins for its params)."""
    cond, aug = dict(conditioning_defaults or {}), dict(augment_defaults or {})
    values = {e.name: e.obj.default for e in HPARAMS if not e.obj.opt_in
              and applies(e.name, kind, loss_params, penalty, tuple(cond), tuple(aug))}
    values.update({k: v for k, v in {**(loss_defaults or {}), **cond, **aug, **kind_params(kind)}.items()
                   if k in values})
    return values


Check = Callable[[Any], "str | None"]


def without_opt_in_defaults(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` less the opt-in hyperparameters left at their default: a run that does not use LeCam or lazy
    regularisation has the spec (and run id) it had before they existed, whatever the suite wrote."""
    return {k: v for k, v in values.items()
            if not (HPARAMS.get(k).opt_in and HPARAMS.get(k).coerce(v) == HPARAMS.get(k).default)}


def value(hparams: Any, name: str) -> Any:
    """A run's hyperparameter, an opt-in one at its default when the spec does not state it."""
    return hparams[name] if name in hparams else HPARAMS.get(name).default
