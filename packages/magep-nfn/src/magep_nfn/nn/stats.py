"""Non-equivariant baselines: STATNN's per-tensor statistics (Unterthiner et al. 2020) and an MLP on flat weights."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from magep_nfn.nn._common import check_channels, check_input, check_spec, new_linear
from weightspace_core import NetworkSpec, WeightSpace

__all__ = ["FlatMLP", "StatFeatures", "mlp"]

_QUANTILES = (0.0, 0.25, 0.5, 0.75, 1.0)


class StatFeatures(nn.Module):
    r"""STATNN features: WeightSpace ``(B, d)`` to ``(B, num_outputs)``.

    For every channel and every tensor ``W^(1), b^(1), ..., W^(L), b^(L)`` (kernels included): its mean, its
    variance (biased) and its quantiles 0, .25, .5, .75, 1 (linear interpolation):
    ``num_outputs = 7 * 2 L * d``. Invariant to any permutation of the entries of each tensor (so to the
    hidden-neuron permutations); not to scalings or signs.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> spec = NetworkSpec.mlp([2, 8, 1])
    >>> StatFeatures(spec)(WeightSpace.randn(spec, batch_size=4)).shape
    torch.Size([4, 28])
    """

    def __init__(self, spec: NetworkSpec, in_channels: int = 1) -> None:
        super().__init__()
        self.spec = check_spec(spec, type(self).__name__, min_layers=1)
        self.in_channels = check_channels(in_channels, "in_channels", type(self).__name__)
        self.register_buffer("quantiles", torch.tensor(_QUANTILES), persistent=False)

    @property
    def num_outputs(self) -> int:
        return 7 * 2 * self.spec.num_layers * self.in_channels

    def forward(self, ws: WeightSpace) -> torch.Tensor:
        check_input(ws, self.spec, self.in_channels, type(self).__name__)
        feats = []
        q = self.quantiles.to(ws.dtype)
        for t in ws.tensors():
            flat = t.flatten(start_dim=2)  # (B, d, P_t)
            mean = flat.mean(dim=2, keepdim=True)
            var = flat.var(dim=2, unbiased=False, keepdim=True)
            quant = torch.quantile(flat, q, dim=2).permute(1, 2, 0)  # (B, d, 5)
            feats.append(torch.cat([mean, var, quant], dim=2))
        return torch.cat(feats, dim=2).flatten(start_dim=1)


def mlp(
    in_features: int,
    hidden: Sequence[int],
    out_features: int,
    activation: type[nn.Module] = nn.ReLU,
    dropout: float = 0.0,
    generator: torch.Generator | None = None,
) -> nn.Sequential:
    """``Linear -> activation [-> Dropout]`` for each hidden width, then a final ``Linear`` (no output activation).

    Weights are initialised as torch does (uniform in ``+-1/sqrt(fan_in)``) but from ``generator``.

    Examples
    --------
    >>> import torch
    >>> mlp(4, [8], 2, generator=torch.Generator().manual_seed(0))(torch.zeros(3, 4)).shape
    torch.Size([3, 2])
    """
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        layers += [new_linear(width, h, True, generator), activation()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(new_linear(width, out_features, True, generator))
    return nn.Sequential(*layers)


class FlatMLP(nn.Module):
    r"""An MLP on the flattened weights: WeightSpace ``(B, d)`` to ``(B, out_features)``.

    ``y = MLP(flatten(U))`` with ``flatten`` as :meth:`WeightSpace.flatten` (``d * P`` inputs). Respects no
    weight-space symmetry: the baseline that shows what the symmetry buys.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> spec = NetworkSpec.mlp([2, 8, 1])
    >>> FlatMLP(spec, out_features=3, hidden=(16,))(WeightSpace.randn(spec, batch_size=4)).shape
    torch.Size([4, 3])
    """

    def __init__(
        self,
        spec: NetworkSpec,
        out_features: int,
        hidden: Sequence[int] = (256, 256),
        in_channels: int = 1,
        *,
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.spec = check_spec(spec, type(self).__name__, min_layers=1)
        self.in_channels = check_channels(in_channels, "in_channels", type(self).__name__)
        self.out_features = check_channels(out_features, "out_features", type(self).__name__)
        self.net = mlp(in_channels * spec.num_params, hidden, out_features, dropout=dropout, generator=generator)

    @property
    def num_outputs(self) -> int:
        return self.out_features

    def forward(self, ws: WeightSpace) -> torch.Tensor:
        check_input(ws, self.spec, self.in_channels, type(self).__name__)
        return self.net(ws.flatten())
