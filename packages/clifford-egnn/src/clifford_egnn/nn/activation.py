"""Equivariant gated nonlinearity for multivectors."""

from __future__ import annotations

import torch
from torch import nn

from clifford_egnn.algebra import CliffordAlgebra
from clifford_egnn.nn._checks import check_algebra, check_blade_major, check_channels, check_features

__all__ = ["MVSiLU"]


class MVSiLU(nn.Module):
    """Clifford-group-equivariant SiLU: each grade is gated by a sigmoid of an invariant of that grade.

    .. math:: y_c = \\sum_g \\sigma(a_{c,g} \\, s_{c,g} + b_{c,g}) \\, \\langle x_c \\rangle_g, \\qquad
              s_{c,0} = \\langle x_c \\rangle_0, \\quad s_{c,g} = q(\\langle x_c \\rangle_g) \\; (g \\ge 1)

    with ``q`` the quadratic form. The scalar part and every ``q(<x>_g)`` are invariant under ``rho(w)``, and
    ``rho(w)`` is linear on each grade, so the layer is equivariant to the Clifford group of any metric. For the
    scalar part it is the ordinary SiLU at initialisation (``a = 1``, ``b = 0``).

    Parameters
    ----------
    algebra:
        the :class:`~clifford_egnn.CliffordAlgebra`.
    channels:
        number of multivector channels; ``a`` and ``b`` are ``(channels, n + 1)``.

    Shapes
    ------
    ``(..., channels, dim)`` -> ``(..., channels, dim)``.

    Examples
    --------
    >>> import torch
    >>> from clifford_egnn import CliffordAlgebra
    >>> act = MVSiLU(CliffordAlgebra((1, 1)), 3)
    >>> x = torch.zeros(3, 4); x[:, 0] = 2.0
    >>> torch.allclose(act(x)[:, 0], torch.nn.functional.silu(x[:, 0]))
    True
    """

    def __init__(self, algebra: CliffordAlgebra, channels: int) -> None:
        super().__init__()
        self.algebra = check_algebra(algebra, "MVSiLU")
        self.channels = check_channels(channels, "MVSiLU: channels")
        self.a = nn.Parameter(torch.ones(channels, algebra.n + 1))
        self.b = nn.Parameter(torch.zeros(channels, algebra.n + 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_features(x, self.algebra, self.channels, "MVSiLU")
        invariants = self.algebra.grade_quadratic_forms(x)
        invariants = torch.cat([x[..., :1], invariants[..., 1:]], dim=-1)
        gates = torch.sigmoid(self.a * invariants + self.b)
        return x * gates[..., self.algebra.table("blade_grades", x)]

    def forward_blade_major(self, x_t: torch.Tensor) -> torch.Tensor:
        """The same map on blade-major features ``(dim, channels, items)``."""
        alg = self.algebra
        check_blade_major(x_t, alg, self.channels, "MVSiLU.forward_blade_major")
        # q(<x>_g) of grades 1..n as one (n, dim) x (dim, channels * items) matrix product; grade 0 gates on x_0.
        q = torch.matmul(alg.table("grade_square_matrix", x_t)[1:], (x_t * x_t).flatten(1))
        invariants = torch.cat([x_t[:1], q.view(alg.n, *x_t.shape[1:])])
        gates = torch.sigmoid(torch.addcmul(self.b.T.unsqueeze(-1), self.a.T.unsqueeze(-1), invariants))
        return x_t * gates.index_select(0, alg.table("blade_grades", x_t))

    def extra_repr(self) -> str:
        return f"{self.channels}, metric={self.algebra.metric}"
