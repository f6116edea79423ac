"""The CUDA paths: every architecture trains a step on the GPU, resume is exact there too, evaluation on
the GPU agrees with the CPU, an ensemble's members are their solo runs there too, and the CLI runs a suite
with ``--device cuda``. Skipped without a GPU."""
from __future__ import annotations

import json

import pytest
import torch

from ganbench.data import load_dataset
from ganbench.evaluate import Evaluator
from ganbench.catalog import arch_names
from ganbench.nets import ARCHS
from ganbench.ensemble.train import train_ensemble
from ganbench.train import train

from helpers.cli import ganbench_cli
from helpers.checkpoints import serialising_store
from helpers.runs import write_suite
from helpers.specs import run_spec

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

RING = {"dataset": "ring", "dataset_params": {"n_train": 2000, "n_test": 500}}
SMALL_IMAGES = {"dataset": "digits", "dataset_params": {"size": 8}}


def data_for(arch: str) -> dict:
    return RING if "vector" in ARCHS.get(arch).data_kinds else SMALL_IMAGES


@pytest.mark.parametrize("arch", arch_names())
@pytest.mark.parametrize("loss, penalty", [("ns", None), ("wgan_gp", None), ("began", None), ("hinge", "r1")])
def test_every_architecture_trains_on_the_gpu(arch, loss, penalty):
    spec = run_spec(loss=loss, arch=arch, penalty=penalty, steps=4, hparams={"lr": 1e-3, "ema": 0.9},
                    **data_for(arch))
    out = train(spec, load_dataset(spec.dataset, dict(spec.dataset_params)), device="cuda")
    assert out.status == "done"
    assert all(p.is_cuda and torch.isfinite(p).all() for p in out.generator.parameters())
    assert out.compute["flops_per_step"] > 0


def test_resume_on_the_gpu_is_exact():
    """CUDA RNG state is checkpointed with the CPU one; deterministic kernels make the replay exact."""
    spec = run_spec(loss="ns", arch="dcgan", steps=12, eval_every=4, hparams={"instance_noise": 0.1},
                    **SMALL_IMAGES)
    dataset = load_dataset(spec.dataset, dict(spec.dataset_params))
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        full = train(spec, dataset, device="cuda")
        checkpointing, _ = serialising_store()

        class Interrupt(Exception):
            pass

        def kill_at(step):
            if step == 6:
                raise Interrupt

        with pytest.raises(Interrupt):
            train(spec, dataset, device="cuda", checkpointing=checkpointing, progress=kill_at)
        resumed = train(spec, dataset, device="cuda", checkpointing=checkpointing)
    finally:
        torch.use_deterministic_algorithms(False)
    for a, b in zip(full.generator.state_dict().values(), resumed.generator.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


class FixedSamples(torch.nn.Module):
    """A "generator" that hands out the same stored samples on any device, batch after batch."""

    def __init__(self, samples: torch.Tensor):
        super().__init__()
        self.samples, self.cursor = samples, 0

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.samples[self.cursor:self.cursor + len(z)].to(z.device)
        self.cursor = (self.cursor + len(z)) % len(self.samples)
        return out


def test_gpu_evaluation_agrees_with_cpu(tmp_path):
    """Same samples, same real split: the domain classifier, FID, KID, k-NN and PR agree across devices."""
    spec = run_spec(loss="ns", arch="dcgan", steps=30, metrics=("fid", "kid", "knn", "prc"), n=300,
                    **SMALL_IMAGES)
    dataset = load_dataset(spec.dataset, dict(spec.dataset_params))
    out = train(spec, dataset)
    with torch.no_grad():
        fixed = out.generator.eval()(out.sample_latent(spec.evaluation.n_gen))
    scores = {}
    for device in ("cpu", "cuda"):
        evaluator = Evaluator(spec.evaluation, dataset, device=device, cache_dir=tmp_path / device, seed=spec.seed)
        latent = lambda n, generator=None, device=device: torch.zeros(n, 1, device=device)
        scores[device] = dict(evaluator(FixedSamples(fixed), latent, 30).metrics)
    assert set(scores["cpu"]) == set(scores["cuda"])
    for key, value in scores["cpu"].items():
        assert scores["cuda"][key] == pytest.approx(value, rel=5e-3, abs=5e-3), key


def test_cli_runs_a_suite_on_the_gpu(tmp_path):
    write_suite(tmp_path)
    proc = ganbench_cli("run", "tiny.yaml", "--device", "cuda", "--workers", "auto", "--runs-per-gpu", "2",
                        cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(p.read_text()) for p in (tmp_path / "results" / "tiny").glob("*/result.json")]
    assert results and all(r["status"] == "done" for r in results)
    assert all(r["compute"]["device"].startswith("cuda") for r in results)


@pytest.mark.parametrize("arch", ["mlp", "dcgan", "infogan"])
def test_ensemble_members_are_their_solo_runs_on_the_gpu(arch):
    """Each member's latents and penalty draws come from its own CUDA generator, as its solo run's from the
    global one: after 4 WGAN-GP steps its samples are the solo run's, to float tolerance."""
    specs = [run_spec(loss="wgan_gp", arch=arch, steps=4, seed=seed, hparams={"lr": 1e-3 * (seed + 1)},
                      **data_for(arch)) for seed in range(3)]
    dataset = load_dataset(specs[0].dataset, dict(specs[0].dataset_params))
    members = train_ensemble(specs, dataset, device="cuda")
    z = torch.rand(32, specs[0].hparams["z_dim"], device="cuda") * 2 - 1
    for spec, member in zip(specs, members):
        solo = train(spec, dataset, device="cuda")
        with torch.no_grad():
            torch.testing.assert_close(member.generator.eval()(z), solo.generator.eval()(z), rtol=1e-3, atol=1e-4)
        assert member.compute["ensemble"]["members"] == 3
