"""EGNN baseline: E(n) x permutation equivariance in float64, sensitivity, bad input."""

from __future__ import annotations

import pytest
import torch

from clifford_egnn.models import EGNN, EGNNLayer
from weightspace_core.groups import Euclidean
from weightspace_core.testing import assert_equivariant, assert_sensitive


def make_model(dim: int, aggregation: str = "sum") -> EGNN:
    torch.manual_seed(0)
    model = EGNN(1, 1, 8, 2, out_scalars=2, dim=dim, edge_features=1, aggregation=aggregation).double()
    # The reference initialises phi_x near zero; larger weights make the coordinate update visible to the test.
    for layer in model.layers:
        torch.nn.init.normal_(layer.coord_mlp[-1].weight, std=0.5)
    return model


@pytest.mark.parametrize("dim", [2, 3, 5])
@pytest.mark.parametrize("complete", [False, True], ids=["sparse", "complete"])
@pytest.mark.parametrize("aggregation", ["sum", "mean"])
def test_equivariant(dim, complete, aggregation, graph_batch, en_action):
    inputs = graph_batch([5, 3], dim, complete=complete, seed=dim)
    model = make_model(dim, aggregation)
    gen = torch.Generator().manual_seed(dim)
    for det in (1, -1):
        g = Euclidean.sample(dim, det=det, translation_scale=3.0, generator=gen)
        perm = en_action["perm"](inputs["batch"], seed=det + 5)
        assert_equivariant(
            lambda inp: model(**inp),
            inputs,
            lambda inp, g=g, perm=perm: en_action["inputs"](inp, g, perm),
            en_action["outputs"](g, perm),
            rtol=1e-9,
        )


def test_layer_breaking_the_symmetry_is_detected(graph_batch, en_action):
    """Adding raw coordinates to the invariant features breaks rotation equivariance, and the test sees it."""
    inputs = graph_batch([6], 3, seed=1)
    model = make_model(3)
    g = Euclidean.sample(3, generator=torch.Generator().manual_seed(3))
    perm = torch.arange(6)

    def broken(inp):
        return model(**{**inp, "h": inp["x"][:, :1]})

    assert_sensitive(broken, inputs, lambda inp: en_action["inputs"](inp, g, perm), en_action["outputs"](g, perm))


def test_layer_shapes():
    layer = EGNNLayer(hidden=4, in_vectors=2, edge_features=0)
    edges = torch.tensor([[0, 1, 2], [1, 2, 0]])
    h, x = layer(torch.randn(3, 4), torch.randn(3, 2), torch.randn(3, 2, 2), edges)
    assert h.shape == (3, 4)
    assert x.shape == (3, 2)


def test_bad_input(graph_batch):
    inputs = graph_batch([4, 4], 3)
    model = make_model(3)
    with pytest.raises(ValueError, match=r"x: expected positions of shape \(N, 3\)"):
        model(**{**inputs, "x": inputs["x"][:, :2]})
    with pytest.raises(ValueError, match=r"batch: expected shape \(8,\)"):
        model(**{**inputs, "batch": inputs["batch"][:3]})
    with pytest.raises(ValueError, match="edge_index: expected dtype torch.int64"):
        model(**{**inputs, "edge_index": inputs["edge_index"].float()})
