"""Training K runs as one model: which kernel route pays on this machine? (issue 21's "pick by measurement")

K members of one architecture, each with its own initialisation (seed k), train one NS-GAN step at a time
(a D update on (x, G(z)), then a G update on the same z; Adam, as ``bench_train_overhead.py``'s minimal
loop). Three candidates do the same work:

- **solo**: one member alone, its ganbench nets as they are (what ``--workers`` runs today, one run per
  process); its time × K is what K solo runs cost on one core.
- **vmap**: ``torch.func.stack_module_state`` + ``vmap(functional_call(...))`` over the members' ganbench nets,
  unchanged (any architecture; batch norm's running statistics are stacked buffers the vmapped layer updates).
- **grouped**: the members' layers rewritten as one wider layer each — linear layers as a batched matmul
  (``baddbmm`` over a member dimension), convolutions and transposed convolutions as grouped ones
  (groups = K), batch norm over K·C channels — so each op does K members' work as one kernel
  (:class:`ganbench.ensemble.grouped.GroupedNet`, which tests/ensemble/ holds to the solo nets).

Before timing, each ensemble is checked against the solo nets: every member's G and D outputs on the same
batch, in training mode, equal its solo net's to 1e-4 (a wrong kernel would otherwise time fast). The ratio
printed last is the **per-member speed-up**: K × solo seconds per step ÷ ensemble seconds per step, steps
interleaved (solo, vmap, grouped, ...) so machine drift hits all alike. Architectures: ``mlp`` on the 2-D
ring (width 16, z 2, batch 100: the default suite's) and ``dcgan`` on 16×16 digits (width 16, z 64, batch 64).

    python benchmarks/bench_ensemble_routes.py [--quick] [--threads 1] [--members 4 8 16] [--arch mlp dcgan]
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import Samples, add_common_args, finish_args, machine  # noqa: E402

from ganbench.data import load_dataset  # noqa: E402
from ganbench.ensemble.grouped import GroupedNet  # noqa: E402
from ganbench.nets import NetConfig, build_nets  # noqa: E402

SETUPS = {  # arch → (dataset, params, NetConfig, batch size)
    "mlp": ("ring", {"n_train": 4096, "n_test": 512, "sigma": 0.05},
            NetConfig(z_dim=2, width=16, d_norm="none", g_norm="batch"), 100),
    "dcgan": ("digits", {"size": 16}, NetConfig(z_dim=64, width=16, d_norm="batch", g_norm="batch"), 64),
}


# ---- the vmap route ---------------------------------------------------------------------------------

class VmappedNet(nn.Module):
    """K members run through ``vmap(functional_call)`` over their stacked parameters and buffers."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        params, buffers = torch.func.stack_module_state(members)
        self.params = nn.ParameterDict({k.replace(".", "__"): nn.Parameter(v) for k, v in params.items()})
        self.names = list(params)
        self.buffers_ = buffers
        base = copy.deepcopy(members[0]).to("meta")

        def one(p, b, x):
            return torch.func.functional_call(base, (p, b), (x,))

        self._call = torch.func.vmap(one)

    def forward(self, x: Tensor) -> Tensor:
        params = {name: self.params[name.replace(".", "__")] for name in self.names}
        return self._call(params, self.buffers_, x)


# ---- one NS-GAN step --------------------------------------------------------------------------------

def make_step(G: nn.Module, D: nn.Module, batch: Callable[[], Tensor], latent: Callable[[], Tensor],
              members: int) -> Callable[[], None]:
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def step() -> None:
        x, z = batch(), latent()
        with torch.no_grad():
            fake = G(z)
        # per member: the mean over its batch; summed over members, so each member's gradient is its own
        d_loss = (F.softplus(-D(x)).flatten(1).mean(1) + F.softplus(D(fake)).flatten(1).mean(1)).sum() \
            if members else F.softplus(-D(x)).mean() + F.softplus(D(fake)).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        for p in D.parameters():
            p.requires_grad_(False)
        out = D(G(z))
        g_loss = F.softplus(-out).flatten(1).mean(1).sum() if members else F.softplus(-out).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        for p in D.parameters():
            p.requires_grad_(True)

    return step


def _members(arch: str, info, cfg: NetConfig, k: int) -> tuple[list[nn.Module], list[nn.Module]]:
    gs, ds = [], []
    for seed in range(k):
        torch.manual_seed(seed)
        g, d = build_nets(arch, info, cfg)
        gs.append(g)
        ds.append(d)
    return gs, ds


def check(ensemble_g: nn.Module, ensemble_d: nn.Module, gs: list[nn.Module], ds: list[nn.Module], z: Tensor,
          x: Tensor) -> float:
    """Largest difference between the ensemble's member outputs and the solo nets', G then D, train mode."""
    solo_g = [copy.deepcopy(g) for g in gs]
    solo_d = [copy.deepcopy(d) for d in ds]
    with torch.no_grad():
        worst = max(float((ensemble_g(z)[i] - g(z[i])).abs().max()) for i, g in enumerate(solo_g))
        worst = max(worst, max(float((ensemble_d(x)[i] - d(x[i])).abs().max()) for i, d in enumerate(solo_d)))
    return worst


def measure(arch: str, k: int, steps: int, repeats: int) -> dict[str, float]:
    name, params, cfg, bs = SETUPS[arch]
    data = load_dataset(name, params)
    train = data.split("train").all()
    gs, ds = _members(arch, data.info, cfg, k)
    g_index = torch.Generator().manual_seed(0)

    def solo_batch() -> Tensor:
        return train[torch.randint(len(train), (bs,), generator=g_index)]

    def ensemble_batch() -> Tensor:
        return train[torch.randint(len(train), (k * bs,), generator=g_index)].view(k, bs, *train.shape[1:])

    routes = {"vmap": (VmappedNet(copy.deepcopy(gs)), VmappedNet(copy.deepcopy(ds))),
              "grouped": (GroupedNet(copy.deepcopy(gs)), GroupedNet(copy.deepcopy(ds)))}
    z = torch.rand(k, bs, cfg.z_dim) * 2 - 1
    x = ensemble_batch()
    errors = {route: check(g, d, gs, ds, z, x) for route, (g, d) in routes.items()}
    for route, error in errors.items():
        if error > 1e-4:
            raise SystemExit(f"{arch} K={k}: the {route} ensemble's outputs differ from the solo nets' by {error:.2e}")
    steps_fn = {"solo": make_step(gs[0], ds[0], solo_batch, lambda: torch.rand(bs, cfg.z_dim) * 2 - 1, 0)}
    for route, (g, d) in routes.items():
        steps_fn[route] = make_step(g, d, ensemble_batch, lambda: torch.rand(k, bs, cfg.z_dim) * 2 - 1, k)
    for fn in steps_fn.values():  # warm up
        for _ in range(3):
            fn()
    samples = {route: Samples() for route in steps_fn}
    order = list(steps_fn)
    for r in range(repeats):
        for route in (order if r % 2 == 0 else order[::-1]):
            n = steps if route == "solo" else max(2, steps // k)
            tic = time.perf_counter()
            for _ in range(n):
                steps_fn[route]()
            samples[route].values.append((time.perf_counter() - tic) / n)
    solo = samples["solo"].median
    out = {"solo_ms": 1e3 * solo, "check_vmap": errors["vmap"], "check_grouped": errors["grouped"]}
    for route in routes:
        out[f"{route}_ms"] = 1e3 * samples[route].median
        out[f"{route}_speedup"] = k * solo / samples[route].median
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(parser, repeats=5, quick_repeats=3)
    parser.add_argument("--members", type=int, nargs="+", default=None, help="ensemble sizes K (default 4 8 16)")
    parser.add_argument("--arch", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    args = finish_args(parser.parse_args())
    if args.device != "cpu":
        raise SystemExit("bench_ensemble_routes.py measures the CPU routes; the GPU figures are bench_gpu.py's")
    members = args.members or ([4, 16] if args.quick else [4, 8, 16])
    steps = 16 if args.quick else 48
    print(machine(args.device))
    rows = []
    for arch in args.arch:
        for k in members:
            result = measure(arch, k, steps, args.repeats)
            rows.append((arch, k, result))
            print(f"{arch} K={k}: solo {result['solo_ms']:.2f} ms/step; vmap {result['vmap_ms']:.1f} ms "
                  f"(check {result['check_vmap']:.1e}); grouped {result['grouped_ms']:.1f} ms "
                  f"(check {result['check_grouped']:.1e})", flush=True)
    print("\nper-member speed-up (K × solo step ÷ ensemble step), one process, "
          f"{torch.get_num_threads()} torch thread(s):")
    for arch, k, result in rows:
        print(f"  {arch:6s} K={k:<3d} vmap {result['vmap_speedup']:.2f}×   grouped {result['grouped_speedup']:.2f}×")


if __name__ == "__main__":
    main()
