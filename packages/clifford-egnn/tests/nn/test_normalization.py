"""MVLayerNorm and MVGradeNorm: equivariance, broken variants that must fail, the equations, errors."""

from __future__ import annotations

import pytest
import torch

from clifford_egnn import CliffordAlgebra
from clifford_egnn.nn import MVGradeNorm, MVLayerNorm
from weightspace_core.testing import assert_equivariant, assert_sensitive


class _CoordinateNormAlgebra(CliffordAlgebra):
    """Broken on purpose: norms include the absolute first vector coefficient, which rho(w) changes."""

    def norm(self, x: torch.Tensor, eps: float = 1e-16) -> torch.Tensor:
        return super().norm(x, eps) + x[..., 1].abs()

    def grade_norms(self, x: torch.Tensor, eps: float = 1e-16) -> torch.Tensor:
        return super().grade_norms(x, eps) + x[..., 1:2].abs()


def test_layer_norm_equivariant(algebra, versor_act, randomise, features) -> None:
    layer = randomise(MVLayerNorm(algebra, 3))
    assert_equivariant(layer, features(algebra, 3), versor_act, rtol=1e-10)


def test_layer_norm_sensitivity(algebra, versor_act, randomise, features) -> None:
    broken = randomise(MVLayerNorm(_CoordinateNormAlgebra(algebra.metric), 3))
    assert_sensitive(broken, features(algebra, 3), versor_act, None)


def test_layer_norm_equation() -> None:
    alg = CliffordAlgebra((1, 1, -1))
    layer = MVLayerNorm(alg, 4).double()
    with torch.no_grad():
        layer.a.copy_(torch.arange(1.0, 5.0))
    x = torch.randn(3, 4, 8, dtype=torch.float64)
    mean_norm = alg.norm(x).mean(-1, keepdim=True) + 1e-6
    assert torch.allclose(layer(x), layer.a[:, None] * x / mean_norm[..., None], atol=1e-12)


def test_layer_norm_blade_major_path_is_equal_and_equivariant(algebra, versor_act, randomise, features) -> None:
    layer = randomise(MVLayerNorm(algebra, 3)).double()
    x = features(algebra, 3)

    def blade_major(t: torch.Tensor) -> torch.Tensor:
        return layer.forward_blade_major(t.permute(2, 1, 0).contiguous()).permute(2, 1, 0)

    assert torch.allclose(blade_major(x), layer(x), atol=1e-12)
    assert_equivariant(blade_major, x, versor_act, rtol=1e-10)


def test_grade_norm_equivariant(algebra, versor_act, randomise, features) -> None:
    layer = randomise(MVGradeNorm(algebra, 3))
    assert_equivariant(layer, features(algebra, 3), versor_act, rtol=1e-10)


def test_grade_norm_blade_major_path_is_equal_and_equivariant(algebra, versor_act, randomise, features) -> None:
    layer = randomise(MVGradeNorm(algebra, 3)).double()
    x = features(algebra, 3)

    def blade_major(t: torch.Tensor) -> torch.Tensor:
        return layer.forward_blade_major(t.permute(2, 1, 0).contiguous()).permute(2, 1, 0)

    assert torch.allclose(blade_major(x), layer(x), atol=1e-12)
    assert_equivariant(blade_major, x, versor_act, rtol=1e-10)


def test_grade_norm_sensitivity(algebra, versor_act, randomise, features) -> None:
    broken = randomise(MVGradeNorm(_CoordinateNormAlgebra(algebra.metric), 3))
    assert_sensitive(broken, features(algebra, 3), versor_act, None)


def test_grade_norm_limits() -> None:
    """sigmoid(a) -> 0 is the identity, sigmoid(a) -> 1 divides every grade by its norm."""
    alg = CliffordAlgebra((1, 1, 1))
    x = torch.randn(5, 2, 8, dtype=torch.float64)
    identity = MVGradeNorm(alg, 2, init=-100.0).double()
    assert torch.allclose(identity(x), x)
    unit = MVGradeNorm(alg, 2, init=100.0).double()
    assert torch.allclose(alg.grade_norms(unit(x)), torch.ones(5, 2, 4, dtype=torch.float64), atol=1e-6)


def test_bad_input() -> None:
    alg = CliffordAlgebra((1, 1))
    with pytest.raises(ValueError, match=r"channels=3, dim=4"):
        MVLayerNorm(alg, 3)(torch.randn(2, 2, 4))
    with pytest.raises(ValueError, match=r"channels=3, dim=4"):
        MVGradeNorm(alg, 3)(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match=r"expected blade-major \(4, 3, items\)"):
        MVGradeNorm(alg, 3).forward_blade_major(torch.randn(3, 4, 4))
