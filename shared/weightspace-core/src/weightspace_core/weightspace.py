"""The weight space of a feed-forward network (MLP or CNN) with batch and channel axes.

A network of L layers has weights ``W^(i)`` of shape ``(n_i, n_{i-1}[, kh, kw])`` and biases ``b^(i)`` of shape
``(n_i,)``, i = 1..L, in torch's own layout (``nn.Linear.weight`` is ``(out, in)``, ``nn.Conv2d.weight`` is
``(out, in, kh, kw)``). A :class:`WeightSpace` holds them with two leading axes: ``(B, C, n_i, n_{i-1}[, kh, kw])``
and ``(B, C, n_i)`` for a batch of B networks (or feature maps) with C channels. A CNN is a stack of Conv2d layers
followed by global average pooling and Linear layers: the pooling maps channel k to feature k, so the hidden
channels of the last convolution are the input neurons of the first dense layer.
"""

from __future__ import annotations

import copy
import itertools
import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

__all__ = ["LayerSpec", "NetworkSpec", "WeightSpace"]


@dataclass(frozen=True)
class LayerSpec:
    """Shape of one layer: ``n_out`` x ``n_in`` weights (times a kernel for convolutions) and ``n_out`` biases."""

    n_out: int
    n_in: int
    kernel_size: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.n_out < 1 or self.n_in < 1 or any(k < 1 for k in self.kernel_size):
            raise ValueError(f"LayerSpec: expected positive sizes, found {self.weight_shape}")
        if len(self.kernel_size) not in (0, 2):
            raise ValueError(
                f"LayerSpec: expected no kernel (Linear) or a 2-d kernel (Conv2d), found {self.kernel_size}"
            )

    @property
    def is_conv(self) -> bool:
        return bool(self.kernel_size)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return (self.n_out, self.n_in, *self.kernel_size)

    @property
    def num_params(self) -> int:
        return math.prod(self.weight_shape) + self.n_out

    def __str__(self) -> str:
        return "x".join(str(s) for s in self.weight_shape)


_LAYER_RE = re.compile(r"^\d+x\d+(x\d+x\d+)?$")


@dataclass(frozen=True)
class NetworkSpec:
    """The architecture of a weight space: the shapes of its layers, without any values.

    It prints to and parses from the same string, the weight shapes joined by commas:

    >>> spec = NetworkSpec.parse("16x1x3x3,16x16x3x3,16x16x3x3,10x16")
    >>> str(spec)
    '16x1x3x3,16x16x3x3,16x16x3x3,10x16'
    >>> spec.widths, spec.num_params
    ((1, 16, 16, 16, 10), 4970)
    >>> NetworkSpec.mlp([2, 32, 32, 1]).num_layers
    3
    """

    layers: tuple[LayerSpec, ...]

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("NetworkSpec: expected at least one layer, found none")
        seen_dense = False
        for i, (prev, layer) in enumerate(zip(self.layers[:-1], self.layers[1:]), start=2):
            if layer.n_in != prev.n_out:
                raise ValueError(
                    f"NetworkSpec: layer {i} expects {layer.n_in} inputs but layer {i - 1} has {prev.n_out} outputs"
                )
        for i, layer in enumerate(self.layers, start=1):
            if layer.is_conv and seen_dense:
                raise ValueError(f"NetworkSpec: layer {i} is a convolution after a dense layer; expected convs first")
            seen_dense = seen_dense or not layer.is_conv

    @classmethod
    def parse(cls, text: str) -> NetworkSpec:
        """Parse ``"16x1x3x3,...,10x16"`` (the format :meth:`__str__` prints)."""
        layers = []
        for part in text.replace(" ", "").split(","):
            if not _LAYER_RE.match(part):
                raise ValueError(f"NetworkSpec.parse: expected 'OUTxIN' or 'OUTxINxKHxKW', found {part!r} in {text!r}")
            sizes = [int(s) for s in part.split("x")]
            layers.append(LayerSpec(sizes[0], sizes[1], tuple(sizes[2:])))
        return cls(tuple(layers))

    @classmethod
    def mlp(cls, widths: Sequence[int]) -> NetworkSpec:
        """An MLP with layer widths ``n_0, ..., n_L``."""
        if len(widths) < 2:
            raise ValueError(f"NetworkSpec.mlp: expected at least two widths, found {list(widths)}")
        return cls(tuple(LayerSpec(o, i) for i, o in itertools.pairwise(widths)))

    @classmethod
    def cnn(cls, channels: Sequence[int], dense: Sequence[int], kernel_size: tuple[int, int] = (3, 3)) -> NetworkSpec:
        """Conv2d layers with ``channels = (c_0, ..., c_k)``, global average pooling, then dense widths."""
        convs = [LayerSpec(o, i, tuple(kernel_size)) for i, o in itertools.pairwise(channels)]
        widths = [channels[-1], *dense]
        denses = [LayerSpec(o, i) for i, o in itertools.pairwise(widths)]
        return cls(tuple(convs + denses))

    def __str__(self) -> str:
        return ",".join(str(layer) for layer in self.layers)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def widths(self) -> tuple[int, ...]:
        """``(n_0, n_1, ..., n_L)``: input width, hidden widths, output width."""
        return (self.layers[0].n_in, *(layer.n_out for layer in self.layers))

    @property
    def num_params(self) -> int:
        return sum(layer.num_params for layer in self.layers)

    @property
    def weight_shapes(self) -> tuple[tuple[int, ...], ...]:
        return tuple(layer.weight_shape for layer in self.layers)


_SUPPORTED = (nn.Linear, nn.Conv2d)


def _layers_of(module: nn.Module) -> list[tuple[str, nn.Linear | nn.Conv2d]]:
    """The module's Linear and Conv2d layers in registration order; anything else holding parameters is refused."""
    found: list[tuple[str, nn.Linear | nn.Conv2d]] = []
    for name, sub in module.named_modules():
        own = [p for p, _ in sub.named_parameters(recurse=False)]
        if not own:
            continue
        label = name or type(module).__name__
        if not isinstance(sub, _SUPPORTED):
            raise ValueError(
                f"cannot represent layer {label!r} of type {type(sub).__name__} (parameters {own}): "
                "expected only nn.Linear and nn.Conv2d layers"
            )
        if sub.bias is None:
            raise ValueError(f"layer {label!r}: expected a bias, found bias=False")
        if isinstance(sub, nn.Conv2d) and sub.groups != 1:
            raise ValueError(f"layer {label!r}: expected groups=1, found groups={sub.groups}")
        found.append((label, sub))
    if not found:
        raise ValueError(f"module {type(module).__name__} has no nn.Linear or nn.Conv2d layers")
    return found


def _bias(layer: nn.Linear | nn.Conv2d) -> torch.Tensor:
    if layer.bias is None:  # refused by _layers_of; kept for the type checker
        raise ValueError(f"layer {layer}: expected a bias, found bias=False")
    return layer.bias


def _spec_of_layers(layers: Sequence[tuple[str, nn.Linear | nn.Conv2d]]) -> NetworkSpec:
    specs = []
    for _, layer in layers:
        w = layer.weight
        assert isinstance(w, torch.Tensor)
        specs.append(LayerSpec(int(w.shape[0]), int(w.shape[1]), tuple(int(k) for k in w.shape[2:])))
    return NetworkSpec(tuple(specs))


class WeightSpace:
    """Weights and biases of a batch of feed-forward networks (or of features over them), with channels.

    Immutable: every operation returns a new WeightSpace.

    Parameters
    ----------
    weights:
        L tensors ``(B, C, n_i, n_{i-1})`` for dense layers or ``(B, C, n_i, n_{i-1}, kh, kw)`` for convolutions.
    biases:
        L tensors ``(B, C, n_i)``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> mlp = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> ws = WeightSpace.from_module(mlp)
    >>> ws.spec, ws.batch_size, ws.channels
    (NetworkSpec(layers=(LayerSpec(n_out=8, n_in=3, kernel_size=()), LayerSpec(n_out=2, n_in=8, kernel_size=()))), 1, 1)
    >>> str(ws.spec), tuple(ws.flatten().shape)
    ('8x3,2x8', (1, 50))
    >>> copy = (2 * ws).load_into(nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2)))
    >>> torch.equal(copy[0].weight, 2 * mlp[0].weight)
    True
    """

    __slots__ = ("_biases", "_weights")
    _weights: tuple[torch.Tensor, ...]
    _biases: tuple[torch.Tensor, ...]

    def __init__(self, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor]) -> None:
        weights, biases = tuple(weights), tuple(biases)
        if len(weights) != len(biases) or not weights:
            raise ValueError(
                f"WeightSpace: expected as many biases as weights (at least one), found {len(weights)} weights "
                f"and {len(biases)} biases"
            )
        lead = tuple(weights[0].shape[:2])
        for i, (w, b) in enumerate(zip(weights, biases), start=1):
            if w.ndim not in (4, 6) or b.ndim != 3:
                raise ValueError(
                    f"WeightSpace layer {i}: expected weight (B, C, n_out, n_in[, kh, kw]) and bias (B, C, n_out), "
                    f"found {tuple(w.shape)} and {tuple(b.shape)}"
                )
            if tuple(w.shape[:2]) != lead or tuple(b.shape[:2]) != lead or b.shape[2] != w.shape[2]:
                raise ValueError(
                    f"WeightSpace layer {i}: expected weight (B, C, n_out, ...) and bias (B, C, n_out) with "
                    f"(B, C) = {lead}, found {tuple(w.shape)} and {tuple(b.shape)}"
                )
        object.__setattr__(self, "_weights", weights)
        object.__setattr__(self, "_biases", biases)
        _ = self.spec

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("WeightSpace is immutable: use map() or arithmetic to build a new one")

    @property
    def weights(self) -> tuple[torch.Tensor, ...]:
        return self._weights

    @property
    def biases(self) -> tuple[torch.Tensor, ...]:
        return self._biases

    @property
    def spec(self) -> NetworkSpec:
        return NetworkSpec(tuple(LayerSpec(w.shape[2], w.shape[3], tuple(w.shape[4:])) for w in self._weights))

    @property
    def num_layers(self) -> int:
        return len(self._weights)

    @property
    def batch_size(self) -> int:
        return self._weights[0].shape[0]

    @property
    def channels(self) -> int:
        return self._weights[0].shape[1]

    @property
    def dtype(self) -> torch.dtype:
        return self._weights[0].dtype

    @property
    def device(self) -> torch.device:
        return self._weights[0].device

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """``(W^(1), b^(1), ..., W^(L), b^(L))``: the order of ``module.parameters()``."""
        return tuple(t for pair in zip(self._weights, self._biases) for t in pair)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return iter(zip(self._weights, self._biases))

    def __len__(self) -> int:
        return self.num_layers

    def __repr__(self) -> str:
        return (
            f"WeightSpace(spec='{self.spec}', batch_size={self.batch_size}, channels={self.channels}, "
            f"dtype={self.dtype})"
        )

    # ------------------------------------------------------------------ construction
    @classmethod
    def zeros(
        cls,
        spec: NetworkSpec,
        batch_size: int = 1,
        channels: int = 1,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> WeightSpace:
        kw: dict[str, Any] = {"dtype": dtype, "device": device}
        return cls(
            [torch.zeros(batch_size, channels, *layer.weight_shape, **kw) for layer in spec.layers],
            [torch.zeros(batch_size, channels, layer.n_out, **kw) for layer in spec.layers],
        )

    @classmethod
    def randn(
        cls,
        spec: NetworkSpec,
        batch_size: int = 1,
        channels: int = 1,
        dtype: torch.dtype | None = None,
        generator: torch.Generator | None = None,
    ) -> WeightSpace:
        """Independent standard-normal entries (for tests and examples)."""
        kw: dict[str, Any] = {"dtype": dtype, "generator": generator}
        return cls(
            [torch.randn(batch_size, channels, *layer.weight_shape, **kw) for layer in spec.layers],
            [torch.randn(batch_size, channels, layer.n_out, **kw) for layer in spec.layers],
        )

    @classmethod
    def from_module(cls, module: nn.Module) -> WeightSpace:
        """The weights of a network's nn.Linear and nn.Conv2d layers, in registration order, as ``(1, 1, ...)``.

        Parameter-free modules (activations, pooling, flatten, dropout) are skipped; any other module that holds
        parameters raises ``ValueError``.
        """
        layers = _layers_of(module)
        return cls(
            [layer.weight.detach().clone()[None, None] for _, layer in layers],
            [_bias(layer).detach().clone()[None, None] for _, layer in layers],
        )

    @classmethod
    def from_state_dict(cls, state_dict: Mapping[str, torch.Tensor], spec: NetworkSpec | None = None) -> WeightSpace:
        """Build from ``{prefix.weight, prefix.bias}`` pairs in the state dict's order.

        When ``spec`` is given every shape is checked against it; a missing key, an unexpected key or a wrong
        shape raises ``ValueError`` naming the key, the expected and the found shape.
        """
        prefixes: list[str] = []
        entries: dict[str, dict[str, torch.Tensor]] = {}
        for key, value in state_dict.items():
            prefix, _, leaf = key.rpartition(".")
            if leaf not in ("weight", "bias"):
                raise ValueError(f"state dict key {key!r}: expected only '<layer>.weight' and '<layer>.bias' entries")
            if prefix not in entries:
                prefixes.append(prefix)
                entries[prefix] = {}
            entries[prefix][leaf] = value
        for prefix in prefixes:
            for leaf in ("weight", "bias"):
                if leaf not in entries[prefix]:
                    raise ValueError(f"state dict: expected key {prefix + '.' + leaf!r}, found it missing")
        if spec is not None:
            if len(prefixes) != spec.num_layers:
                raise ValueError(
                    f"state dict: expected {spec.num_layers} layers for spec '{spec}', found {len(prefixes)} "
                    f"({prefixes})"
                )
            for prefix, layer in zip(prefixes, spec.layers):
                for leaf, shape in (("weight", layer.weight_shape), ("bias", (layer.n_out,))):
                    found = tuple(entries[prefix][leaf].shape)
                    if found != shape:
                        raise ValueError(
                            f"state dict key {prefix + '.' + leaf!r}: expected shape {shape}, found {found}"
                        )
        try:
            return cls(
                [entries[p]["weight"].detach().clone()[None, None] for p in prefixes],
                [entries[p]["bias"].detach().clone()[None, None] for p in prefixes],
            )
        except ValueError as err:
            raise ValueError(f"state dict does not describe a feed-forward network: {err}") from None

    def load_into(self, module: nn.Module) -> nn.Module:
        """Copy these weights into ``module``'s Linear/Conv2d layers (in place) and return the module.

        Requires ``batch_size == channels == 1`` (select one network with ``ws[i]``) and the module's spec to
        equal this one.
        """
        if self.batch_size != 1 or self.channels != 1:
            raise ValueError(
                f"load_into: expected a single network (batch 1, channel 1), found batch {self.batch_size} and "
                f"{self.channels} channels; select one with ws[i]"
            )
        layers = _layers_of(module)
        found = _spec_of_layers(layers)
        if found != self.spec:
            raise ValueError(f"load_into: expected a module with spec '{self.spec}', found '{found}'")
        with torch.no_grad():
            for (_, layer), w, b in zip(layers, self._weights, self._biases):
                layer.weight.copy_(w[0, 0])
                _bias(layer).copy_(b[0, 0])
        return module

    def flatten(self) -> torch.Tensor:
        """One vector per network: ``(B, C * P)``, ordered channel-major, then as :meth:`tensors`.

        For one channel this is ``torch.nn.utils.parameters_to_vector(module.parameters())`` per network.
        """
        b, c = self.batch_size, self.channels
        return torch.cat([t.reshape(b, c, -1) for t in self.tensors()], dim=2).reshape(b, -1)

    @classmethod
    def unflatten(cls, flat: torch.Tensor, spec: NetworkSpec, channels: int = 1) -> WeightSpace:
        """Inverse of :meth:`flatten`: ``(B, C * P)`` to a WeightSpace of the given spec."""
        expected = channels * spec.num_params
        if flat.ndim != 2 or flat.shape[1] != expected:
            raise ValueError(
                f"unflatten: expected shape (B, {expected}) for spec '{spec}' with {channels} channels, "
                f"found {tuple(flat.shape)}"
            )
        b = flat.shape[0]
        per_channel = flat.reshape(b, channels, spec.num_params)
        weights, biases = [], []
        offset = 0
        for layer in spec.layers:
            size = layer.num_params - layer.n_out
            weights.append(per_channel[:, :, offset : offset + size].reshape(b, channels, *layer.weight_shape))
            offset += size
            biases.append(per_channel[:, :, offset : offset + layer.n_out])
            offset += layer.n_out
        return cls(weights, biases)

    # ------------------------------------------------------------------ transformation
    def map(
        self,
        fn: Callable[[torch.Tensor], torch.Tensor],
        bias_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> WeightSpace:
        """Apply ``fn`` to every weight and ``bias_fn`` (default ``fn``) to every bias."""
        bias_fn = fn if bias_fn is None else bias_fn
        return WeightSpace([fn(w) for w in self._weights], [bias_fn(b) for b in self._biases])

    def to(self, *args: Any, **kwargs: Any) -> WeightSpace:
        """``Tensor.to`` on every tensor (device and/or dtype)."""
        return self.map(lambda t: t.to(*args, **kwargs))

    def detach(self) -> WeightSpace:
        return self.map(torch.Tensor.detach)

    def __getitem__(self, index: int | slice | torch.Tensor) -> WeightSpace:
        """Select networks along the batch axis (an integer keeps the axis, with size 1)."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        return self.map(lambda t: t[index])

    @staticmethod
    def stack(spaces: Sequence[WeightSpace]) -> WeightSpace:
        """Concatenate along the batch axis (all must share spec and channels)."""
        return WeightSpace._cat(spaces, dim=0, what="stack")

    @staticmethod
    def cat_channels(spaces: Sequence[WeightSpace]) -> WeightSpace:
        """Concatenate along the channel axis (all must share spec and batch size)."""
        return WeightSpace._cat(spaces, dim=1, what="cat_channels")

    @staticmethod
    def _cat(spaces: Sequence[WeightSpace], dim: int, what: str) -> WeightSpace:
        if not spaces:
            raise ValueError(f"{what}: expected at least one WeightSpace, found none")
        first = spaces[0]
        for other in spaces[1:]:
            first._check_compatible(other, what)
        return WeightSpace(
            [torch.cat([s._weights[i] for s in spaces], dim=dim) for i in range(first.num_layers)],
            [torch.cat([s._biases[i] for s in spaces], dim=dim) for i in range(first.num_layers)],
        )

    def _check_compatible(self, other: WeightSpace, what: str) -> None:
        if other.spec != self.spec:
            raise ValueError(f"{what}: expected matching specs, found '{self.spec}' and '{other.spec}'")

    def _binary(self, other: Any, op: Callable[[Any, Any], Any], name: str) -> WeightSpace:
        if isinstance(other, WeightSpace):
            self._check_compatible(other, name)
            pairs = list(zip(self.tensors(), other.tensors()))
            try:
                out = [op(a, b) for a, b in pairs]
            except RuntimeError:
                raise ValueError(
                    f"{name}: shapes do not broadcast: (B, C) = {(self.batch_size, self.channels)} against "
                    f"{(other.batch_size, other.channels)}"
                ) from None
            return WeightSpace(out[0::2], out[1::2])
        if isinstance(other, (int, float)) or (isinstance(other, torch.Tensor) and other.ndim == 0):
            return self.map(lambda t: op(t, other))
        raise ValueError(f"{name}: expected a WeightSpace or a scalar, found {type(other).__name__}")

    def __add__(self, other: Any) -> WeightSpace:
        return self._binary(other, operator.add, "add")

    def __radd__(self, other: Any) -> WeightSpace:
        return self._binary(other, lambda a, b: b + a, "add")

    def __sub__(self, other: Any) -> WeightSpace:
        return self._binary(other, operator.sub, "sub")

    def __rsub__(self, other: Any) -> WeightSpace:
        return self._binary(other, lambda a, b: b - a, "sub")

    def __mul__(self, other: Any) -> WeightSpace:
        return self._binary(other, operator.mul, "mul")

    def __rmul__(self, other: Any) -> WeightSpace:
        return self._binary(other, lambda a, b: b * a, "mul")

    def __truediv__(self, other: Any) -> WeightSpace:
        return self._binary(other, operator.truediv, "div")

    def __neg__(self) -> WeightSpace:
        return self.map(operator.neg)

    def clone_module(self, module: nn.Module) -> nn.Module:
        """A deep copy of ``module`` with these weights loaded (the original is untouched)."""
        return self.load_into(copy.deepcopy(module))
