"""Each assertion passes on a correct function and fails on a deliberately broken one."""

import pytest
import torch
from torch import nn

from weightspace_core import NetworkSpec, WeightSpace
from weightspace_core.groups import Permutation, sample_monomial
from weightspace_core.testing import (
    assert_equivariant,
    assert_function_preserved,
    assert_invariant,
    assert_sensitive,
    relative_error,
    to_float64,
)

G = Permutation.sample(6, generator=torch.Generator().manual_seed(0))
X = torch.randn(4, 6, generator=torch.Generator().manual_seed(1))
OFFSET = torch.linspace(-1, 1, 6)


def permute(x: torch.Tensor) -> torch.Tensor:
    return G.apply(x, dim=-1)


def test_equivariant_passes_and_fails() -> None:
    assert assert_equivariant(torch.tanh, X, permute) < 1e-15
    with pytest.raises(AssertionError, match="not equivariant: relative error"):
        assert_equivariant(lambda x: torch.tanh(x + OFFSET.double()), X, permute)


def test_equivariant_casts_modules_to_float64() -> None:
    lin = nn.Linear(6, 6)
    assert assert_equivariant(lin, X, lambda x: 2 * x, lambda y: 2 * y - lin.bias.double()) < 1e-14
    assert lin.weight.dtype == torch.float32  # the module under test is copied, not changed


def test_invariant_passes_and_fails() -> None:
    assert assert_invariant(lambda x: x.sum(-1), X, permute) < 1e-14
    with pytest.raises(AssertionError, match="not invariant"):
        assert_invariant(lambda x: x[..., 0], X, permute)


def test_sensitive_passes_and_fails() -> None:
    assert assert_sensitive(lambda x: x[..., 0], X, permute) > 1e-3
    with pytest.raises(AssertionError, match="not sensitive"):
        assert_sensitive(lambda x: x.sum(-1), X, permute)


def test_function_preserved_passes_and_fails() -> None:
    net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    spec = WeightSpace.from_module(net).spec
    scale = sample_monomial(spec, "scale", generator=torch.Generator().manual_seed(0))
    assert assert_function_preserved(net, scale.act_on_module, X) < 1e-12

    def broken(m: nn.Module) -> nn.Module:
        # scales the hidden rows but forgets the inverse on the next layer's columns
        ws = WeightSpace.from_module(m)
        transformed = scale.act(ws)
        return WeightSpace([transformed.weights[0], ws.weights[1]], [transformed.biases[0], ws.biases[1]]).clone_module(
            m
        )

    with pytest.raises(AssertionError, match="function not preserved"):
        assert_function_preserved(net, broken, X)


def test_vacuous_and_non_finite_outputs_fail() -> None:
    with pytest.raises(AssertionError, match="identically zero"):
        assert_equivariant(lambda x: 0 * x, X, permute)
    with pytest.raises(AssertionError, match="non-finite"):
        assert_invariant(lambda x: x.sum(-1) / 0, X, permute)


def test_structured_outputs() -> None:
    spec = NetworkSpec.mlp([2, 3, 1])
    ws = WeightSpace.randn(spec, generator=torch.Generator().manual_seed(0))
    assert relative_error({"a": (ws, X)}, {"a": (ws, X)}) == 0.0
    assert to_float64((ws, [X]))[0].dtype == torch.float64
    with pytest.raises(AssertionError, match="structure"):
        relative_error((X, X), (X,))
    with pytest.raises(AssertionError, match="shapes differ"):
        relative_error(X, X[:2])
