"""StatFeatures (STATNN) and FlatMLP: what they are invariant to, and that they are not monomial invariant."""

from __future__ import annotations

import pytest
import torch

from magep_nfn.nn import FlatMLP, StatFeatures, mlp
from weightspace_core import NetworkSpec
from weightspace_core.groups import sample_monomial
from weightspace_core.testing import assert_invariant, assert_sensitive

RTOL = 1e-9


def test_stat_features_values(make_ws) -> None:
    spec = NetworkSpec.mlp([2, 8, 1])
    ws = make_ws(spec, batch=3, channels=2)
    feats = StatFeatures(spec, 2)(ws).reshape(3, 2, 4, 7)
    w = ws.weights[0][1, 0].flatten()
    expected = torch.stack(
        [w.mean(), w.var(unbiased=False), *torch.quantile(w, torch.tensor([0, 0.25, 0.5, 0.75, 1.0], dtype=w.dtype))]
    )
    torch.testing.assert_close(feats[1, 0, 0], expected)
    assert StatFeatures(spec, 2).num_outputs == 2 * 4 * 7


def test_stat_features_permutation_invariant(spec: NetworkSpec, make_ws, gen) -> None:
    g = sample_monomial(spec, "permutation", generator=gen(2))
    assert_invariant(StatFeatures(spec, 2), make_ws(spec), g.act, rtol=RTOL)


@pytest.mark.parametrize("kind", ["scale", "sign"])
def test_stat_features_not_monomial_invariant(spec: NetworkSpec, make_ws, gen, kind: str) -> None:
    g = sample_monomial(spec, kind, generator=gen(2))
    assert_sensitive(StatFeatures(spec, 2), make_ws(spec), g.act)


def test_flat_mlp_is_the_mlp_of_the_flat_weights(spec: NetworkSpec, make_ws, gen) -> None:
    model = FlatMLP(spec, 3, hidden=(8,), generator=gen(0)).double()
    ws = make_ws(spec, channels=1)
    torch.testing.assert_close(model(ws), model.net(ws.flatten()))
    assert model(ws).shape == (2, model.num_outputs)


def test_flat_mlp_not_permutation_invariant(spec: NetworkSpec, make_ws, gen) -> None:
    g = sample_monomial(spec, "permutation", generator=gen(2))
    assert_sensitive(FlatMLP(spec, 3, hidden=(8,), generator=gen(0)), make_ws(spec, channels=1), g.act)


def test_mlp_is_seeded() -> None:
    a = mlp(3, [4], 2, generator=torch.Generator().manual_seed(1))
    b = mlp(3, [4], 2, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_bad_input(make_ws) -> None:
    spec = NetworkSpec.mlp([2, 8, 1])
    with pytest.raises(ValueError, match="expected a WeightSpace with spec"):
        StatFeatures(spec)(make_ws(NetworkSpec.mlp([2, 4, 1]), channels=1))
    with pytest.raises(ValueError, match="expected 1 input channels, found 2"):
        FlatMLP(spec, 2)(make_ws(spec, channels=2))
