"""Several runs evaluated at once (an ensemble's members, issue 21): evaluators made with ``for_run`` share one
extractor and real side, every run's samples go through that extractor in one pass, and each run still gets
what its own evaluator alone gives it."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from ganbench import evaluate as evaluate_module
from ganbench.data import load_dataset
from ganbench.evaluate import Evaluator, evaluate_together
from ganbench.train import build_networks, latent_sampler
from helpers.extractors import CountingExtractor
from helpers.specs import run_spec

N = 120  # samples per redraw: not a multiple of the domain extractor's batch, so one pass packs batches anew
SEEDS = (0, 1, 2)
DIGITS = {"size": 8, "n_test": 200}


def _runs(seeds=SEEDS, sampling_seeds=2, metrics=("fid", "knn", "prc")):
    """Runs on 8×8 digits scored on the domain classifier, each with its own (untrained) G and latents."""
    specs = [run_spec("digits", "ns", "dcgan", steps=1, seed=seed, metrics=metrics, n=N, dataset_params=DIGITS,
                      extractor="domain") for seed in seeds]
    specs = [replace(s, evaluation=replace(s.evaluation, sampling_seeds=sampling_seeds)) for s in specs]
    dataset = load_dataset("digits", DIGITS)
    generators = []
    for spec in specs:
        torch.manual_seed(spec.seed)
        generators.append(build_networks(spec, dataset, None)[0])
    latents = [latent_sampler(s.hparams["z_prior"], s.hparams["z_dim"], torch.device("cpu")) for s in specs]
    return specs, dataset, generators, latents


def _shared(specs, dataset, tmp_path):
    base = Evaluator(specs[0].evaluation, dataset, cache_dir=tmp_path, run_seed=specs[0].seed)
    base.extractor = CountingExtractor(base.extractor)
    return base, [base.for_run(spec.seed) for spec in specs]


def _assert_same(together, alone):
    assert together.metrics.keys() == alone.metrics.keys()
    assert together.metrics == pytest.approx(alone.metrics, rel=1e-6, abs=1e-9)
    assert together.panel.keys() == alone.panel.keys()
    for key in alone.panel:
        assert together.panel[key] == pytest.approx(alone.panel[key], rel=1e-6, abs=1e-9)
    assert torch.equal(together.samples, alone.samples)


def test_each_run_evaluated_together_gets_what_its_own_evaluator_gives(tmp_path):
    specs, dataset, generators, latents = _runs()
    base, evaluators = _shared(specs, dataset, tmp_path)
    together = evaluate_together(evaluators, generators, latents, 7)
    for spec, G, latent, got in zip(specs, generators, latents, together):
        alone = Evaluator(spec.evaluation, dataset, cache_dir=tmp_path, run_seed=spec.seed)(G, latent, 7)
        _assert_same(got, alone)
    assert len({float(e.metrics["fid"]) for e in together}) == len(SEEDS)  # three runs, three different Gs


def test_every_runs_samples_go_through_the_extractor_in_one_pass(tmp_path):
    specs, dataset, generators, latents = _runs()
    base, evaluators = _shared(specs, dataset, tmp_path)
    evaluate_together(evaluators, generators, latents, 7)
    assert base.extractor.passes == [len(SEEDS) * 2 * N]  # 3 runs × 2 sampling seeds × N samples, once


def test_runs_are_taken_a_bounded_number_of_samples_at_a_time(tmp_path, monkeypatch):
    specs, dataset, generators, latents = _runs()
    base, evaluators = _shared(specs, dataset, tmp_path)
    whole = evaluate_together(evaluators, generators, latents, 7)
    one_run = 2 * N * 8 * 8 * 4  # two redraws of N 8×8 float32 samples
    monkeypatch.setattr(evaluate_module, "TOGETHER_BYTES", 2 * one_run)  # two runs' samples per pass
    base.extractor.passes.clear()
    parts = evaluate_together(evaluators, generators, latents, 7)
    assert base.extractor.passes == [2 * 2 * N, 2 * N]
    for a, b in zip(parts, whole):
        _assert_same(a, b)
    monkeypatch.setattr(evaluate_module, "TOGETHER_BYTES", 1)  # less than one run's: still one run a pass
    base.extractor.passes.clear()
    evaluate_together(evaluators, generators, latents, 7)
    assert base.extractor.passes == [2 * N] * len(SEEDS)


def test_evaluators_that_share_no_extractor_each_get_their_own_pass(tmp_path):
    specs, dataset, generators, latents = _runs(seeds=(0, 1), sampling_seeds=1)
    evaluators = [Evaluator(s.evaluation, dataset, cache_dir=tmp_path, run_seed=s.seed) for s in specs]
    for ev in evaluators:
        ev.extractor = CountingExtractor(ev.extractor)
    together = evaluate_together(evaluators, generators, latents, 3)
    assert [ev.extractor.passes for ev in evaluators] == [[N], [N]]
    for ev, G, latent, got in zip(evaluators, generators, latents, together):
        assert got.metrics == pytest.approx(ev(G, latent, 3).metrics, rel=1e-6, abs=1e-9)


def test_for_run_shares_the_set_up_and_draws_the_runs_own_latents(tmp_path):
    specs, dataset, generators, latents = _runs(seeds=(0, 5), sampling_seeds=1)
    base = Evaluator(specs[0].evaluation, dataset, cache_dir=tmp_path, run_seed=0)
    other = base.for_run(5)
    assert other.extractor is base.extractor and other.real is base.real and other.cache is base.cache
    assert (base.run_seed, other.run_seed) == (0, 5)
    fresh = Evaluator(specs[1].evaluation, dataset, cache_dir=tmp_path, run_seed=5)
    G, latent = generators[0], latents[0]
    assert torch.equal(other.samples(G.eval(), latent, 3), fresh.samples(G, latent, 3))
    assert not torch.equal(other.samples(G, latent, 3), base.samples(G, latent, 3))
