"""The evaluator scores G as it would be used: in eval mode (batch-norm running statistics, none of them
updated), on latents from a generator seeded by (run seed, step) alone, leaving the training RNG as it was."""
from __future__ import annotations

import copy

import torch
from torch import nn

from ganbench.data import load_dataset
from ganbench.evaluate import Evaluator
from ganbench.train import build_networks, latent_sampler

from helpers.specs import run_spec

N_GEN = 700  # more than one of the evaluator's sample batches, so batching shows in train mode
RING = {"n_train": 2000, "n_test": N_GEN}


def ring_run(tmp_path, seed: int = 0):
    spec = run_spec(dataset="ring", steps=1, metrics=("modes", "knn"), n=N_GEN, seed=seed, dataset_params=RING)
    dataset = load_dataset(spec.dataset, dict(spec.dataset_params))
    return spec, dataset, Evaluator(spec.evaluation, dataset, cache_dir=tmp_path, run_seed=spec.seed)


def generator_with_statistics(spec, dataset) -> nn.Module:
    """The ring spec's G, in training mode, its batch norms' running statistics far from any batch's."""
    torch.manual_seed(0)
    G = build_networks(spec, dataset, None)[0]
    norms = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert norms, "the test needs a G with batch norm"
    with torch.no_grad():
        for m in norms:
            m.running_mean.normal_(0.0, 2.0)
            m.running_var.uniform_(0.2, 5.0)
            m.num_batches_tracked.fill_(7)
    return G.train()


class RecordingPrior:
    """The spec's prior, remembering every latent batch it hands out and the generator it drew from."""

    def __init__(self, spec):
        self.prior = latent_sampler(spec.hparams["z_prior"], spec.hparams["z_dim"], torch.device("cpu"))
        self.calls: list[tuple[torch.Tensor, torch.Generator | None]] = []

    def __call__(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        z = self.prior(n, generator=generator)
        self.calls.append((z.clone(), generator))
        return z


def test_the_evaluator_scores_g_in_eval_mode_and_leaves_its_statistics_alone(tmp_path):
    """The samples are G.eval() on the latents the evaluator drew, computed here in one batch; G's
    running statistics, weights and training flag are as before. Fails when the evaluator samples in
    training mode (each batch normalised by its own statistics: far off here, and the running statistics
    of an un-copied G move), or switches the caller's G to eval mode and leaves it there."""
    spec, dataset, evaluator = ring_run(tmp_path)
    G = generator_with_statistics(spec, dataset)
    before = copy.deepcopy(G.state_dict())
    prior = RecordingPrior(spec)
    evaluation = evaluator(G, prior, 7)
    assert set(evaluation.metrics) >= {"modes", "hq_share", "knn"}
    assert G.training, "the caller's G was left in eval mode"
    for key, value in G.state_dict().items():
        assert torch.equal(value, before[key]), f"evaluating changed G's {key}"
    assert len(prior.calls) >= 2 and sum(len(z) for z, _ in prior.calls) == N_GEN
    assert all(isinstance(g, torch.Generator) for _, g in prior.calls), "latents drawn from the global RNG"
    z = torch.cat([z for z, _ in prior.calls])
    with torch.no_grad():
        expected = copy.deepcopy(G).eval()(z)
        in_train_mode = torch.cat([copy.deepcopy(G).train()(part) for part, _ in prior.calls])
    samples = evaluation.samples  # what the metrics were computed on, returned with them
    assert samples.shape == (N_GEN, 2)
    torch.testing.assert_close(samples, expected, rtol=1e-5, atol=1e-6)
    assert (samples - in_train_mode).abs().max() > 0.1  # the test can tell the two modes apart


def test_same_run_and_step_give_the_same_samples_and_others_do_not(tmp_path):
    """Samples depend on (run seed, step) only: equal from a second evaluator (a resumed run builds a new
    one) whatever the global RNG holds; different at another step or for another run seed. Fails when
    the latents come from the global RNG, or from a generator seeded by the step alone or the run alone."""
    spec, dataset, evaluator = ring_run(tmp_path, seed=3)
    G = generator_with_statistics(spec, dataset)
    prior = RecordingPrior(spec)

    def samples(ev, step):
        return ev(G, prior, step).samples

    first = samples(evaluator, 40)
    torch.manual_seed(999)  # whatever training did to the global RNG in between
    assert torch.equal(samples(evaluator, 40), first)
    assert torch.equal(samples(ring_run(tmp_path, seed=3)[2], 40), first)
    assert not torch.equal(samples(evaluator, 80), first)
    other_run = ring_run(tmp_path, seed=4)[2]
    assert not torch.equal(samples(other_run, 40), first)
    assert not torch.equal(samples(other_run, 40), samples(evaluator, 80))


def test_evaluating_leaves_the_global_rng_untouched(tmp_path):
    """The global generator drives training (and is checkpointed): its state after an evaluation is the
    state before, so a run evaluated every k steps trains exactly as one never evaluated. Fails when the
    evaluator or a metric draws from it, or reseeds it."""
    spec, dataset, evaluator = ring_run(tmp_path)
    G = generator_with_statistics(spec, dataset)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    evaluator(G, RecordingPrior(spec), 5)
    assert torch.equal(torch.get_rng_state(), before)


def test_the_runner_seeds_the_evaluator_with_the_runs_seed(tmp_path, monkeypatch):
    """The runner builds the evaluator with run_seed = the spec's seed (else every seed of a study would
    be scored on the same latents only by accident of the default). Fails when run_seed is not passed."""
    import ganbench.evaluate as evaluate_module
    from ganbench.run_one import RunOptions, execute
    from ganbench.results.store import Store

    seen = []

    class Recording(evaluate_module.Evaluator):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen.append(self.run_seed)

    monkeypatch.setattr(evaluate_module, "Evaluator", Recording)
    spec = run_spec(dataset="ring", steps=2, metrics=("modes",), n=200, seed=5, dataset_params=RING)
    assert execute(spec, Store(tmp_path / "results"), RunOptions(cache_dir=str(tmp_path / "cache"))) == "done"
    assert seen == [5]


def test_the_stored_protocol_carries_what_moves_the_numbers(tmp_path):
    """The protocol card's fields: extractor identity and layer, preprocessing in words, feature dtype, counts and
    split, how latents are seeded, and the installed versions of the libraries that compute the numbers."""
    import importlib.metadata as md

    import torch as _torch

    from ganbench import __version__
    from ganbench.data import load_dataset
    from ganbench.evaluate import Evaluator
    from ganbench.specs import EvalProtocol, frozen

    dataset = load_dataset("ring", {"n_train": 500, "n_test": 300})
    record = Evaluator(EvalProtocol("raw", ("knn",), 100, 200, "test", frozen({}), frozen({})), dataset,
                       cache_dir=tmp_path).record
    assert record["identity"] == "raw" and record["pool_layer"] == "input" and record["n_real"] == 200
    assert record["preprocessing"].startswith("none") and record["feature_dtype"] == "float64"
    assert "sha256(run seed, step)" in record["sampling"]
    assert record["versions"]["torch"] == _torch.__version__ and record["versions"]["ganbench"] == __version__
    assert record["versions"]["torch-fidelity"] == md.version("torch-fidelity")
    assert record["versions"]["scikit-learn"] == md.version("scikit-learn")
