"""K runs' networks as one: each layer of K same-architecture members rewritten as one wider layer.

The foundation of training runs as an ensemble (issue 21). Each member keeps exactly what it would have
alone — its own weights, its own batch-norm statistics, and its own gradients, since no op mixes members. Each
kernel, though, does the work of all K:

- linear layers (and maxout's) become a batched matmul over a member dimension: weights (K, in, out);
- convolutions and transposed convolutions become grouped ones (groups = K), weights concatenated on the
  grouped dimension;
- batch norm normalises K·C channels, which is per member, since each member's channels are its own.

Input and output are member-major, (K, B, *sample shape). Inside, vectors ride as (K, B, F) and feature maps as
(B, K·C, H, W); a Flatten or Unflatten converts between them. :meth:`GroupedNet.member_state_dict` gives
member k's weights back under its solo network's names, so a member is evaluated, saved and resumed as an
ordinary run.

``benchmarks/bench_ensemble_routes.py`` measured this route against ``torch.func.vmap`` over the solo nets.
The grouped route was faster for the MLP on CPU, 2.5× per member at K = 8–16. Neither paid for the DCGAN on
CPU, whose grouped convolutions cost what their members' do. Spectral norm, layer norm and self-attention have
no grouped form here: :func:`supports` names the first layer that does not.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from ganbench.errors import GanbenchError
from ganbench.nets.layers import StudyBatchNorm, ToRange
from ganbench.nets.mlp import Maxout

Own = Callable[[str], Tensor]  # a layer's tensor by its own name: the layer's weights, or e.g. their Adam moments
BUFFERS = ("running_mean", "running_var", "num_batches_tracked")  # batch norm's, which no optimiser moves
ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Identity, ToRange)


class GroupedLinear(nn.Module):
    """K linear layers as one batched matmul on (K, B, in): weights (K, in, out), biases (K, 1, out)."""

    def __init__(self, layers: Sequence[nn.Linear]):
        super().__init__()
        self.weight = nn.Parameter(torch.stack([layer.weight.detach().t() for layer in layers]).contiguous())
        self.bias = nn.Parameter(torch.stack([layer.bias.detach()[None] for layer in layers])) \
            if layers[0].bias is not None else None

    def forward(self, x: Tensor) -> Tensor:
        return torch.baddbmm(self.bias, x, self.weight) if self.bias is not None else torch.bmm(x, self.weight)

    def views(self, k: int, own: Own) -> dict[str, Tensor]:
        out = {"weight": own("weight")[k].t()}
        if self.bias is not None:
            out["bias"] = own("bias")[k, 0]
        return out


class GroupedMaxout(nn.Module):
    """K maxout layers: the grouped linear, then each unit's largest piece. ``max`` rather than ``amax``: its
    backward scatters to the arg-max, where amax's compares against the max (measured 1.2× slower here)."""

    def __init__(self, layers: Sequence[Maxout]):
        super().__init__()
        self.units, self.pieces = layers[0].units, layers[0].pieces
        self.linear = GroupedLinear([layer.linear for layer in layers])

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).unflatten(-1, (self.units, self.pieces)).max(-1).values

    def views(self, k: int, own: Own) -> dict[str, Tensor]:
        inner = self.linear.views(k, lambda name: own(f"linear.{name}"))
        return {f"linear.{name}": value for name, value in inner.items()}


class GroupedConv(nn.Module):
    """K convolutions (or transposed convolutions) as one with groups = K, on (B, K·C, H, W)."""

    def __init__(self, layers: Sequence[nn.Conv2d | nn.ConvTranspose2d]):
        super().__init__()
        first, k = layers[0], len(layers)
        if first.groups != 1 or first.padding_mode != "zeros":
            raise GanbenchError(f"a {type(first).__name__} with groups or padding mode has no grouped form here")
        self.k, self.transposed = k, isinstance(first, nn.ConvTranspose2d)
        self.stride, self.padding, self.dilation = first.stride, first.padding, first.dilation
        self.output_padding = first.output_padding if self.transposed else None
        self.weight = nn.Parameter(torch.cat([layer.weight.detach() for layer in layers]))
        self.bias = nn.Parameter(torch.cat([layer.bias.detach() for layer in layers])) \
            if first.bias is not None else None

    def forward(self, x: Tensor) -> Tensor:
        if self.transposed:
            return nn.functional.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                                  self.output_padding, self.k, self.dilation)
        return nn.functional.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.k)

    def views(self, k: int, own: Own) -> dict[str, Tensor]:
        out = {"weight": own("weight").chunk(self.k)[k]}
        if self.bias is not None:
            out["bias"] = own("bias").chunk(self.k)[k]
        return out


class GroupedBatchNorm(nn.Module):
    """K batch norms as one over K·C channels (each member's channels are its own, so statistics stay per
    member). The running statistics follow the members' rule: PyTorch's (unbiased running variance), or the
    study's :class:`~ganbench.nets.layers.StudyBatchNorm` (biased), with their momentum and eps."""

    def __init__(self, layers: Sequence[nn.modules.batchnorm._BatchNorm]):
        super().__init__()
        first, self.k = layers[0], len(layers)
        self.eps, self.momentum, self.study = first.eps, first.momentum, isinstance(first, StudyBatchNorm)
        self.weight = nn.Parameter(torch.cat([layer.weight.detach() for layer in layers]))
        self.bias = nn.Parameter(torch.cat([layer.bias.detach() for layer in layers]))
        self.register_buffer("running_mean", torch.cat([layer.running_mean for layer in layers]).clone())
        self.register_buffer("running_var", torch.cat([layer.running_var for layer in layers]).clone())
        self.register_buffer("num_batches_tracked", first.num_batches_tracked.clone())

    def forward(self, x: Tensor) -> Tensor:
        f = nn.functional
        if not self.training:
            return f.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        self.num_batches_tracked.add_(1)
        if not self.study:
            return f.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, True,
                                self.momentum, self.eps)
        with torch.no_grad():
            var, mean = torch.var_mean(x, dim=[0, *range(2, x.dim())], correction=0)
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var, self.momentum)
        return f.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)

    def views(self, k: int, own: Own) -> dict[str, Tensor]:
        out = {name: own(name).chunk(self.k)[k] for name in ("weight", "bias", "running_mean", "running_var")}
        out["num_batches_tracked"] = own("num_batches_tracked")  # one counter: every member takes every step
        return out


def _unsupported(module: nn.Module) -> str | None:
    """Why ``module`` (a member's) has no grouped form, or None when it has one."""
    if getattr(module, "parametrizations", None) is not None:
        return f"{type(module).__name__} with a parametrisation (spectral norm)"
    if isinstance(module, (Maxout, nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Flatten, nn.Unflatten, *ELEMENTWISE)):
        return None
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine and module.track_running_stats:
        return None
    return type(module).__name__


def supports(net: nn.Module) -> str | None:
    """None when ``net`` (a ``SequentialNet``: layers in ``net.net``) can be grouped, else what stops it."""
    layers = getattr(net, "net", None)
    if not isinstance(layers, nn.Sequential):
        return f"{type(net).__name__} is not a plain stack of layers"
    for module in layers:
        why = _unsupported(module)
        if why is not None:
            return why
    return None


class GroupedNet(nn.Module):
    """K members' layer stacks (the same architecture, a ``SequentialNet`` each) as one network."""

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        why = supports(members[0])
        if why is not None:
            raise GanbenchError(f"{type(members[0]).__name__} cannot train as an ensemble: {why} has no grouped "
                                "form; train these runs one by one")
        self.k = len(members)
        self.layers = nn.ModuleList()
        self.roles: list[str] = []  # how each layer treats the layout (see forward)
        for layers in zip(*(list(m.net) for m in members)):
            first = layers[0]
            if isinstance(first, Maxout):
                self._add(GroupedMaxout(layers), "vector")
            elif isinstance(first, nn.Linear):
                self._add(GroupedLinear(layers), "vector")
            elif isinstance(first, (nn.Conv2d, nn.ConvTranspose2d)):
                self._add(GroupedConv(layers), "map")
            elif isinstance(first, nn.modules.batchnorm._BatchNorm):
                self._add(GroupedBatchNorm(layers), "norm")
            elif isinstance(first, nn.Flatten):
                self._add(nn.Identity(), "flatten")
            elif isinstance(first, nn.Unflatten):
                self._add(nn.Identity(), "unflatten")
                self.roles[-1] = f"unflatten:{','.join(str(s) for s in first.unflattened_size)}"
            else:
                self._add(first, "any")  # elementwise, stateless: shared

    def _add(self, module: nn.Module, role: str) -> None:
        self.layers.append(module)
        self.roles.append(role)

    def forward(self, x: Tensor) -> Tensor:
        k, b = self.k, x.shape[1]
        sample = x.shape[2:]
        vector = len(sample) == 1
        h = x if vector else x.transpose(0, 1).reshape(b, k * sample[0], *sample[1:])
        for module, role in zip(self.layers, self.roles):
            if role == "flatten" and not vector:
                h, vector = h.reshape(b, k, -1).transpose(0, 1), True
            elif role.startswith("unflatten:"):
                sizes = [int(s) for s in role.split(":")[1].split(",")]
                if len(sizes) == 3:
                    h, vector = h.transpose(0, 1).reshape(b, k * sizes[0], *sizes[1:]), False
            elif role == "norm" and vector:
                h = module(h.transpose(0, 1).reshape(b, -1)).reshape(b, k, -1).transpose(0, 1)
            else:
                h = module(h)
        return h if vector else h.reshape(b, k, h.shape[1] // k, *h.shape[2:]).transpose(0, 1)

    def member_views(self, k: int, tensors: Mapping[str, Tensor] | None = None) -> dict[str, Tensor]:
        """Member ``k``'s share of this network's tensors, as *views* under its solo ``SequentialNet``'s names
        (``net.<i>.<name>``): reading one reads the member, ``copy_`` into one writes it. ``tensors``: tensors
        shaped as this network's parameters, by their names here (``layers.<i>.<name>``), e.g. an optimiser's
        moments, sliced as the parameters are; parameters and buffers of this network when None."""
        if not 0 <= k < self.k:
            raise IndexError(f"member {k} of an ensemble of {self.k}")
        own = dict(self.named_parameters()) | dict(self.named_buffers())
        source = own if tensors is None else tensors
        out: dict[str, Tensor] = {}
        for index, module in enumerate(self.layers):
            views = getattr(module, "views", None)
            if views is None:
                continue
            names = views(k, lambda name: source.get(f"layers.{index}.{name}", own[f"layers.{index}.{name}"]))
            out.update({f"net.{index}.{name}": value for name, value in names.items()
                        if tensors is None or name.rsplit(".", 1)[-1] not in BUFFERS})
        return out

    def member_state_dict(self, k: int, tensors: Mapping[str, Tensor] | None = None) -> dict[str, Tensor]:
        """Member ``k``'s weights and buffers (or its share of ``tensors``, see :meth:`member_views`) under its
        solo network's names, copies that load into a solo network with ``load_state_dict(strict=True)``."""
        return {name: value.detach().clone() for name, value in self.member_views(k, tensors).items()}

    @torch.no_grad()
    def load_member(self, k: int, state: Mapping[str, Tensor], tensors: Mapping[str, Tensor] | None = None) -> None:
        """Write a solo network's ``state`` (its state dict, or its share of e.g. Adam moments) into member
        ``k`` of this network (or of ``tensors``); the inverse of :meth:`member_state_dict`."""
        views = self.member_views(k, tensors)
        missing = sorted(set(views) - set(state))
        if missing:
            raise KeyError(f"member state lacks {', '.join(missing)}")
        for name, view in views.items():
            view.copy_(state[name])
