"""MVLinear: Clifford-group equivariance, a broken variant that must fail, the equation, shapes, errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from clifford_egnn import CliffordAlgebra
from clifford_egnn.nn import MVLinear
from weightspace_core.testing import assert_equivariant, assert_sensitive


class _PerBladeLinear(MVLinear):
    """Broken on purpose: every blade has its own weight, so the blades of one grade are scaled unevenly."""

    def __init__(self, algebra: CliffordAlgebra, in_channels: int, out_channels: int) -> None:
        super().__init__(algebra, in_channels, out_channels)
        gen = torch.Generator().manual_seed(1)
        self.blade_weight = nn.Parameter(torch.randn(out_channels, in_channels, algebra.dim, generator=gen))

    def expanded_weight(self) -> torch.Tensor:
        return self.blade_weight


@pytest.mark.parametrize("subspaces", [True, False])
def test_equivariant(algebra, versor_act, randomise, features, subspaces: bool) -> None:
    layer = randomise(MVLinear(algebra, 3, 4, subspaces=subspaces))
    assert_equivariant(layer, features(algebra, 3), versor_act, rtol=1e-10)


def test_blade_major_path_is_equivariant_and_equal(algebra, versor_act, randomise, features) -> None:
    layer = randomise(MVLinear(algebra, 3, 4)).double()
    x = features(algebra, 3)

    def blade_major(t: torch.Tensor) -> torch.Tensor:
        return layer.forward_blade_major(t.permute(2, 1, 0).contiguous()).permute(2, 1, 0)

    assert torch.allclose(blade_major(x), layer(x), atol=1e-12)
    assert_equivariant(blade_major, x, versor_act, rtol=1e-10)


def test_sensitivity_per_blade_weights_break_equivariance(algebra, versor_act, features) -> None:
    assert_sensitive(_PerBladeLinear(algebra, 3, 4), features(algebra, 3), versor_act, None)


def test_sensitivity_bias_on_a_vector_blade_breaks_equivariance(algebra, versor_act, randomise, features) -> None:
    layer = randomise(MVLinear(algebra, 3, 4)).double()

    def vector_bias(x: torch.Tensor) -> torch.Tensor:
        return layer(x) + torch.eye(algebra.dim, dtype=x.dtype)[1]

    assert_sensitive(vector_bias, features(algebra, 3), versor_act, None)


def test_equation() -> None:
    """y[n, i] = sum_m W[n, m, grade(i)] x[m, i] + bias[n] on the scalar blade."""
    alg = CliffordAlgebra((1, 1, 1))
    layer = MVLinear(alg, 2, 3)
    with torch.no_grad():
        layer.bias.copy_(torch.tensor([1.0, 2.0, 3.0]))
    x = torch.randn(5, 2, 8)
    y = layer(x)
    for i, g in enumerate(alg.blade_grades.tolist()):
        expected = x[:, :, i] @ layer.weight[:, :, g].T + (layer.bias if i == 0 else 0.0)
        assert torch.allclose(y[:, :, i], expected, atol=1e-6)


def test_shared_weight_and_no_bias() -> None:
    alg = CliffordAlgebra((1, -1))
    layer = MVLinear(alg, 3, 2, subspaces=False, bias=False)
    assert layer.weight.shape == (2, 3)
    assert layer.bias is None
    x = torch.randn(4, 3, 4)
    assert torch.allclose(layer(x), torch.einsum("nm,bmi->bni", layer.weight, x), atol=1e-6)


def test_init_and_shapes() -> None:
    alg = CliffordAlgebra((1, 1, 1))
    torch.manual_seed(0)
    layer = MVLinear(alg, 400, 300)
    assert layer.weight.shape == (300, 400, 4)
    assert math.isclose(layer.weight.std().item(), 1 / math.sqrt(400), rel_tol=0.02)
    assert not layer.bias.any()
    assert MVLinear(alg, 4, 5)(torch.randn(2, 3, 4, 8)).shape == (2, 3, 5, 8)


def test_bad_input() -> None:
    alg = CliffordAlgebra((1, 1, 1))
    layer = MVLinear(alg, 4, 5)
    with pytest.raises(ValueError, match=r"expected multivector features of shape \(\.\.\., channels=4, dim=8\)"):
        layer(torch.randn(2, 4, 7))
    with pytest.raises(ValueError, match=r"found shape \(2, 3, 8\)"):
        layer(torch.randn(2, 3, 8))
    with pytest.raises(ValueError, match="CliffordAlgebra"):
        MVLinear((1, 1, 1), 4, 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive number of channels"):
        MVLinear(alg, 0, 5)
    with pytest.raises(ValueError, match=r"expected blade-major \(8, 4, items\)"):
        layer.forward_blade_major(torch.randn(8, 3, 2))
