"""Fixtures shared by the layer tests: algebras of n = 2..5 (and mixed signatures) and their versors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from clifford_egnn import CliffordAlgebra

#: n = 2, 3, 4, 5 Euclidean plus an indefinite and a degenerate signature.
LAYER_METRICS = [(1, 1), (1, 1, 1), (1, 1, 1, 1), (1, 1, 1, 1, 1), (1, 1, 1, -1), (1, 1, 0)]
#: number of vector factors: 1 and 3 are reflections (odd versors), 2 and 4 rotations (even).
VERSOR_LENGTHS = [1, 2, 3, 4]


@pytest.fixture(params=LAYER_METRICS, ids=lambda m: "".join({1: "+", -1: "-", 0: "0"}[v] for v in m))
def algebra(request: pytest.FixtureRequest) -> CliffordAlgebra:
    return CliffordAlgebra(request.param)


@pytest.fixture(params=VERSOR_LENGTHS, ids=lambda k: f"{k}vectors")
def versor_act(request: pytest.FixtureRequest, algebra: CliffordAlgebra) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x -> rho(w)(x)`` for a random versor ``w`` made of ``k`` vectors (float64)."""
    w = algebra.random_versor(request.param, torch.Generator().manual_seed(request.param))
    return lambda x: algebra.versor_action(w, x)


@pytest.fixture
def randomise() -> Callable[[torch.nn.Module, int], torch.nn.Module]:
    """Draw every parameter of a module from N(0, 0.5^2) so no test passes because of a special init."""

    def apply(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in module.parameters():
                p.copy_(0.5 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
        return module

    return apply


@pytest.fixture
def features() -> Callable[[CliffordAlgebra, int, int], torch.Tensor]:
    """Random float64 features ``(items, channels, dim)``."""

    def make(algebra: CliffordAlgebra, channels: int, items: int = 6) -> torch.Tensor:
        gen = torch.Generator().manual_seed(channels * 100 + items)
        return torch.randn(items, channels, algebra.dim, generator=gen, dtype=torch.float64)

    return make
