"""CEMLP: equivariance of the composition, a broken variant that must fail, structure, errors."""

from __future__ import annotations

import pytest
import torch

from clifford_egnn import CliffordAlgebra
from clifford_egnn.nn import CEMLP, MVLayerNorm, MVLinear, MVSiLU, SteerableGeometricProduct
from weightspace_core.testing import assert_equivariant, assert_sensitive


class _UnevenPathAlgebra(CliffordAlgebra):
    """Broken on purpose: each (left blade, output blade) pair of the products gets its own factor."""

    def expand_path_weights(self, weights: torch.Tensor) -> torch.Tensor:
        noise = 1.0 + torch.rand(self.dim, self.dim, generator=torch.Generator().manual_seed(0))
        return super().expand_path_weights(weights) * noise.to(weights)


def test_equivariant(algebra, versor_act, randomise, features) -> None:
    mlp = randomise(CEMLP(algebra, 3, 5, 2, num_layers=2))
    assert_equivariant(mlp, features(algebra, 3), versor_act, rtol=1e-10)


def test_sensitivity(algebra, versor_act, randomise, features) -> None:
    broken = randomise(CEMLP(_UnevenPathAlgebra(algebra.metric), 3, 5, 2, num_layers=2))
    assert_sensitive(broken, features(algebra, 3), versor_act, None)


def test_projected_blade_major_path_equals_forward(algebra, randomise, features) -> None:
    """The blade-major path, with and without ``projected=True`` (what CG-EGNN's messages use), equals the blocks
    applied one after another in the public node-major layout."""
    mlp = randomise(CEMLP(algebra, 3, 5, 2)).double()
    x = features(algebra, 3)
    reference = mlp.layers(x)
    x_t = x.permute(2, 1, 0).contiguous()
    projected = mlp.forward_blade_major(mlp.input_linear.forward_blade_major(x_t), projected=True)
    assert torch.allclose(mlp(x), reference, atol=1e-12)
    assert torch.allclose(projected.permute(2, 1, 0), reference, atol=1e-12)


def test_structure() -> None:
    alg = CliffordAlgebra((1, 1, 1))
    mlp = CEMLP(alg, 3, 16, 2, num_layers=3)
    assert len(mlp.layers) == 3
    kinds = [type(m) for m in mlp.layers[0]]
    assert kinds == [MVLinear, MVSiLU, SteerableGeometricProduct, MVLayerNorm]
    assert mlp.layers[0][0].in_channels == 3
    assert mlp.layers[1][0].in_channels == 16
    assert mlp.layers[2][0].out_channels == 2
    assert mlp(torch.randn(4, 3, 8)).shape == (4, 2, 8)
    assert CEMLP(alg, 3, 16, 2, num_layers=1)(torch.randn(4, 3, 8)).shape == (4, 2, 8)


def test_bad_input() -> None:
    alg = CliffordAlgebra((1, 1, 1))
    with pytest.raises(ValueError, match="num_layers >= 1"):
        CEMLP(alg, 3, 4, 2, num_layers=0)
    with pytest.raises(ValueError, match=r"channels=3, dim=8"):
        CEMLP(alg, 3, 4, 2)(torch.randn(4, 2, 8))
