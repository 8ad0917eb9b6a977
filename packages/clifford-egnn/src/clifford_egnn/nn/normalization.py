"""Equivariant normalisations of multivector channels."""

from __future__ import annotations

import torch
from torch import nn

from clifford_egnn.algebra import CliffordAlgebra
from clifford_egnn.nn._checks import check_algebra, check_blade_major, check_channels, check_features

__all__ = ["MVGradeNorm", "MVLayerNorm"]


class MVLayerNorm(nn.Module):
    """Clifford-group-equivariant layer norm: divide by the mean multivector norm over the channels.

    .. math:: y_c = \\gamma_c \\, \\frac{x_c}{\\frac{1}{C} \\sum_{c'} \\|x_{c'}\\| + 10^{-6}}

    with the smooth norm ``||x|| = (q(x)^2 + 1e-16)^(1/4)`` of :meth:`CliffordAlgebra.norm`, which ``rho(w)``
    leaves unchanged, and a learnable per-channel scale ``gamma`` (initialised to 1).

    Parameters
    ----------
    algebra:
        the :class:`~clifford_egnn.CliffordAlgebra`.
    channels:
        number of multivector channels.

    Shapes
    ------
    ``(..., channels, dim)`` -> ``(..., channels, dim)``; the mean runs over the channel axis.

    Examples
    --------
    >>> import torch
    >>> from clifford_egnn import CliffordAlgebra
    >>> alg = CliffordAlgebra((1, 1, 1))
    >>> y = MVLayerNorm(alg, 5)(torch.randn(2, 5, 8))
    >>> bool(torch.allclose(alg.norm(y).mean(-1), torch.ones(2), atol=1e-4))
    True
    """

    def __init__(self, algebra: CliffordAlgebra, channels: int) -> None:
        super().__init__()
        self.algebra = check_algebra(algebra, "MVLayerNorm")
        self.channels = check_channels(channels, "MVLayerNorm: channels")
        self.a = nn.Parameter(torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_features(x, self.algebra, self.channels, "MVLayerNorm")
        norm = self.algebra.norm(x).mean(-1, keepdim=True) + 1e-6
        return x * (self.a / norm).unsqueeze(-1)

    def forward_blade_major(self, x_t: torch.Tensor) -> torch.Tensor:
        """The same map on blade-major features ``(dim, channels, items)``."""
        alg = self.algebra
        check_blade_major(x_t, alg, self.channels, "MVLayerNorm.forward_blade_major")
        # q(x) of every channel and item as one (1, dim) x (dim, channels * items) matrix product.
        q = torch.matmul(alg.table("blade_squares", x_t).unsqueeze(0), (x_t * x_t).flatten(1)).view(x_t.shape[1:])
        norm = alg.smooth_abs_sqrt(q).mean(0) + 1e-6
        return x_t * (self.a.unsqueeze(-1) / norm)

    def extra_repr(self) -> str:
        return f"{self.channels}, metric={self.algebra.metric}"


class MVGradeNorm(nn.Module):
    """Clifford-group-equivariant soft per-grade normalisation (used on the right factor of the product layers).

    .. math:: y_c = \\sum_g \\frac{\\langle x_c \\rangle_g}{\\sigma(a_{c,g}) (\\|\\langle x_c \\rangle_g\\| - 1) + 1}

    ``sigma(a) = 0`` leaves ``x`` unchanged and ``sigma(a) = 1`` divides each grade by its norm; the denominator is
    at least ``1 - sigma(a) > 0``, so no epsilon is needed. Norms are the invariant smooth norms of
    :meth:`CliffordAlgebra.grade_norms`.

    Parameters
    ----------
    algebra:
        the :class:`~clifford_egnn.CliffordAlgebra`.
    channels:
        number of multivector channels; ``a`` is ``(channels, n + 1)``.
    init:
        initial value of every ``a`` (``0`` gives ``sigma(a) = 1/2``).

    Shapes
    ------
    ``(..., channels, dim)`` -> ``(..., channels, dim)``.

    Examples
    --------
    >>> import torch
    >>> from clifford_egnn import CliffordAlgebra
    >>> MVGradeNorm(CliffordAlgebra((1, 1)), 2)(torch.randn(7, 2, 4)).shape
    torch.Size([7, 2, 4])
    """

    def __init__(self, algebra: CliffordAlgebra, channels: int, init: float = 0.0) -> None:
        super().__init__()
        self.algebra = check_algebra(algebra, "MVGradeNorm")
        self.channels = check_channels(channels, "MVGradeNorm: channels")
        self.a = nn.Parameter(torch.full((channels, algebra.n + 1), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_features(x, self.algebra, self.channels, "MVGradeNorm")
        # The reciprocal is taken per grade, before expanding to blades: n + 1 divisions instead of 2^n.
        scale = torch.reciprocal(torch.sigmoid(self.a) * (self.algebra.grade_norms(x) - 1.0) + 1.0)
        return x * scale[..., self.algebra.table("blade_grades", x)]

    def forward_blade_major(self, x_t: torch.Tensor) -> torch.Tensor:
        """The same map on blade-major features ``(dim, channels, items)``."""
        alg = self.algebra
        check_blade_major(x_t, alg, self.channels, "MVGradeNorm.forward_blade_major")
        # q(<x>_g) for every grade as one (n + 1, dim) x (dim, channels * items) matrix product.
        q = torch.matmul(alg.table("grade_square_matrix", x_t), (x_t * x_t).flatten(1)).view(-1, *x_t.shape[1:])
        norms = alg.smooth_abs_sqrt(q)
        scale = torch.reciprocal(torch.sigmoid(self.a).T.unsqueeze(-1) * (norms - 1.0) + 1.0)
        return x_t * scale.index_select(0, alg.table("blade_grades", x_t))

    def extra_repr(self) -> str:
        return f"{self.channels}, metric={self.algebra.metric}"
