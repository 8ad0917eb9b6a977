"""Architectures and inputs shared by the layer and model tests (fixtures only: test files import nothing from here)."""

from __future__ import annotations

import pytest
import torch

from weightspace_core import NetworkSpec, WeightSpace

SMALL_CNN_ZOO = "16x1x3x3,16x16x3x3,16x16x3x3,10x16"

ARCHITECTURES = {
    "mlp3": NetworkSpec.mlp([2, 8, 8, 1]),
    "mlp5_uneven": NetworkSpec.mlp([3, 7, 5, 9, 4, 2]),
    "small_cnn_zoo": NetworkSpec.parse(SMALL_CNN_ZOO),
}


@pytest.fixture(params=sorted(ARCHITECTURES))
def spec(request: pytest.FixtureRequest) -> NetworkSpec:
    """Each of the three architectures the issue names."""
    return ARCHITECTURES[request.param]


@pytest.fixture
def equal_widths_spec() -> NetworkSpec:
    """Hidden layers of equal width, so that a term wired to a neighbouring layer still has the right shape."""
    return NetworkSpec.mlp([3, 6, 6, 6, 2])


@pytest.fixture
def make_ws():
    """``make_ws(spec, batch, channels, seed)``: standard-normal float64 features."""

    def make(spec: NetworkSpec, batch: int = 2, channels: int = 2, seed: int = 0) -> WeightSpace:
        return WeightSpace.randn(
            spec,
            batch_size=batch,
            channels=channels,
            dtype=torch.float64,
            generator=torch.Generator().manual_seed(seed),
        )

    return make


@pytest.fixture
def gen():
    """``gen(seed)``: a seeded torch.Generator."""
    return lambda seed=0: torch.Generator().manual_seed(seed)
