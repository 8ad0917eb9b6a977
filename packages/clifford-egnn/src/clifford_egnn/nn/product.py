"""Steerable geometric product layers: learnable grade-path-weighted geometric products of multivector channels."""

from __future__ import annotations

import math

import torch
from torch import nn

from clifford_egnn.algebra import CliffordAlgebra
from clifford_egnn.nn._checks import check_algebra, check_blade_major, check_channels, check_features
from clifford_egnn.nn._layout import from_blade_major, to_blade_major
from clifford_egnn.nn.linear import MVLinear
from clifford_egnn.nn.normalization import MVGradeNorm

__all__ = ["FullyConnectedSteerableGeometricProduct", "SteerableGeometricProduct"]


class SteerableGeometricProduct(nn.Module):
    """Channel-wise steerable geometric product, Clifford-group equivariant (CGENN).

    .. math::
        r = \\mathrm{GradeNorm}(\\mathrm{MVLinear}_{\\text{no bias}}(x)), \\qquad
        y_c = \\frac{1}{\\sqrt 2}\\Big(\\mathrm{MVLinear}(x)_c
              + \\sum_{(l, o, r)} w_{c,lor} \\big\\langle \\langle x_c \\rangle_l \\langle r_c \\rangle_r \\big\\rangle_o\\Big)

    with one weight per channel and per non-zero grade path ``(left, output, right)`` of the algebra
    (:attr:`CliffordAlgebra.paths`: 20 for ``n = 3``). ``rho(w)`` is an algebra automorphism that preserves
    grades, so each path term is equivariant and so is the layer, for every metric and every ``n``. The grade
    normalisation divides grade ``g`` of ``r`` by ``sigmoid(a_g) (||<r>_g|| - 1) + 1``
    (:class:`~clifford_egnn.nn.MVGradeNorm`).

    The product is computed sparsely: the path weights are expanded to a ``(channels, dim, dim)`` coefficient
    table each forward and applied to the gathered right factor, ``4^n`` multiply-adds per channel (no
    ``dim^3`` Cayley table).

    Parameters
    ----------
    algebra:
        the :class:`~clifford_egnn.CliffordAlgebra`.
    channels:
        number of multivector channels (the output has as many).
    include_first_order:
        add the ``MVLinear(x)`` term and divide by ``sqrt(2)`` (default); otherwise return the product alone.
    normalization_init:
        initial ``a`` of the grade normalisation; ``None`` skips the normalisation.

    Shapes
    ------
    ``(..., channels, dim)`` -> ``(..., channels, dim)``. Path weights ``(channels, num_paths)`` are initialised
    ``N(0, 1/(dim + 1))``.

    Examples
    --------
    >>> import torch
    >>> from clifford_egnn import CliffordAlgebra
    >>> layer = SteerableGeometricProduct(CliffordAlgebra((1, 1, 1)), 4)
    >>> layer.weight.shape
    torch.Size([4, 20])
    >>> layer(torch.randn(10, 4, 8)).shape
    torch.Size([10, 4, 8])
    """

    def __init__(
        self,
        algebra: CliffordAlgebra,
        channels: int,
        include_first_order: bool = True,
        normalization_init: float | None = 0.0,
    ) -> None:
        super().__init__()
        self.algebra = check_algebra(algebra, "SteerableGeometricProduct")
        self.channels = check_channels(channels, "SteerableGeometricProduct: channels")
        self.include_first_order = include_first_order
        self.linear_right = MVLinear(algebra, channels, channels, bias=False)
        self.linear_left = MVLinear(algebra, channels, channels, bias=True) if include_first_order else None
        self.normalization = (
            MVGradeNorm(algebra, channels, normalization_init) if normalization_init is not None else None
        )
        self.weight = nn.Parameter(torch.empty(channels, algebra.num_paths))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.weight, std=1.0 / math.sqrt(self.algebra.dim + 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_features(x, self.algebra, self.channels, "SteerableGeometricProduct")
        # One transpose in and one out: every step in between runs on blade-major (dim, channels, items) tensors.
        return from_blade_major(self.forward_blade_major(to_blade_major(x)), x.shape[:-2])

    def forward_blade_major(self, x_t: torch.Tensor) -> torch.Tensor:
        """The same map on blade-major features ``(dim, channels, items)``."""
        alg = self.algebra
        check_blade_major(x_t, alg, self.channels, "SteerableGeometricProduct.forward_blade_major")
        right_t = self.linear_right.forward_blade_major(x_t)
        if self.normalization is not None:
            right_t = self.normalization.forward_blade_major(right_t)
        coefficient = alg.expand_path_weights(self.weight)
        if self.linear_left is None:
            y_t = alg.blade_major_product(x_t, right_t, coefficient)
        else:
            # The 1/sqrt(2) goes into the small weight tables and the first-order term is accumulated onto the
            # product by baddbmm, which saves two full passes (add, divide) forward and backward.
            scale = 1.0 / math.sqrt(2.0)
            y_t = alg.blade_major_product(x_t, right_t, coefficient * scale)
            weight = self.linear_left.expanded_weight().permute(2, 0, 1) * scale
            y_t = torch.baddbmm(y_t, weight, x_t)
            if self.linear_left.bias is not None:
                y_t[0] += self.linear_left.bias.unsqueeze(-1) * scale
        return y_t

    def extra_repr(self) -> str:
        return (
            f"{self.channels}, paths={self.algebra.num_paths}, include_first_order={self.include_first_order}, "
            f"metric={self.algebra.metric}"
        )


class FullyConnectedSteerableGeometricProduct(nn.Module):
    """Fully connected steerable geometric product: every output channel mixes the path-weighted geometric
    products of all input channels; Clifford-group equivariant (CGENN).

    .. math::
        r = \\mathrm{GradeNorm}(\\mathrm{MVLinear}_{\\text{no bias}}(x)), \\qquad
        y_n = \\frac{1}{\\sqrt 2}\\Big(\\mathrm{MVLinear}(x)_n
              + \\sum_m \\sum_{(l, o, r)} w_{n,m,lor} \\big\\langle \\langle x_m \\rangle_l \\langle r_m \\rangle_r
              \\big\\rangle_o\\Big)

    Equivariant for the same reason as :class:`SteerableGeometricProduct`. The per-channel blade products
    ``x_{m,i} r_{m, J[i,k]}`` (``in * 4^n`` per item) are contracted with the expanded ``(out, in, dim, dim)``
    weight, ``out * in * 4^n`` multiply-adds per item instead of ``out * in * 8^n`` with a dense table.

    Parameters
    ----------
    algebra:
        the :class:`~clifford_egnn.CliffordAlgebra`.
    in_channels, out_channels:
        numbers of input and output channels.
    include_first_order:
        add ``MVLinear(in -> out)(x)`` and divide by ``sqrt(2)`` (default).
    normalization_init:
        initial ``a`` of the grade normalisation of ``r``; ``None`` skips it.

    Shapes
    ------
    ``(..., in_channels, dim)`` -> ``(..., out_channels, dim)``. Weights ``(out, in, num_paths)`` are initialised
    ``N(0, 1/(in_channels (dim + 1)))`` so that the sum over input channels keeps the scale of the channel-wise
    layer.

    Examples
    --------
    >>> import torch
    >>> from clifford_egnn import CliffordAlgebra
    >>> layer = FullyConnectedSteerableGeometricProduct(CliffordAlgebra((1, 1, 1)), 4, 6)
    >>> layer(torch.randn(10, 4, 8)).shape
    torch.Size([10, 6, 8])
    """

    def __init__(
        self,
        algebra: CliffordAlgebra,
        in_channels: int,
        out_channels: int,
        include_first_order: bool = True,
        normalization_init: float | None = 0.0,
    ) -> None:
        super().__init__()
        self.algebra = check_algebra(algebra, "FullyConnectedSteerableGeometricProduct")
        self.in_channels = check_channels(in_channels, "FullyConnectedSteerableGeometricProduct: in_channels")
        self.out_channels = check_channels(out_channels, "FullyConnectedSteerableGeometricProduct: out_channels")
        self.include_first_order = include_first_order
        self.linear_right = MVLinear(algebra, in_channels, in_channels, bias=False)
        self.linear_left = MVLinear(algebra, in_channels, out_channels, bias=True) if include_first_order else None
        self.normalization = (
            MVGradeNorm(algebra, in_channels, normalization_init) if normalization_init is not None else None
        )
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, algebra.num_paths))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.weight, std=1.0 / math.sqrt(self.in_channels * (self.algebra.dim + 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_features(x, self.algebra, self.in_channels, "FullyConnectedSteerableGeometricProduct")
        right = self.linear_right(x)
        if self.normalization is not None:
            right = self.normalization(right)
        alg = self.algebra
        pairs = x.unsqueeze(-1) * right[..., alg.table("product_index", right)]  # (..., in, i, k)
        coefficient = alg.expand_path_weights(self.weight)  # (out, in, i, k)
        product = torch.einsum("...mik,nmik->...nk", pairs, coefficient)
        if self.linear_left is None:
            return product
        return (self.linear_left(x) + product) / math.sqrt(2.0)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, paths={self.algebra.num_paths}, "
            f"include_first_order={self.include_first_order}, metric={self.algebra.metric}"
        )
