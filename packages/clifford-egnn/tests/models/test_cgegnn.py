"""CG-EGNN: E(n) x permutation equivariance in float64 for n = 2, 3, 5 and K = 1, 2; sensitivity; bad input."""

from __future__ import annotations

import pytest
import torch

from clifford_egnn.models import CGEGNN, GraphOutput
from weightspace_core.groups import Euclidean
from weightspace_core.testing import assert_equivariant, assert_sensitive


def make_model(dim: int, hops: int, path_features: bool = True, **kwargs) -> CGEGNN:
    torch.manual_seed(0)
    return CGEGNN(1, 1, 6, 2, hops, path_features, out_scalars=2, dim=dim, edge_features=1, **kwargs).double()


def call(model):
    return lambda inputs: model(**inputs)


@pytest.mark.parametrize("dim", [2, 3, 5])
@pytest.mark.parametrize("hops", [1, 2])
@pytest.mark.parametrize("complete", [False, True], ids=["sparse", "complete"])
def test_equivariant_to_orthogonal_translation_and_permutation(dim, hops, complete, graph_batch, en_action):
    inputs = graph_batch([5, 4], dim, complete=complete, seed=dim + hops)
    model = make_model(dim, hops)
    gen = torch.Generator().manual_seed(10 * dim + hops)
    for det in (1, -1):
        g = Euclidean.sample(dim, det=det, translation_scale=3.0, generator=gen)
        perm = en_action["perm"](inputs["batch"], seed=det + 2)
        err = assert_equivariant(
            call(model),
            inputs,
            lambda inp, g=g, perm=perm: en_action["inputs"](inp, g, perm),
            en_action["outputs"](g, perm),
            rtol=1e-9,
        )
        assert err < 1e-9


@pytest.mark.parametrize("path_aggregation", ["pair", "node"])
def test_path_aggregations_equivariant(path_aggregation, graph_batch, en_action):
    inputs = graph_batch([6], 3, seed=3)
    model = make_model(3, 2, path_aggregation=path_aggregation, aggregation="sum")
    g = Euclidean.sample(3, det=-1, generator=torch.Generator().manual_seed(1))
    perm = en_action["perm"](inputs["batch"])
    assert_equivariant(
        call(model), inputs, lambda inp: en_action["inputs"](inp, g, perm), en_action["outputs"](g, perm), rtol=1e-9
    )


def test_breaking_the_symmetry_is_detected(graph_batch, en_action):
    """A model fed absolute (uncentred) positions as an extra scalar is not translation invariant."""
    inputs = graph_batch([5], 3, seed=4)
    model = make_model(3, 2)
    g = Euclidean.sample(3, generator=torch.Generator().manual_seed(2), translation_scale=3.0)
    perm = torch.arange(5)

    def broken(inp):
        h = torch.cat([inp["h"][:, :0], inp["x"][:, :1]], dim=-1)
        return model(**{**inp, "h": h})

    assert_sensitive(broken, inputs, lambda inp: en_action["inputs"](inp, g, perm), en_action["outputs"](g, perm))


def test_path_features_change_the_function(graph_batch, monkeypatch):
    inputs = graph_batch([6, 5], 3, seed=5)
    model = make_model(3, 2, path_features=True)
    with_paths = model(**inputs).positions
    original = model._path_features
    monkeypatch.setattr(model, "_path_features", lambda x, s: [torch.zeros_like(p) for p in original(x, s)])
    assert not torch.allclose(model(**inputs).positions, with_paths)


def test_cgenn_is_k1_without_paths_and_structure_is_cached(graph_batch):
    inputs = graph_batch([5, 5], 3, complete=True)
    model = make_model(3, 1, path_features=False)
    for _ in range(3):
        out = model(**inputs)
    assert isinstance(out, GraphOutput)
    assert out.positions.shape == (10, 3)
    assert out.scalars.shape == (10, 2)
    assert model.structure_cache.misses == 1
    assert model.structure_cache.hits == 2
    assert len(model.layers[0].message_mlps) == 1


def test_multiple_position_outputs(graph_batch):
    inputs = graph_batch([4], 2)
    model = make_model(2, 1, out_vectors=3)
    assert model(**inputs).positions.shape == (4, 3, 2)


def test_gradients_reach_every_parameter_even_with_an_empty_hop(graph_batch):
    """On complete graphs hop 2 is empty; its message MLP still gets (zero) gradients, as DDP requires."""
    inputs = graph_batch([5, 5], 3, complete=True)
    model = make_model(3, 2)
    out = model(**inputs)
    (out.positions.sum() + out.scalars.sum()).backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda inp: {**inp, "x": inp["x"][:, :2]}, r"x: expected positions of shape \(N, 3\)"),
        (lambda inp: {**inp, "edge_index": inp["edge_index"] + 100}, r"edge_index: expected node indices in \[0, 9\)"),
        (lambda inp: {**inp, "edge_index": inp["edge_index"].int()}, "edge_index: expected dtype torch.int64"),
        (lambda inp: {**inp, "edge_index": inp["edge_index"][:1]}, r"edge_index: expected shape \(2, E\)"),
        (lambda inp: {**inp, "batch": inp["batch"][:-1]}, r"batch: expected shape \(9,\)"),
        (lambda inp: {**inp, "v": inp["v"][:, :, :2]}, "v: expected vector features"),
        (lambda inp: {**inp, "h": inp["h"][:-1]}, "h: expected scalar features"),
        (lambda inp: {**inp, "edge_attr": inp["edge_attr"][:-1]}, "edge_attr: expected shape"),
        (lambda inp: {**inp, "edge_attr": None}, "edge_attr: expected shape"),
    ],
)
def test_bad_input_raises_value_error_naming_the_tensor(change, match, graph_batch):
    inputs = graph_batch([5, 4], 3)
    model = make_model(3, 2)
    with pytest.raises(ValueError, match=match):
        model(**change(inputs))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="hops"):
        CGEGNN(1, 1, 4, 1, hops=0, path_features=True)
    with pytest.raises(ValueError, match="path_aggregation"):
        CGEGNN(1, 1, 4, 1, hops=1, path_features=True, path_aggregation="edge")
    with pytest.raises(ValueError, match="aggregation"):
        CGEGNN(1, 1, 4, 1, hops=1, path_features=True, aggregation="max")
