"""The ensemble trainer against solo runs: each member is its solo run (to float tolerance), the same ensemble
gives the same numbers, resume is exact, a diverging member leaves the others bit for bit as they were, and
over 8 seeds the members' outcomes are distributed as 8 solo runs'."""
from __future__ import annotations

import json
import math

import pytest
import torch
from scipy import stats

from ganbench.data import load_dataset
from ganbench.ensemble.train import train_ensemble
from ganbench.errors import GanbenchError
from ganbench.evaluate import Evaluator
from ganbench.train import Checkpointing, train
from helpers.extractors import CountingExtractor
from helpers.specs import run_spec

DIGITS = {"size": 8}


def _specs(dataset="ring", loss="ns", arch="mlp", seeds=(0, 1, 2), steps=4, per_member=None, **kwargs):
    """Runs of one ensemble: the seeds given, and each member's own hyperparameters from ``per_member``."""
    per_member = per_member or (lambda i: {"lr": 1e-3 * (i + 1), "beta1": 0.25 * i})
    hparams = kwargs.pop("hparams", {})
    return [run_spec(dataset, loss, arch, steps=steps, seed=seed, hparams={**hparams, **per_member(i)}, **kwargs)
            for i, seed in enumerate(seeds)]


def _data(spec):
    return load_dataset(spec.dataset, dict(spec.dataset_params))


def _outputs(outcome, spec, n=64):
    """G's samples on fixed latents and D's scores on them: what a member's weights compute."""
    generator = torch.Generator().manual_seed(123)
    z = torch.rand(n, spec.hparams["z_dim"], generator=generator) * 2 - 1
    G, D = outcome.generator.eval(), outcome.discriminator.eval()
    with torch.no_grad():
        x = G(z)
        return x, D(x)


def _state(outcome):
    return {**{f"G.{k}": v for k, v in outcome.generator.state_dict().items()},
            **{f"D.{k}": v for k, v in outcome.discriminator.state_dict().items()}}


def _assert_identical(a, b):
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys()
    for name in sa:
        assert torch.equal(sa[name], sb[name]), name


CASES = {
    "ns on the ring MLP": dict(),
    "wgan_gp (penalty λ per member, fresh G latents)": dict(loss="wgan_gp",
                                                            per_member=lambda i: {"lr": 1e-3, "lambda": 1.0 + i}),
    "wgan (clip per member)": dict(loss="wgan", per_member=lambda i: {"lr": 5e-4, "clip": 0.01 * (i + 1)}),
    "rpgan (G reads D's real scores)": dict(loss="rpgan"),
    "r1 penalty": dict(penalty="r1", per_member=lambda i: {"lr": 1e-3, "lambda": 0.5 * (i + 1)}),
    "dragan (study's, on the probability)": dict(loss="dragan"),
    "lsgan on digits DCGAN (batch norm)": dict(dataset="digits", loss="lsgan", arch="dcgan",
                                               dataset_params=DIGITS),
    "ns on digits InfoGAN net with EMA": dict(dataset="digits", arch="infogan", dataset_params=DIGITS,
                                              hparams={"ema": 0.9}),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_each_member_is_its_solo_run(case):
    specs = _specs(**CASES[case])
    data = _data(specs[0])
    members = train_ensemble(specs, data)
    for spec, member in zip(specs, members):
        solo = train(spec, data)
        assert member.status == solo.status == "done"
        (x_m, d_m), (x_s, d_s) = _outputs(member, spec), _outputs(solo, spec)
        torch.testing.assert_close(x_m, x_s, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(d_m, d_s, rtol=1e-4, atol=1e-5)
        for key in ("d", "g"):
            assert member.history[-1]["losses"][key] == pytest.approx(solo.history[-1]["losses"][key], rel=1e-4,
                                                                     abs=1e-6)
        assert member.compute["ensemble"] == {"members": len(specs), "member": specs.index(spec)}
        assert member.compute["flops_per_step"] == pytest.approx(solo.compute["flops_per_step"], rel=1e-6)


def test_members_differ_by_seed_and_hyperparameters():
    """Not one run copied K times: each member's initialisation, data and latents are its own."""
    specs = _specs(seeds=(0, 1), per_member=lambda i: {"lr": 1e-3})
    a, b = train_ensemble(specs, _data(specs[0]))
    assert not torch.allclose(_outputs(a, specs[0])[0], _outputs(b, specs[1])[0])


def test_same_ensemble_gives_identical_numbers():
    specs = _specs(loss="wgan_gp", per_member=lambda i: {"lr": 1e-3 * (i + 1), "lambda": 1.0})
    data = _data(specs[0])
    for a, b in zip(train_ensemble(specs, data), train_ensemble(specs, data)):
        _assert_identical(a, b)
        assert a.history[-1]["losses"] == b.history[-1]["losses"]


class _Memory:
    """Checkpointing into a dict, keeping every saved state."""

    def __init__(self, state=None):
        self.saved, self.state = [], state

    def checkpointing(self):
        return Checkpointing(save=lambda state: self.saved.append(state), load=lambda: self.state)


def test_resume_mid_ensemble_ends_identical_to_uninterrupted():
    specs = _specs(loss="wgan_gp", steps=6, eval_every=3, per_member=lambda i: {"lr": 1e-3, "lambda": 1.0 + i})
    data = _data(specs[0])
    memories = [_Memory() for _ in specs]
    whole = train_ensemble(specs, data, checkpointings=[m.checkpointing() for m in memories])
    assert [len(m.saved) for m in memories] == [2, 2, 2]
    resumed_from = [_Memory(m.saved[0]) for m in memories]  # killed after step 3's checkpoints
    resumed = train_ensemble(specs, data, checkpointings=[m.checkpointing() for m in resumed_from])
    for a, b in zip(whole, resumed):
        _assert_identical(a, b)
        assert [row["step"] for row in b.history] == [3, 6]
        assert a.history[-1]["losses"] == b.history[-1]["losses"]


def test_members_checkpointed_at_different_steps_each_resume():
    """Killed between two members' checkpoints: each resumes from its own (as a smaller ensemble)."""
    specs = _specs(steps=6, eval_every=3)
    data = _data(specs[0])
    memories = [_Memory() for _ in specs]
    whole = train_ensemble(specs, data, checkpointings=[m.checkpointing() for m in memories])
    states = [memories[0].saved[0], None, memories[2].saved[0]]
    seen = []
    resumed = train_ensemble(specs, data, checkpointings=[_Memory(s).checkpointing() for s in states],
                             on_outcome=lambda i, outcome: seen.append(i))
    assert sorted(seen) == [0, 1, 2]
    for spec, a, b in zip(specs, whole, resumed):
        torch.testing.assert_close(_outputs(a, spec), _outputs(b, spec), rtol=1e-4, atol=1e-5)


def test_a_members_checkpoint_resumes_as_a_solo_run():
    """Checkpoints are in the solo format: the solo trainer resumes a member and ends where the member does."""
    specs = _specs(steps=6, eval_every=3)
    data = _data(specs[0])
    memories = [_Memory() for _ in specs]
    members = train_ensemble(specs, data, checkpointings=[m.checkpointing() for m in memories])
    solo = train(specs[1], data, checkpointing=_Memory(memories[1].saved[0]).checkpointing())
    assert [row["step"] for row in solo.history] == [3, 6]
    torch.testing.assert_close(_outputs(solo, specs[1]), _outputs(members[1], specs[1]), rtol=1e-4, atol=1e-5)


def _evaluators(specs, data, cache_dir):
    """Each member's evaluator, all sharing one extractor (as ``ganbench run --ensemble`` builds them)."""
    shared = Evaluator(specs[0].evaluation, data, cache_dir=cache_dir, run_seed=specs[0].seed)
    return [shared.for_run(spec.seed) for spec in specs]


def _bits(value) -> str:
    """``value`` as exact text, so that rows compare to the bit with NaN equal to NaN (reverse KL of a G that
    covers no mode)."""
    return json.dumps(value, sort_keys=True)


def _without_seconds(history) -> str:
    return _bits([{k: v for k, v in row.items() if k != "seconds"} for row in history])


def test_a_diverging_member_leaves_the_others_identical(tmp_path):
    """Weights, losses and metrics of the others: bit for bit those of an ensemble where nobody diverged, though
    the diverged member's samples never go through the extractor with theirs (it is caught at the first check,
    step 25, before that point's evaluation)."""
    steps = 100
    calm = _specs(loss="wgan", steps=steps, eval_every=25, per_member=lambda i: {"lr": 1e-3, "clip": 1e9},
                  metrics=("modes", "knn"))
    wild = _specs(loss="wgan", steps=steps, eval_every=25,
                  per_member=lambda i: {"lr": 1e30 if i == 1 else 1e-3, "clip": 1e9}, metrics=("modes", "knn"))
    data = _data(calm[0])
    order = []
    quiet = train_ensemble(calm, data, evaluators=_evaluators(calm, data, tmp_path))
    noisy = train_ensemble(wild, data, evaluators=_evaluators(wild, data, tmp_path),
                           on_outcome=lambda i, outcome: order.append((i, outcome.status)))
    assert [o.status for o in quiet] == ["done"] * 3
    assert [o.status for o in noisy] == ["done", "diverged", "done"]
    assert order[0] == (1, "diverged")  # handed out when it diverged, before the others finished
    assert noisy[1].diverged_at == 25 and noisy[1].diverged_what in ("non-finite loss", "non-finite parameters")
    assert noisy[1].history == [] and len(quiet[1].history) == 4
    for i in (0, 2):
        _assert_identical(quiet[i], noisy[i])
        assert [row["step"] for row in noisy[i].history] == [25, 50, 75, 100]
        assert all("knn" in row["metrics"] for row in noisy[i].history)
        assert _without_seconds(quiet[i].history) == _without_seconds(noisy[i].history)


def test_members_are_evaluated_together_as_their_own_evaluators_would(tmp_path):
    """At each evaluation point every member's samples go through the shared extractor in one pass, and each
    member's row holds what its own evaluator, alone, gives its G (raw features: to the bit)."""
    specs = _specs(steps=20, eval_every=10, metrics=("modes", "knn"), n=150)
    data = _data(specs[0])
    evaluators = _evaluators(specs, data, tmp_path)
    counting = CountingExtractor(evaluators[0].extractor)
    for evaluator in evaluators:
        evaluator.extractor = counting
    seen = []
    members = train_ensemble(specs, data, evaluators=evaluators,
                             on_evaluation=lambda i, step, evaluation: seen.append((i, step, evaluation)))
    assert counting.passes == [3 * 150, 3 * 150]  # two evaluation points, one pass each for the three members
    assert [(i, step) for i, step, _ in seen] == [(0, 10), (1, 10), (2, 10), (0, 20), (1, 20), (2, 20)]
    for i, (spec, member) in enumerate(zip(specs, members)):
        alone = Evaluator(spec.evaluation, data, cache_dir=tmp_path, run_seed=spec.seed)
        expected = alone(member.generator, member.sample_latent, 20)
        assert _bits(member.history[-1]["metrics"]) == _bits(dict(expected.metrics))
        assert torch.equal(member.samples, expected.samples)
        assert _bits([dict(e.metrics) for j, _, e in seen if j == i]) == _bits([r["metrics"] for r in member.history])
        assert member.compute["eval_seconds"] > 0
    assert len({m.history[-1]["metrics"]["knn"] for m in members}) == 3  # each member scored on its own samples


def _ring_spread(outcome, spec, n=2000):
    """Mean distance of G's samples to the nearest ring mode: how well a run learned the ring."""
    from ganbench.data import load_dataset

    centres = torch.as_tensor(load_dataset("ring", {}).info.extras["centres"], dtype=torch.float32)
    generator = torch.Generator().manual_seed(7)
    z = torch.randn(n, spec.hparams["z_dim"], generator=generator)
    with torch.no_grad():
        x = outcome.generator.eval()(z)
    return float(torch.cdist(x, centres).min(1).values.mean())


def test_eight_members_are_distributed_as_eight_solo_runs():
    """Over a short training on the ring, the outcomes of 8 members and of the same 8 runs trained alone: a
    two-sample Kolmogorov–Smirnov test does not tell them apart at α = 0.05. Member by member they drift apart
    over 150 steps, as any two float paths through this training do: measured, a member's samples differ from
    its solo run's by 6e-7 at step 6 and 0.1 at step 18, and a solo run whose D is scaled by 1 + 1e-7 at the
    start differs from it by 6e-8 and 0.2. So the claim is about the distribution."""
    specs = [run_spec("ring", "ns", "mlp", steps=150, seed=seed, hparams={"lr": 2e-3, "z_dim": 2, "width": 16,
                                                                          "z_prior": "normal", "batch_size": 64})
             for seed in range(8)]
    data = _data(specs[0])
    members = [_ring_spread(o, s) for o, s in zip(train_ensemble(specs, data), specs)]
    solos = [_ring_spread(train(s, data), s) for s in specs]
    spread = max(solos) - min(solos)
    assert spread > 0.01  # the seeds matter: a test between constants would say nothing
    assert stats.ks_2samp(members, solos).pvalue > 0.05


def test_runs_that_cannot_train_together_are_refused():
    data = _data(run_spec())
    with pytest.raises(GanbenchError, match="differ only in seed"):
        train_ensemble([run_spec(seed=0), run_spec(seed=1, hparams={"width": 16})], data)
    with pytest.raises(GanbenchError, match="kind 'vae'"):
        train_ensemble([run_spec(kind="vae", seed=0), run_spec(kind="vae", seed=1)], data)
    digits = _data(run_spec("digits", arch="dcgan", dataset_params=DIGITS))
    with pytest.raises(GanbenchError, match="architecture 'sndcgan' has no grouped form"):
        train_ensemble([run_spec("digits", arch="sndcgan", dataset_params=DIGITS, seed=s) for s in (0, 1)], digits)


def test_history_rows_carry_each_members_own_losses():
    specs = _specs(steps=4, eval_every=2)
    members = train_ensemble(specs, _data(specs[0]))
    rows = [m.history[-1]["losses"]["d"] for m in members]
    assert len(set(rows)) == len(rows) and all(math.isfinite(v) for v in rows)
    assert [row["step"] for row in members[0].history] == [2, 4]
