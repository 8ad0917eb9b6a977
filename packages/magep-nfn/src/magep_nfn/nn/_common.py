"""Helpers shared by the weight-space layers: spec checks, spatial folding and seeded initialisation."""

from __future__ import annotations

import math

import torch
from torch import nn

from weightspace_core import NetworkSpec, WeightSpace


def check_spec(spec: NetworkSpec, owner: str, min_layers: int = 2) -> NetworkSpec:
    """Validate a layer's architecture at construction time."""
    if not isinstance(spec, NetworkSpec):
        raise ValueError(f"{owner}: expected a weightspace_core.NetworkSpec, found {type(spec).__name__}")
    if spec.num_layers < min_layers:
        raise ValueError(
            f"{owner}: expected a network of at least {min_layers} layers, found {spec.num_layers} ('{spec}')"
        )
    return spec


def check_channels(value: int, what: str, owner: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{owner}: expected {what} to be a positive integer, found {value!r}")
    return value


def check_input(ws: WeightSpace, spec: NetworkSpec, channels: int, owner: str) -> None:
    """Refuse a WeightSpace whose architecture or channel count differs from what the layer was built for."""
    if not isinstance(ws, WeightSpace):
        raise ValueError(f"{owner}: expected a WeightSpace, found {type(ws).__name__}")
    if ws.spec != spec:
        raise ValueError(f"{owner}: expected a WeightSpace with spec '{spec}', found '{ws.spec}'")
    if ws.channels != channels:
        raise ValueError(f"{owner}: expected {channels} input channels, found {ws.channels}")


def kernel_numel(spec: NetworkSpec) -> tuple[int, ...]:
    """``kh * kw`` of every layer (1 for dense layers): the factor by which folding multiplies the channels."""
    return tuple(math.prod(layer.kernel_size) for layer in spec.layers)


def fold(w: torch.Tensor) -> torch.Tensor:
    """``(B, C, n, m[, kh, kw])`` to ``(B, C * kh * kw, n, m)``: kernel positions become channels (channel-major)."""
    if w.ndim == 4:
        return w
    b, c, n, m, kh, kw = w.shape
    return w.permute(0, 1, 4, 5, 2, 3).reshape(b, c * kh * kw, n, m)


def unfold(w: torch.Tensor, kernel_size: tuple[int, ...]) -> torch.Tensor:
    """Inverse of :func:`fold` for a layer with the given kernel size (``()`` for dense layers)."""
    if not kernel_size:
        return w
    b, ck, n, m = w.shape
    kh, kw = kernel_size
    return w.reshape(b, ck // (kh * kw), kh, kw, n, m).permute(0, 1, 4, 5, 2, 3)


def new_linear(
    in_features: int,
    out_features: int,
    bias: bool,
    generator: torch.Generator | None,
    fan_in: int | None = None,
) -> nn.Linear:
    """An ``nn.Linear`` initialised uniform in ``+-1/sqrt(fan_in)`` from ``generator`` (torch's default scheme).

    ``fan_in`` defaults to ``in_features``; layers whose outputs sum several maps pass the total fan-in so that
    the sum keeps unit scale.
    """
    layer = nn.utils.skip_init(nn.Linear, in_features, out_features, bias=bias)
    bound = 1.0 / math.sqrt(fan_in if fan_in is not None else in_features)
    with torch.no_grad():
        layer.weight.copy_(torch.rand(layer.weight.shape, generator=generator) * 2 * bound - bound)
        if layer.bias is not None:
            layer.bias.copy_(torch.rand(layer.bias.shape, generator=generator) * 2 * bound - bound)
    return layer


def channel_matmul(weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(O, F) x (B, F, N) -> (B, O, N)``: the same channel-mixing matrix at every position."""
    return torch.matmul(weight, x)


class _PositionwiseLinear(torch.autograd.Function):
    """``y = [x, p] W^T`` at every position, for feature blocks ``x`` and ``p`` given as (possibly permuted) views.

    Forward gathers both blocks into one channels-last buffer in a single pass and runs one matrix product;
    backward makes the incoming gradient dense once and forms only the gradients that are needed (the input
    weights of a layer usually need none, the Psi-dependent block and the map do). Under ``create_graph`` the
    buffer is rebuilt from the saved inputs with differentiable operations, so double backward is exact.
    """

    @staticmethod
    def forward(ctx, x, p, weight):  # type: ignore[no-untyped-def, override]
        lead = x.shape[:3]
        fx = math.prod(x.shape[3:])
        fp = 0 if p is None else math.prod(p.shape[3:])
        buf = x.new_empty(*lead, fx + fp)
        buf[..., :fx].view(x.shape).copy_(x)
        if p is not None:
            buf[..., fx:].view(p.shape).copy_(p)
        buf = buf.view(-1, fx + fp)
        ctx.save_for_backward(buf, x, p, weight)
        ctx.fx = fx
        return buf @ weight.t()

    @staticmethod
    def backward(ctx, grad):  # type: ignore[no-untyped-def, override]
        buf, x, p, weight = ctx.saved_tensors
        fx = ctx.fx
        if torch.is_grad_enabled():
            blocks = [x.reshape(buf.shape[0], fx)] + ([] if p is None else [p.reshape(buf.shape[0], -1)])
            buf = torch.cat(blocks, dim=-1)
        grad = grad.contiguous()
        gx = (grad @ weight[:, :fx]).view(x.shape) if ctx.needs_input_grad[0] else None
        gp = (grad @ weight[:, fx:]).view(p.shape) if p is not None and ctx.needs_input_grad[1] else None
        gw = grad.t() @ buf if ctx.needs_input_grad[2] else None
        return gx, gp, gw


def positionwise_linear(x: torch.Tensor, p: torch.Tensor | None, weight: torch.Tensor) -> torch.Tensor:
    """``(B, n, m, *fx)`` and ``(B, n, m, *fp)`` feature blocks -> ``(B n m, O)``: ``[x, p] W^T`` per position.

    ``weight`` is ``(O, prod(fx) + prod(fp))``; the blocks may be non-contiguous views (they are read once).
    """
    return _PositionwiseLinear.apply(x, p, weight)
