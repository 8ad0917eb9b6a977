"""SteerableGeometricProduct and its fully connected variant: equivariance, broken variants, the equation."""

from __future__ import annotations

import math

import pytest
import torch

from clifford_egnn import CliffordAlgebra
from clifford_egnn.nn import FullyConnectedSteerableGeometricProduct, MVGradeNorm, SteerableGeometricProduct
from weightspace_core.testing import assert_equivariant, assert_sensitive


class _UnevenPathAlgebra(CliffordAlgebra):
    """Broken on purpose: each (left blade, output blade) pair gets its own factor, not one weight per path."""

    def expand_path_weights(self, weights: torch.Tensor) -> torch.Tensor:
        noise = 1.0 + torch.rand(self.dim, self.dim, generator=torch.Generator().manual_seed(0))
        return super().expand_path_weights(weights) * noise.to(weights)


def _explicit_weighted_product(alg: CliffordAlgebra, x: torch.Tensor, r: torch.Tensor, w: torch.Tensor):
    """sum over paths (l, o, r) of w[..., path] <<x>_l <r>_r>_o, from grade projections and the plain product."""
    out = torch.zeros_like(x)
    for p, (left, o, right) in enumerate(alg.paths):
        term = alg.geometric_product(alg.grade_projection(x, left), alg.grade_projection(r, right))
        out = out + w[..., p : p + 1] * alg.grade_projection(term, o)
    return out


def test_path_weights_mean_grade_projections() -> None:
    alg = CliffordAlgebra((1, -1, 1))
    x, r = torch.randn(4, 3, 8, dtype=torch.float64), torch.randn(4, 3, 8, dtype=torch.float64)
    w = torch.randn(3, alg.num_paths, dtype=torch.float64)
    assert torch.allclose(alg.path_weighted_product(x, r, w), _explicit_weighted_product(alg, x, r, w), atol=1e-12)


@pytest.mark.parametrize("include_first_order", [True, False])
def test_equivariant(algebra, versor_act, randomise, features, include_first_order: bool) -> None:
    layer = randomise(SteerableGeometricProduct(algebra, 3, include_first_order=include_first_order))
    assert_equivariant(layer, features(algebra, 3), versor_act, rtol=1e-10)


def test_equivariant_on_a_large_batch() -> None:
    """Large enough for the blocked CPU loop of the product (forward and the same path as training)."""
    alg = CliffordAlgebra((1, 1, 1, 1, 1))
    layer = SteerableGeometricProduct(alg, 4)
    w = alg.random_versor(3, torch.Generator().manual_seed(0))
    x = torch.randn(700, 4, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert_equivariant(layer, x, lambda t: alg.versor_action(w, t), rtol=1e-10)


def test_sensitivity_uneven_path_weights_break_equivariance(algebra, versor_act, randomise, features) -> None:
    broken = randomise(SteerableGeometricProduct(_UnevenPathAlgebra(algebra.metric), 3))
    assert_sensitive(broken, features(algebra, 3), versor_act, None)


def test_equation() -> None:
    """(MVLinear(x) + GP_w(x, GradeNorm(MVLinear_nobias(x)))) / sqrt(2), with the spec's layers."""
    alg = CliffordAlgebra((1, 1, 0))
    layer = SteerableGeometricProduct(alg, 3, normalization_init=0.3).double()
    with torch.no_grad():
        layer.linear_left.bias.normal_()
    x = torch.randn(2, 5, 3, 8, dtype=torch.float64)
    right = layer.normalization(layer.linear_right(x))
    expected = (layer.linear_left(x) + _explicit_weighted_product(alg, x, right, layer.weight)) / math.sqrt(2)
    assert torch.allclose(layer(x), expected, atol=1e-12)
    assert isinstance(layer.normalization, MVGradeNorm)
    assert layer.linear_right.bias is None


def test_parameters_and_options() -> None:
    alg = CliffordAlgebra((1, 1, 1))
    layer = SteerableGeometricProduct(alg, 4)
    assert layer.weight.shape == (4, 20)
    bare = SteerableGeometricProduct(alg, 4, include_first_order=False, normalization_init=None)
    assert bare.linear_left is None
    assert bare.normalization is None
    x = torch.randn(3, 4, 8)
    expected = alg.path_weighted_product(x, bare.linear_right(x), bare.weight)
    assert torch.allclose(bare(x), expected, atol=1e-5)


def test_gradients_reach_every_parameter() -> None:
    layer = SteerableGeometricProduct(CliffordAlgebra((1, 1, 1, 1)), 3)
    layer(torch.randn(5, 3, 16)).pow(2).sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None, name
        assert bool(p.grad.abs().sum() > 0), name


def test_fully_connected_equivariant(algebra, versor_act, randomise, features) -> None:
    layer = randomise(FullyConnectedSteerableGeometricProduct(algebra, 3, 2))
    assert_equivariant(layer, features(algebra, 3), versor_act, rtol=1e-10)


def test_fully_connected_sensitivity(algebra, versor_act, randomise, features) -> None:
    broken = randomise(FullyConnectedSteerableGeometricProduct(_UnevenPathAlgebra(algebra.metric), 3, 2))
    assert_sensitive(broken, features(algebra, 3), versor_act, None)


def test_fully_connected_equation() -> None:
    """y_n = (MVLinear(x)_n + sum_m GP_{w[n, m]}(x_m, r_m)) / sqrt(2)."""
    alg = CliffordAlgebra((1, 1, 1))
    layer = FullyConnectedSteerableGeometricProduct(alg, 3, 2).double()
    x = torch.randn(4, 3, 8, dtype=torch.float64)
    right = layer.normalization(layer.linear_right(x))
    mixed = torch.stack(
        [sum(alg.path_weighted_product(x[:, m], right[:, m], layer.weight[n, m]) for m in range(3)) for n in range(2)],
        dim=1,
    )
    assert torch.allclose(layer(x), (layer.linear_left(x) + mixed) / math.sqrt(2), atol=1e-12)
    assert layer.weight.shape == (2, 3, 20)


def test_bad_input() -> None:
    alg = CliffordAlgebra((1, 1, 1))
    with pytest.raises(ValueError, match=r"channels=4, dim=8"):
        SteerableGeometricProduct(alg, 4)(torch.randn(2, 4, 16))
    with pytest.raises(ValueError, match=r"channels=3, dim=8"):
        FullyConnectedSteerableGeometricProduct(alg, 3, 2)(torch.randn(2, 4, 8))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu() -> None:
    """The CUDA path (one-shot gathers, tables cached per device) computes what the CPU path computes."""
    alg = CliffordAlgebra((1, 1, 1, -1))
    layer = SteerableGeometricProduct(alg, 4).double()
    x = torch.randn(300, 4, 16, dtype=torch.float64, requires_grad=True)
    out = layer(x)
    out.pow(2).sum().backward()
    layer_cuda = layer.to("cuda")
    x_cuda = x.detach().to("cuda").requires_grad_(True)
    out_cuda = layer_cuda(x_cuda)
    out_cuda.pow(2).sum().backward()
    assert torch.allclose(out_cuda.cpu(), out.detach(), atol=1e-10)
    assert torch.allclose(x_cuda.grad.cpu(), x.grad, atol=1e-9)
    w = alg.random_versor(3, device="cuda")
    assert alg.versor_action(w, x_cuda.detach()).device.type == "cuda"
