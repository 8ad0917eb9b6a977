"""MonomialLinear and MonomialInvariantPool (Monomial-NFN): exact equivariance/invariance and sensitivity."""

from __future__ import annotations

import pytest
import torch

from magep_nfn.nn import MAGEPLinear, MonomialInvariantPool, MonomialLinear
from weightspace_core import NetworkSpec, WeightSpace
from weightspace_core.groups import sample_monomial
from weightspace_core.testing import assert_equivariant, assert_invariant, assert_sensitive

RTOL = 1e-9


@pytest.mark.parametrize("kind", ["scale", "sign"])
def test_linear_equivariant(spec: NetworkSpec, make_ws, gen, kind: str) -> None:
    g = sample_monomial(spec, kind, generator=gen(2))
    assert_equivariant(MonomialLinear(spec, 2, 3, generator=gen(1)), make_ws(spec), g.act, rtol=RTOL)


@pytest.mark.parametrize("kind", ["scale", "sign"])
def test_pool_invariant(spec: NetworkSpec, make_ws, gen, kind: str) -> None:
    g = sample_monomial(spec, kind, generator=gen(2))
    pool = MonomialInvariantPool(spec, 3, group=kind)
    with torch.no_grad():
        pool.gamma.uniform_(0.5, 2.0, generator=gen(4))
        pool.beta.uniform_(-1.0, 1.0, generator=gen(5))
    out = assert_invariant(pool, make_ws(spec, channels=3), g.act, rtol=RTOL)
    assert out <= RTOL
    assert pool(make_ws(spec, channels=3)).shape == (2, pool.num_outputs)


def test_normalized_sign_pool_removes_signs_and_scalings(spec: NetworkSpec, make_ws, gen) -> None:
    """``normalize_sign=True`` (abs, then the scale pool's normalisation) is invariant to signs and to positive
    scalings alike; the default sign pool is not invariant to the scalings (the sensitivity check)."""
    ws = make_ws(spec, channels=3)
    pool = MonomialInvariantPool(spec, 3, group="sign", normalize_sign=True)
    with torch.no_grad():
        pool.gamma.uniform_(0.5, 2.0, generator=gen(4))
        pool.beta.uniform_(-1.0, 1.0, generator=gen(5))
    for kind in ("sign", "scale"):
        assert_invariant(pool, ws, sample_monomial(spec, kind, generator=gen(2)).act, rtol=RTOL)
    assert_sensitive(
        MonomialInvariantPool(spec, 3, group="sign"), ws, sample_monomial(spec, "scale", generator=gen(2)).act
    )
    assert "normalize_sign=True" in repr(pool)


def test_scale_pool_is_not_sign_invariant(spec: NetworkSpec, make_ws, gen) -> None:
    """Without the absolute value the normalised entries keep their signs: the sign group is not removed."""
    g = sample_monomial(spec, "sign", generator=gen(2))
    assert_sensitive(MonomialInvariantPool(spec, 3, group="scale"), make_ws(spec, channels=3), g.act)


def test_pool_without_normalisation_is_not_scale_invariant(spec: NetworkSpec, make_ws, gen) -> None:
    """The sensitivity check: the HNP pool alone (gamma/beta affine, no per-entry normalisation) fails."""
    pool = MonomialInvariantPool(spec, 3, group="scale")
    g = sample_monomial(spec, "scale", generator=gen(2))
    assert_sensitive(lambda ws: pool.pool(ws), make_ws(spec, channels=3), g.act)


def test_sign_pool_is_not_scale_invariant_but_keeps_magnitudes(spec: NetworkSpec, make_ws, gen) -> None:
    """The sign pool removes signs only: a positive scaling moves it, and so does a global change of magnitude,
    which the scale pool's normalisation removes."""
    ws = make_ws(spec, channels=3)
    g = sample_monomial(spec, "scale", generator=gen(2))
    assert_sensitive(MonomialInvariantPool(spec, 3, group="sign"), ws, g.act)
    assert_sensitive(MonomialInvariantPool(spec, 3, group="sign"), ws, lambda w: w * 2.0)
    assert_invariant(MonomialInvariantPool(spec, 3, group="scale"), ws, lambda w: w * 2.0, rtol=RTOL)


def test_linear_is_the_degree_one_part_of_magep(make_ws, gen) -> None:
    """MAGEPLinear with the polynomial coefficients zeroed computes MonomialLinear (same maps, same order)."""
    spec = NetworkSpec.mlp([3, 7, 5, 9, 4, 2])
    d, e = 2, 3
    mono = MonomialLinear(spec, d, e, generator=gen(1)).double()
    magep = MAGEPLinear(spec, d, e, generator=gen(1)).double()
    n0, nl, big_l = spec.widths[0], spec.widths[-1], spec.num_layers
    with torch.no_grad():
        for p in magep.parameters():
            p.zero_()
        # first layer inputs: [W rows (d n0), WW (d n0), bW (d n0), b (d)]
        magep.first.weight[:, : d * n0] = mono.first.weight[:, : d * n0]
        magep.first.weight[:, -d:] = mono.first.weight[:, -d:]
        for hm, hn in zip(magep.hidden_weight, mono.hidden_weight):
            hm.weight[:, :d] = hn.weight
        for hm, hn in zip(magep.hidden_bias, mono.hidden_bias):
            hm.weight[:, :d] = hn.weight
        magep.last_weight.weight[:, : d * nl] = mono.last_weight.weight
        # last bias inputs: [W_(L,0), WW, bW (3 d nL n0), b^(L) (d nL), v, traces]
        start = 3 * d * nl * n0
        magep.last_bias.weight[:, start : start + d * nl] = mono.last_bias.weight
        magep.last_bias.bias.copy_(mono.last_bias.bias)
    assert big_l == 5
    ws = make_ws(spec)
    torch.testing.assert_close(magep(ws).flatten(), mono(ws).flatten())


def test_parameter_count(spec: NetworkSpec, gen) -> None:
    layer = MonomialLinear(spec, 3, 4, generator=gen(0))
    assert sum(p.numel() for p in layer.parameters()) == MonomialLinear.count_parameters(spec, 3, 4)


def test_bad_input(make_ws) -> None:
    with pytest.raises(ValueError, match="at least 2 layers"):
        MonomialLinear(NetworkSpec.mlp([3, 2]), 1, 1)
    with pytest.raises(ValueError, match="expected group 'scale' or 'sign'"):
        MonomialInvariantPool(NetworkSpec.mlp([3, 4, 2]), 1, group="rotation")
    layer = MonomialLinear(NetworkSpec.mlp([3, 4, 2]), 2, 2)
    with pytest.raises(ValueError, match="expected a WeightSpace with spec"):
        layer(make_ws(NetworkSpec.mlp([3, 5, 2])))
    with pytest.raises(ValueError, match="expected 2 input channels"):
        layer(WeightSpace.randn(NetworkSpec.mlp([3, 4, 2]), channels=1))
