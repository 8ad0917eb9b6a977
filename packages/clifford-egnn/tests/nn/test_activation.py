"""MVSiLU: Clifford-group equivariance, a broken variant that must fail, the equation, errors."""

from __future__ import annotations

import pytest
import torch

from clifford_egnn import CliffordAlgebra
from clifford_egnn.nn import MVSiLU
from weightspace_core.testing import assert_equivariant, assert_sensitive


class _VectorGatedAlgebra(CliffordAlgebra):
    """Broken on purpose: the 'invariants' include the first vector coefficient, which rho(w) changes."""

    def grade_quadratic_forms(self, x: torch.Tensor) -> torch.Tensor:
        return super().grade_quadratic_forms(x) + x[..., 1:2]


def test_equivariant(algebra, versor_act, randomise, features) -> None:
    layer = randomise(MVSiLU(algebra, 3))
    assert_equivariant(layer, features(algebra, 3), versor_act, rtol=1e-10)


def test_blade_major_path_is_equal_and_equivariant(algebra, versor_act, randomise, features) -> None:
    layer = randomise(MVSiLU(algebra, 3)).double()
    x = features(algebra, 3)

    def blade_major(t: torch.Tensor) -> torch.Tensor:
        return layer.forward_blade_major(t.permute(2, 1, 0).contiguous()).permute(2, 1, 0)

    assert torch.allclose(blade_major(x), layer(x), atol=1e-12)
    assert_equivariant(blade_major, x, versor_act, rtol=1e-10)


def test_sensitivity_non_invariant_gate_breaks_equivariance(algebra, versor_act, randomise, features) -> None:
    broken = randomise(MVSiLU(_VectorGatedAlgebra(algebra.metric), 3))
    assert_sensitive(broken, features(algebra, 3), versor_act, None)


def test_equation() -> None:
    """Grade g of channel c is scaled by sigmoid(a[c, g] * inv_g + b[c, g]); inv_0 is the scalar itself."""
    alg = CliffordAlgebra((1, -1, 1))
    layer = MVSiLU(alg, 2)
    with torch.no_grad():
        layer.a.copy_(torch.randn(2, 4))
        layer.b.copy_(torch.randn(2, 4))
    x = torch.randn(5, 2, 8, dtype=torch.float64)
    layer = layer.double()
    y = layer(x)
    for g in range(4):
        part = alg.grade_projection(x, g)
        invariant = x[..., 0] if g == 0 else alg.quadratic_form(part)
        gate = torch.sigmoid(layer.a[:, g] * invariant + layer.b[:, g])
        assert torch.allclose(alg.grade_projection(y, g), gate.unsqueeze(-1) * part, atol=1e-12)


def test_is_silu_on_scalars_at_init() -> None:
    x = torch.randn(7, 3, 4)
    y = MVSiLU(CliffordAlgebra((1, 1)), 3)(x)
    assert torch.allclose(y[..., 0], torch.nn.functional.silu(x[..., 0]))


def test_bad_input() -> None:
    with pytest.raises(ValueError, match=r"channels=3, dim=4"):
        MVSiLU(CliffordAlgebra((1, 1)), 3)(torch.randn(2, 3, 8))
