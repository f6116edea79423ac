"""Scheduled hyperparameters: the closed forms, the suite syntax and its errors, and training that follows them
(the optimiser's lr and betas, the penalty weight and the EMA decay at each step)."""
from __future__ import annotations

import math

import pytest

from ganbench.errors import SpecError
from ganbench.schedules import describe, ends, is_schedule, value_at
from ganbench.suite import parse

from helpers.specs import run_spec

RING = {"dataset": "ring", "dataset_params": {"n_train": 500, "n_test": 100}}


def test_cosine_and_linear_hit_both_ends_and_follow_their_closed_forms():
    cosine, linear = {"cosine": [2e-4, 5e-5]}, {"linear": [0.9, 0.99]}
    assert value_at(cosine, 1, 101) == pytest.approx(2e-4) and value_at(cosine, 101, 101) == pytest.approx(5e-5)
    assert value_at(cosine, 51, 101) == pytest.approx((2e-4 + 5e-5) / 2)
    assert value_at(cosine, 26, 101) == pytest.approx(5e-5 + 1.5e-4 * 0.5 * (1 + math.cos(math.pi / 4)))
    assert value_at(linear, 26, 101) == pytest.approx(0.9 + 0.09 * 0.25)
    assert value_at(0.3, 7, 10) == 0.3 and value_at(cosine, 1, 1) == pytest.approx(5e-5)
    assert is_schedule(cosine) and not is_schedule(0.3) and not is_schedule({"uniform": [1, 2]})
    assert ends(linear) == (0.9, 0.99) and ends(0.5) == (0.5, 0.5)
    assert describe(cosine) == "cosine 0.0002→5e-05" and describe(0.5) == "0.5"


def _doc(**hparams):
    return {"name": "s", "datasets": ["ring"], "models": [{"name": "m", "loss": "ns", "arch": "mlp",
                                                          "penalty": "r1"}],
            "budget": {"steps": 10}, "evaluation": {"metrics": ["knn"]}, "hparams": hparams}


def test_a_schedule_is_a_value_of_the_suite_stored_in_the_spec_and_its_run_id():
    from ganbench.expand import expand

    fixed = expand(parse(_doc(lr=2e-4))).runs[0]
    scheduled = expand(parse(_doc(lr={"cosine": [2e-4, 5e-5]}))).runs[0]
    assert scheduled.to_dict()["hparams"]["lr"] == {"cosine": [2e-4, 5e-5]}
    assert scheduled.run_id != fixed.run_id
    grid = [r for r in expand(parse(_doc(lr=[{"cosine": [2e-4, 5e-5]}, 1e-4], beta2={"linear": [0.9, 0.99]}))).runs
            if r.role != "calibration"]
    assert [r.to_dict()["hparams"]["lr"] for r in grid] == [{"cosine": [2e-4, 5e-5]}, 1e-4]
    assert all(r.to_dict()["hparams"]["beta2"] == {"linear": [0.9, 0.99]} for r in grid)


@pytest.mark.parametrize("hparams, where, message", [
    ({"n_disc": {"cosine": [1, 5]}}, "hparams.n_disc", "'n_disc' cannot follow a schedule; these can: beta1, beta2"),
    ({"lr": {"cosine": [1e-3]}}, "hparams.lr.cosine", r"expected \[start, end\]"),
    ({"lr": {"cosine": [1e-3, -1.0]}}, r"hparams.lr.cosine\[1\]", "must be ≥"),
    ({"beta2": {"linear": [0.9, 1.0]}}, r"hparams.beta2.linear\[1\]", "must be < 1.0"),
    ({"lr": {"cosin": [1e-3, 1e-4]}}, "hparams.lr", r"or a schedule \{cosine: \[start, end\], linear"),
])
def test_a_wrong_schedule_is_refused_naming_the_field(hparams, where, message):
    with pytest.raises(SpecError, match=f"{where}: .*{message}"):
        parse(_doc(**hparams))


def test_training_follows_the_schedules_step_by_step(monkeypatch):
    """During step t the optimisers hold lr(t) and betas(t) and the penalty weight is λ(t): checked against the
    closed form at every step through the progress hook."""
    import ganbench.train as train_module
    from ganbench.data import load_dataset

    steps = 9
    spec = run_spec(loss="ns", penalty="r1", steps=steps, **RING,
                    hparams={"lr": {"cosine": [1e-3, 1e-4]}, "beta2": {"linear": [0.9, 0.99]},
                             "lambda": {"cosine": [10.0, 1.0]}, "ema": {"linear": [0.0, 0.8]}})
    seen = []
    real_build = train_module.build_run

    def build(*args):
        run = real_build(*args)
        seen.append(run)
        return run

    records = []
    monkeypatch.setattr(train_module, "build_run", build)
    train_module.train(spec, load_dataset("ring", dict(RING["dataset_params"])),
                       progress=lambda step: records.append((step, seen[0].opt_d.param_groups[0]["lr"],
                                                             seen[0].opt_g.param_groups[0]["betas"][1], seen[0].lam)))
    for step, lr, beta2, lam in records:
        assert lr == pytest.approx(1e-4 + 9e-4 * 0.5 * (1 + math.cos(math.pi * (step - 1) / (steps - 1))))
        assert beta2 == pytest.approx(0.9 + 0.09 * (step - 1) / (steps - 1))
        assert lam == pytest.approx(1.0 + 9.0 * 0.5 * (1 + math.cos(math.pi * (step - 1) / (steps - 1))))
    assert len(records) == steps and seen[0].G_ema is not None  # an EMA that starts at decay 0 is still kept


def test_an_ema_schedule_averages_with_each_steps_decay(monkeypatch):
    import ganbench.train as train_module

    decays = []
    real_update = train_module.ema_update
    monkeypatch.setattr(train_module, "ema_update",
                        lambda ema, model, decay: (decays.append(decay), real_update(ema, model, decay)))
    spec = run_spec(loss="ns", steps=5, hparams={"ema": {"linear": [0.5, 0.9]}}, **RING)
    from ganbench.data import load_dataset

    train_module.train(spec, load_dataset("ring", dict(RING["dataset_params"])))
    assert decays == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9])
