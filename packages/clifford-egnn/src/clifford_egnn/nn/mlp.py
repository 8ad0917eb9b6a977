"""Clifford-group-equivariant multilayer perceptron on multivector channels."""

from __future__ import annotations

import itertools

from torch import Tensor, nn

from clifford_egnn.algebra import CliffordAlgebra
from clifford_egnn.nn._checks import check_algebra, check_channels, check_features
from clifford_egnn.nn._layout import from_blade_major, to_blade_major
from clifford_egnn.nn.activation import MVSiLU
from clifford_egnn.nn.linear import MVLinear
from clifford_egnn.nn.normalization import MVLayerNorm
from clifford_egnn.nn.product import SteerableGeometricProduct

__all__ = ["CEMLP"]


class CEMLP(nn.Module):
    """Clifford-group-equivariant MLP (CGENN's CEMLP): ``num_layers`` blocks of

    .. math:: x \\mapsto \\mathrm{MVLayerNorm}(\\mathrm{SteerableGeometricProduct}(\\mathrm{MVSiLU}(\\mathrm{MVLinear}(x))))

    The first ``num_layers - 1`` blocks map to ``hidden_channels``, the last to ``out_channels``. A composition of
    equivariant layers, so equivariant to the Clifford group of any metric.

    Parameters
    ----------
    algebra:
        the :class:`~clifford_egnn.CliffordAlgebra`.
    in_channels, hidden_channels, out_channels:
        channel widths.
    num_layers:
        number of blocks (at least 1).
    normalization_init:
        passed to every :class:`~clifford_egnn.nn.SteerableGeometricProduct`.

    Shapes
    ------
    ``(..., in_channels, dim)`` -> ``(..., out_channels, dim)``.

    Examples
    --------
    >>> import torch
    >>> from clifford_egnn import CliffordAlgebra
    >>> mlp = CEMLP(CliffordAlgebra((1, 1, 1)), 3, 16, 2, num_layers=2)
    >>> mlp(torch.randn(5, 3, 8)).shape
    torch.Size([5, 2, 8])
    """

    def __init__(
        self,
        algebra: CliffordAlgebra,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int = 2,
        normalization_init: float | None = 0.0,
    ) -> None:
        super().__init__()
        self.algebra = check_algebra(algebra, "CEMLP")
        self.in_channels = check_channels(in_channels, "CEMLP: in_channels")
        check_channels(hidden_channels, "CEMLP: hidden_channels")
        self.out_channels = check_channels(out_channels, "CEMLP: out_channels")
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"CEMLP: expected num_layers >= 1, found {num_layers!r}")
        widths = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.layers = nn.Sequential(
            *(
                nn.Sequential(
                    MVLinear(algebra, c_in, c_out),
                    MVSiLU(algebra, c_out),
                    SteerableGeometricProduct(algebra, c_out, normalization_init=normalization_init),
                    MVLayerNorm(algebra, c_out),
                )
                for c_in, c_out in itertools.pairwise(widths)
            )
        )

    def forward(self, x: Tensor) -> Tensor:
        check_features(x, self.algebra, self.in_channels, "CEMLP")
        # One transpose in and one out: every block runs on blade-major (dim, channels, items) tensors, where the
        # linear maps are batched matrix products over blades and the gates and norms index whole rows.
        return from_blade_major(self.forward_blade_major(to_blade_major(x)), x.shape[:-2])

    @property
    def input_linear(self) -> MVLinear:
        """The first block's :class:`MVLinear` (``in_channels -> hidden``)."""
        linear: MVLinear = self.layers[0][0]
        return linear

    def forward_blade_major(self, x_t: Tensor, projected: bool = False) -> Tensor:
        """The same map on blade-major features ``(dim, in_channels, items)`` -> ``(dim, out_channels, items)``.

        With ``projected=True``, ``x_t`` is already :attr:`input_linear` of the input, ``(dim, hidden, items)``:
        callers whose input is linear in cheaper quantities (differences of node features) apply it there.
        """
        for index, (linear, activation, product, norm) in enumerate(self.layers):
            if index or not projected:
                x_t = linear.forward_blade_major(x_t)
            x_t = norm.forward_blade_major(product.forward_blade_major(activation.forward_blade_major(x_t)))
        return x_t
