"""Grade-wise linear maps of multivector channels."""

from __future__ import annotations

import math

import torch
from torch import nn

from clifford_egnn.algebra import CliffordAlgebra
from clifford_egnn.nn._checks import check_algebra, check_blade_major, check_channels, check_features

__all__ = ["MVLinear"]


class MVLinear(nn.Module):
    """Clifford-group-equivariant linear map that mixes channels with one weight per grade.

    .. math:: y_{n,i} = \\sum_m W_{n, m, \\mathrm{grade}(i)} \\, x_{m,i} \\; + \\; \\delta_{i,0} \\, b_n

    Every blade ``i`` of grade ``g`` uses the same ``(out, in)`` matrix ``W[:, :, g]`` (one matrix for all grades
    when ``subspaces=False``); the bias touches the scalar blade only. Since ``rho(w)`` acts on each grade
    separately and fixes scalars, ``MVLinear(rho(w) x) = rho(w) MVLinear(x)`` for every versor ``w`` of every
    metric (the Clifford group ``Gamma(p, q, r)``; on vectors this is O(p, q) equivariance).

    Parameters
    ----------
    algebra:
        the :class:`~clifford_egnn.CliffordAlgebra`.
    in_channels, out_channels:
        number of input and output multivector channels.
    subspaces:
        one weight per (out, in, grade) if True (default), one per (out, in) otherwise.
    bias:
        add a learnable scalar (grade-0) bias per output channel, initialised to 0.

    Shapes
    ------
    ``(..., in_channels, dim)`` -> ``(..., out_channels, dim)``. Weights are initialised ``N(0, 1/in_channels)``
    (standard deviation ``1/sqrt(in_channels)``).

    Examples
    --------
    >>> import torch
    >>> from clifford_egnn import CliffordAlgebra
    >>> layer = MVLinear(CliffordAlgebra((1, 1, 1)), 4, 6)
    >>> layer(torch.randn(10, 4, 8)).shape
    torch.Size([10, 6, 8])
    """

    def __init__(
        self,
        algebra: CliffordAlgebra,
        in_channels: int,
        out_channels: int,
        subspaces: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.algebra = check_algebra(algebra, "MVLinear")
        self.in_channels = check_channels(in_channels, "MVLinear: in_channels")
        self.out_channels = check_channels(out_channels, "MVLinear: out_channels")
        self.subspaces = subspaces
        shape = (out_channels, in_channels, algebra.n + 1) if subspaces else (out_channels, in_channels)
        self.weight = nn.Parameter(torch.empty(shape))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.weight, std=1.0 / math.sqrt(self.in_channels))
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def expanded_weight(self) -> torch.Tensor:
        """The ``(out, in, dim)`` weight of every blade (``W[:, :, grade(i)]``)."""
        if not self.subspaces:
            return self.weight.unsqueeze(-1).expand(-1, -1, self.algebra.dim)
        return self.weight[..., self.algebra.table("blade_grades", self.weight)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_features(x, self.algebra, self.in_channels, "MVLinear")
        if self.subspaces:
            y = torch.einsum("...mi,nmi->...ni", x, self.expanded_weight())
        else:
            y = torch.matmul(self.weight, x)
        if self.bias is not None:
            y = y + self.scalar_bias().squeeze(-1).T
        return y

    def forward_blade_major(self, x_t: torch.Tensor) -> torch.Tensor:
        """The same map on blade-major features ``(dim, in_channels, items)`` -> ``(dim, out_channels, items)``:
        one batched matrix product over blades, with the bias fused in."""
        check_blade_major(x_t, self.algebra, self.in_channels, "MVLinear.forward_blade_major")
        weight = self.expanded_weight().permute(2, 0, 1)
        if self.bias is None:
            return torch.matmul(weight, x_t)
        return torch.baddbmm(self.scalar_bias(), weight, x_t)

    def scalar_bias(self) -> torch.Tensor:
        """``(dim, out, 1)``: the bias in the scalar blade, zero elsewhere (blade-major, to add to outputs)."""
        assert self.bias is not None
        zeros = self.bias.new_zeros(self.algebra.dim - 1, self.out_channels)
        return torch.cat([self.bias.unsqueeze(0), zeros]).unsqueeze(-1)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, subspaces={self.subspaces}, bias={self.bias is not None}, "
            f"metric={self.algebra.metric}"
        )
