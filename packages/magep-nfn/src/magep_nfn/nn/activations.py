"""Pointwise nonlinearities on weight-space features, named by the part of the monomial group they keep.

A pointwise ``f`` commutes with every permutation. It commutes with a positive scaling ``x -> d x`` when it is
positively homogeneous (ReLU, leaky ReLU: ``f(d x) = d f(x)`` for ``d > 0``) and with a sign flip when it is odd
(tanh, sine). Any other nonlinearity breaks the scaling and sign parts of the group.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from weightspace_core import WeightSpace

__all__ = ["ScaleEquivariantReLU", "SignEquivariantTanh", "WeightSpaceActivation", "activation_for_group"]


class WeightSpaceActivation(nn.Module):
    """Apply a pointwise function to every weight and bias tensor of a WeightSpace (shapes unchanged).

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> ws = WeightSpace.randn(NetworkSpec.mlp([2, 3, 1]), batch_size=1)
    >>> out = WeightSpaceActivation(torch.sigmoid)(ws)
    >>> torch.equal(out.weights[0], torch.sigmoid(ws.weights[0]))
    True
    """

    def __init__(self, fn: object) -> None:
        super().__init__()
        if not callable(fn):
            raise ValueError(f"WeightSpaceActivation: expected a callable, found {type(fn).__name__}")
        self.fn = fn

    def forward(self, ws: WeightSpace) -> WeightSpace:
        return ws.map(self.fn)  # type: ignore[arg-type]


class ScaleEquivariantReLU(WeightSpaceActivation):
    """Pointwise ReLU (or leaky ReLU with ``negative_slope``): keeps permutation and positive-scaling equivariance.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> ws = WeightSpace.randn(NetworkSpec.mlp([2, 3, 1]), batch_size=1)
    >>> bool((ScaleEquivariantReLU()(ws).weights[0] >= 0).all())
    True
    """

    def __init__(self, negative_slope: float = 0.0) -> None:
        self.negative_slope = float(negative_slope)
        super().__init__(self._relu)

    def _relu(self, t: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(t, self.negative_slope) if self.negative_slope else F.relu(t)


class SignEquivariantTanh(WeightSpaceActivation):
    """Pointwise tanh (odd): keeps permutation and sign equivariance.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> ws = WeightSpace.randn(NetworkSpec.mlp([2, 3, 1]), batch_size=1)
    >>> torch.equal(SignEquivariantTanh()(-ws).weights[0], -SignEquivariantTanh()(ws).weights[0])
    True
    """

    def __init__(self) -> None:
        super().__init__(torch.tanh)


def activation_for_group(group: str) -> WeightSpaceActivation:
    """The nonlinearity that keeps ``group``: ``"scale"`` -> ReLU, ``"sign"`` -> tanh."""
    if group == "scale":
        return ScaleEquivariantReLU()
    if group == "sign":
        return SignEquivariantTanh()
    raise ValueError(f"activation_for_group: expected 'scale' or 'sign', found {group!r}")
