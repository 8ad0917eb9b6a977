"""MAGEPLinear and MAGEPInvariant: exact equivariance/invariance, the stable terms against the spec's formulas,
parameter counts, the normalisation, sensitivity to miswired terms, and bad input."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from magep_nfn.nn import MAGEPInvariant, MAGEPLinear, StableTerms, spatial_matrices, stable_terms
from weightspace_core import NetworkSpec, WeightSpace
from weightspace_core.groups import sample_monomial
from weightspace_core.testing import assert_equivariant, assert_invariant, assert_sensitive, relative_error

RTOL = 1e-9


def _chain_product(mats: list[torch.Tensor], s: int, t: int) -> torch.Tensor:
    """``W_(s,t) = W^(s) ... W^(t+1)`` straight from the definition (identity when s == t)."""
    n = mats[t].shape[-1] if t < len(mats) else mats[-1].shape[-2]
    out = torch.eye(n, dtype=mats[0].dtype).expand(*mats[0].shape[:2], n, n)
    for i in range(t + 1, s + 1):
        out = mats[i - 1] @ out
    return out


@pytest.mark.parametrize("kind", ["scale", "sign"])
@pytest.mark.parametrize("normalize", [False, True])
def test_linear_equivariant(spec: NetworkSpec, make_ws, gen, kind: str, normalize: bool) -> None:
    layer = MAGEPLinear(spec, 2, 3, normalize=normalize, generator=gen(1))
    g = sample_monomial(spec, kind, scale_range=(1e-2, 1e2), generator=gen(2))
    assert_equivariant(layer, make_ws(spec), g.act, rtol=RTOL)


@pytest.mark.parametrize("kind", ["scale", "sign"])
@pytest.mark.parametrize("normalize", [False, True])
def test_invariant_invariant(spec: NetworkSpec, make_ws, gen, kind: str, normalize: bool) -> None:
    head = MAGEPInvariant(spec, 2, 5, normalize=normalize, generator=gen(1))
    g = sample_monomial(spec, kind, generator=gen(3))
    assert_invariant(head, make_ws(spec), g.act, rtol=RTOL)


def test_one_element_per_network(spec: NetworkSpec, make_ws, gen) -> None:
    layer = MAGEPLinear(spec, 2, 2, generator=gen(1))
    g = sample_monomial(spec, "scale", num_elements=3, generator=gen(4))
    assert_equivariant(layer, make_ws(spec, batch=3), g.act, rtol=RTOL)


def test_two_layer_network(make_ws, gen) -> None:
    spec = NetworkSpec.mlp([3, 5, 2])
    g = sample_monomial(spec, "scale", generator=gen(2))
    assert_equivariant(MAGEPLinear(spec, 2, 3, generator=gen(1)), make_ws(spec), g.act, rtol=RTOL)
    assert_invariant(MAGEPInvariant(spec, 2, 3, generator=gen(1)), make_ws(spec), g.act, rtol=RTOL)


def test_stable_terms_match_spec_formulas(spec: NetworkSpec, make_ws, gen) -> None:
    """Every term from the O(L) recursions equals the spec's definition evaluated directly."""
    ws = make_ws(spec, channels=2)
    big_l, n0, nl = spec.num_layers, spec.widths[0], spec.widths[-1]
    psi_ww = torch.randn(2, n0, nl, dtype=torch.float64, generator=gen(5))
    psi_bw = torch.randn(2, nl, dtype=torch.float64, generator=gen(6))
    psi_tr = torch.randn(2, nl, dtype=torch.float64, generator=gen(7))
    terms = stable_terms(ws, psi_ww, psi_bw, psi_tr)
    mats = spatial_matrices(ws)
    b = list(ws.biases)
    for s in range(1, big_l + 1):
        torch.testing.assert_close(terms.product(s), _chain_product(mats, s, 0))
        for t in range(s):
            w_lt = _chain_product(mats, big_l, t)
            expected_ww = _chain_product(mats, s, 0) @ psi_ww @ w_lt
            expected_bw = b[s - 1][..., :, None] * torch.einsum("cl,bclt->bct", psi_bw, w_lt)[..., None, :]
            torch.testing.assert_close(terms.ww(s, t), expected_ww)
            torch.testing.assert_close(terms.bw(s, t), expected_bw)
        expected_v = sum(
            (_chain_product(mats, s, t) @ b[t - 1][..., None])[..., 0] for t in range(1, s)
        ) + torch.zeros_like(b[s - 1])
        torch.testing.assert_close(terms.chain[s - 1], expected_v)
    for s in range(1, big_l):
        w_ls = _chain_product(mats, big_l, s)
        trace = torch.einsum("cl,bcls,bcs->bc", psi_tr, w_ls, b[s - 1])
        # tr(b^(s) Psi''' W_(L,s)) with b^(s) a column: the same number
        full = torch.einsum("bci,cl,bclj->bcij", b[s - 1], psi_tr, w_ls).diagonal(dim1=-2, dim2=-1).sum(-1)
        torch.testing.assert_close(terms.traces[..., s - 1], trace)
        torch.testing.assert_close(full, trace)


def test_linear_matches_the_spec_equations(make_ws, gen) -> None:
    """MAGEPLinear's output, layer by layer, against the equations of spec section 3 written out term by term
    with einsum (terms from their definitions, coefficients sliced from the layer's maps)."""
    spec = NetworkSpec.mlp([3, 5, 4, 2])
    d, e, big_l, n0, nl = 2, 3, 3, 3, 2
    layer = MAGEPLinear(spec, d, e, generator=gen(1)).double()
    ws = make_ws(spec, channels=d)
    mats, b = list(ws.weights), list(ws.biases)
    psi_ww, psi_bw, psi_tr = layer.psi_ww, layer.psi_bw, layer.psi_tr

    def prod(s: int, t: int) -> torch.Tensor:
        return _chain_product(mats, s, t)

    def ww(s: int, t: int) -> torch.Tensor:
        return prod(s, 0) @ psi_ww @ prod(big_l, t)

    def bw(s: int, t: int) -> torch.Tensor:
        return b[s - 1][..., :, None] * torch.einsum("cl,bclt->bct", psi_bw, prod(big_l, t))[..., None, :]

    def v(s: int) -> torch.Tensor:
        return sum((prod(s, t) @ b[t - 1][..., None])[..., 0] for t in range(1, s)) + torch.zeros_like(b[s - 1])

    with torch.no_grad():
        out = layer(ws)
        # first layer: th_qk maps over (channel, input index q) for each output index k; th4_k over channels
        th = layer.first.weight[: e * n0].reshape(e, n0, 3 * d * n0 + d)
        th1, th2, th3 = (th[..., i * d * n0 : (i + 1) * d * n0].reshape(e, n0, d, n0) for i in range(3))
        th4 = th[..., 3 * d * n0 :]
        expected = (
            torch.einsum("okcq,bcjq->bojk", th1, mats[0])
            + torch.einsum("okcq,bcjq->bojk", th2, ww(1, 0))
            + torch.einsum("okcq,bcjq->bojk", th3, bw(1, 0))
            + torch.einsum("okc,bcj->bojk", th4, b[0])
        )
        torch.testing.assert_close(out.weights[0], expected)
        ph = layer.first.weight[e * n0 :]
        ph1, ph2, ph3 = (ph[:, i * d * n0 : (i + 1) * d * n0].reshape(e, d, n0) for i in range(3))
        expected = (
            torch.einsum("ocq,bcjq->boj", ph1, mats[0])
            + torch.einsum("ocq,bcjq->boj", ph2, ww(1, 0))
            + torch.einsum("ocq,bcjq->boj", ph3, bw(1, 0))
            + torch.einsum("oc,bcj->boj", ph[:, 3 * d * n0 :], b[0])
        )
        torch.testing.assert_close(out.biases[0], expected)
        # hidden layer i = 2: A W + B [WW]_(2,1) + C [bW]_(2,1); biases from W_(2,0), [WW]_(2,0), [bW]_(2,0), v, b
        a, bb, c = layer.hidden_weight[0].weight.split(d, dim=1)
        expected = (
            torch.einsum("oc,bcjk->bojk", a, mats[1])
            + torch.einsum("oc,bcjk->bojk", bb, ww(2, 1))
            + torch.einsum("oc,bcjk->bojk", c, bw(2, 1))
        )
        torch.testing.assert_close(out.weights[1], expected)
        q, ph1, ph2, ph3, p = layer.hidden_bias[0].weight.split([d, d * n0, d * n0, d * n0, d], dim=1)
        expected = (
            torch.einsum("ocq,bcjq->boj", ph1.reshape(e, d, n0), prod(2, 0))
            + torch.einsum("ocq,bcjq->boj", ph2.reshape(e, d, n0), ww(2, 0))
            + torch.einsum("ocq,bcjq->boj", ph3.reshape(e, d, n0), bw(2, 0))
            + torch.einsum("oc,bcj->boj", p, v(2))
            + torch.einsum("oc,bcj->boj", q, b[1])
        )
        torch.testing.assert_close(out.biases[1], expected)
        # last layer: al_pj, be_pj, ga_pj map over (channel, output index p) for each output index j
        al, be, ga = (m.reshape(e, nl, d, nl) for m in layer.last_weight.weight.split(d * nl, dim=1))
        expected = (
            torch.einsum("ojcp,bcpk->bojk", al, mats[2])
            + torch.einsum("ojcp,bcpk->bojk", be, ww(3, 2))
            + torch.einsum("ojcp,bcpk->bojk", ga, bw(3, 2))
        )
        torch.testing.assert_close(out.weights[2], expected)
        traces = torch.stack(
            [torch.einsum("cl,bcls,bcs->bc", psi_tr, prod(big_l, s), b[s - 1]) for s in range(1, big_l)], dim=-1
        )
        sizes = [d * nl * n0] * 3 + [d * nl, d * nl, d * (big_l - 1)]
        maps = layer.last_bias.weight.reshape(e, nl, -1).split(sizes, dim=2)
        feats = [prod(3, 0), ww(3, 0), bw(3, 0), b[2], v(3), traces]
        expected = sum(torch.einsum("ojf,bf->boj", m, f.flatten(1)) for m, f in zip(maps, feats))
        expected = expected + layer.last_bias.bias.reshape(e, nl)
        torch.testing.assert_close(out.biases[2], expected)


def test_conv_products_use_summed_kernels(make_ws) -> None:
    spec = NetworkSpec.parse("4x1x3x3,4x4x3x3,3x4")
    ws = make_ws(spec)
    mats = spatial_matrices(ws)
    torch.testing.assert_close(mats[1], ws.weights[1].sum(dim=(-2, -1)))
    assert mats[2] is ws.weights[2]


def test_normalized_terms_are_the_raw_terms_rescaled(spec: NetworkSpec, make_ws, gen) -> None:
    """With the gain normalisation, a product of m matrices is divided by kappa^(m-1) and a bias term by
    kappa^m (module docstring), where kappa is the path-norm gain."""
    ws = make_ws(spec, channels=2)
    layer = MAGEPLinear(spec, 2, 2, normalize=True, generator=gen(1))
    raw = stable_terms(ws, layer.psi_ww, layer.psi_bw, layer.psi_tr, normalize=False)
    norm = stable_terms(ws, layer.psi_ww, layer.psi_bw, layer.psi_tr, normalize=True)
    assert norm.kappa is not None
    big_l = spec.num_layers
    paths = _chain_product([m.abs() for m in spatial_matrices(ws)], big_l, 0)
    kappa = paths.pow(2).mean(dim=(-2, -1)).sqrt() ** (1 / big_l)
    assert bool((kappa > 1).all()), "the test needs gains above the floor min_gain = 1"
    torch.testing.assert_close(norm.kappa, kappa)
    k = kappa[..., None, None]
    for s in range(1, big_l + 1):
        torch.testing.assert_close(norm.product(s), raw.product(s) / k ** (s - 1))
        torch.testing.assert_close(norm.ww(s, s - 1), raw.ww(s, s - 1) / k**big_l)
        torch.testing.assert_close(norm.bw(s, 0), raw.bw(s, 0) / k**big_l)


def test_normalized_layer_is_homogeneous_of_degree_one(make_ws, gen) -> None:
    """Every normalised term scales like the input: E(c U) = c E(U) up to the last bias's constant."""
    spec = NetworkSpec.mlp([3, 7, 5, 9, 4, 2])
    ws = make_ws(spec) * 3.0
    layer = MAGEPLinear(spec, 2, 2, normalize=True, generator=gen(1)).double()
    with torch.no_grad():
        layer.last_bias.bias.zero_()
        err = relative_error(layer(ws * 2.5), layer(ws) * 2.5)
        raw = MAGEPLinear(spec, 2, 2, normalize=False, generator=gen(1)).double()
        raw.last_bias.bias.zero_()
        raw_err = relative_error(raw(ws * 2.5), raw(ws) * 2.5)
    assert err < 1e-12
    assert raw_err > 1e-3


def test_normalization_only_removes_growth(make_ws, gen) -> None:
    """With the default floor min_gain = 1, inputs whose per-layer gain is below 1 give the raw polynomial;
    a lower floor rescales them too."""
    spec = NetworkSpec.mlp([3, 7, 5, 9, 4, 2])
    small = make_ws(spec) * 0.05
    raw = MAGEPLinear(spec, 2, 2, generator=gen(1)).double()
    floored = MAGEPLinear(spec, 2, 2, normalize=True, generator=gen(1)).double()
    rescaled = MAGEPLinear(spec, 2, 2, normalize=True, min_gain=1e-3, generator=gen(1)).double()
    with torch.no_grad():
        assert relative_error(floored(small), raw(small)) < 1e-14
        assert relative_error(rescaled(small), raw(small)) > 1e-3


def test_normalization_prevents_overflow_in_float32(gen) -> None:
    """A deep, wide input whose raw products overflow float32 stays finite (and equivariant) when normalised."""
    spec = NetworkSpec.mlp([4] + [16] * 11 + [4])
    ws = WeightSpace.randn(spec, batch_size=2, generator=gen(0)) * 1e3
    raw = MAGEPLinear(spec, 1, 2, generator=gen(1))
    normed = MAGEPLinear(spec, 1, 2, normalize=True, generator=gen(1))
    with torch.no_grad():
        assert not all(torch.isfinite(t).all() for t in raw(ws).tensors())
        assert all(torch.isfinite(t).all() for t in normed(ws).tensors())
    g = sample_monomial(spec, "scale", generator=gen(2))
    assert_equivariant(normed, ws, g.act, rtol=RTOL)


def test_normalization_handles_a_dead_channel(gen) -> None:
    """A channel whose last layer is zero (no path survives) gives finite output and stays equivariant."""
    spec = NetworkSpec.mlp([3, 6, 6, 2])
    ws = WeightSpace.randn(spec, batch_size=2, channels=2, dtype=torch.float64, generator=gen(0))
    weights = list(ws.weights)
    weights[-1] = weights[-1].clone()
    weights[-1][:, 1] = 0.0
    ws = WeightSpace(weights, ws.biases)
    layer = MAGEPLinear(spec, 2, 2, normalize=True, generator=gen(1))
    g = sample_monomial(spec, "scale", generator=gen(2))
    assert_equivariant(layer, ws, g.act, rtol=RTOL)


def test_parameter_counts(spec: NetworkSpec, gen) -> None:
    layer = MAGEPLinear(spec, 3, 4, generator=gen(0))
    assert sum(p.numel() for p in layer.parameters()) == MAGEPLinear.count_parameters(spec, 3, 4)
    frozen = MAGEPLinear(spec, 3, 4, learn_psi=False, generator=gen(0))
    assert sum(p.numel() for p in frozen.parameters()) == MAGEPLinear.count_parameters(spec, 3, 4, learn_psi=False)
    n0, nl, big_l = spec.widths[0], spec.widths[-1], spec.num_layers
    head = MAGEPInvariant(spec, 3, 4, generator=gen(0))
    expected = (3 * (3 * nl * n0 + 2 * nl + big_l - 1) + 1) * 4 + 3 * (n0 * nl + 2 * nl)
    assert sum(p.numel() for p in head.parameters()) == expected


def test_frozen_psi_are_buffers_and_get_no_gradient(make_ws, gen) -> None:
    spec = NetworkSpec.mlp([2, 8, 8, 1])
    learn = MAGEPLinear(spec, 2, 2, generator=gen(0)).double()
    frozen = MAGEPLinear(spec, 2, 2, learn_psi=False, generator=gen(0)).double()
    assert isinstance(learn.psi_ww, torch.nn.Parameter)
    assert "psi_ww" in dict(frozen.named_buffers())
    assert "psi_ww" not in dict(frozen.named_parameters())
    ws = make_ws(spec)
    torch.testing.assert_close(learn(ws).flatten(), frozen(ws).flatten())
    sum(t.sum() for t in learn(ws).tensors()).backward()
    assert learn.psi_ww.grad is not None
    assert float(learn.psi_ww.grad.abs().sum()) > 0
    assert learn.psi_bw.grad is not None
    assert learn.psi_tr.grad is not None


def test_gradients_reach_every_parameter(spec: NetworkSpec, make_ws, gen) -> None:
    layer = MAGEPLinear(spec, 2, 2, normalize=True, generator=gen(0)).double()
    head = MAGEPInvariant(spec, 2, 2, generator=gen(0)).double()
    (head(layer(make_ws(spec))).sum()).backward()
    for name, p in [*layer.named_parameters(), *head.named_parameters()]:
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert float(p.grad.abs().sum()) > 0, name


@pytest.mark.parametrize(
    ("spec_text", "normalize"),
    [("2x1x2x2,2x2x2x2,2x2x2x2,2x2", False), ("2x1x2x2,2x2x2x2,2x2x2x2,2x2", True)],
)
def test_gradients_match_finite_differences(spec_text: str, normalize: bool, gen) -> None:
    """First and second derivatives with respect to the input weights and every parameter against finite
    differences (the hidden layers use a hand-written backward)."""
    spec = NetworkSpec.parse(spec_text)
    layer = MAGEPLinear(spec, 1, 2, normalize=normalize, generator=gen(0)).double()
    ws = WeightSpace.randn(spec, batch_size=2, channels=1, dtype=torch.float64, generator=gen(1))
    inputs = [t.clone().requires_grad_() for t in ws.tensors()]
    names = [name for name, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in layer.parameters()]
    big_l = spec.num_layers

    def fn(*args: torch.Tensor) -> torch.Tensor:
        t, p = args[: 2 * big_l], args[2 * big_l :]
        out = torch.func.functional_call(layer, dict(zip(names, p)), (WeightSpace(t[0::2], t[1::2]),))
        return out.flatten()

    assert torch.autograd.gradcheck(fn, (*inputs, *params), fast_mode=True)
    assert torch.autograd.gradgradcheck(fn, (*inputs, *params), fast_mode=True)


def test_output_shapes_and_dtype(spec: NetworkSpec, gen) -> None:
    layer = MAGEPLinear(spec, 1, 3, generator=gen(0))
    ws = WeightSpace.randn(spec, batch_size=4, generator=gen(1))
    out = layer(ws)
    assert out.spec == spec
    assert out.channels == 3
    assert out.batch_size == 4
    assert out.dtype == torch.float32
    assert MAGEPInvariant(spec, 1, 7, generator=gen(0))(ws).shape == (4, 7)


def test_seeded_construction_is_reproducible(gen) -> None:
    spec = NetworkSpec.mlp([2, 8, 8, 1])
    a, b = MAGEPLinear(spec, 2, 2, generator=gen(3)), MAGEPLinear(spec, 2, 2, generator=gen(3))
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(p, q), name


# ----------------------------------------------------------------------------- sensitivity: miswired terms


def _fields(terms: StableTerms) -> dict[str, object]:
    return {f.name: getattr(terms, f.name) for f in dataclasses.fields(terms)}


class _BiasOfPreviousLayerInBW(StableTerms):
    """[bW]_(s,t) built with b^(s-1) instead of b^(s) where the widths allow: a term wired to the wrong layer."""

    def bw(self, s: int, t: int) -> torch.Tensor:
        b = self.biases[s - 1]
        if s > 1 and self.biases[s - 2].shape == b.shape:
            b = self.biases[s - 2]
        return b[..., :, None] * self.suffix[t][..., self.n0, None, :]


class _MiswiredBW(MAGEPLinear):
    def _stable(self, ws: WeightSpace) -> StableTerms:
        return _BiasOfPreviousLayerInBW(**_fields(super()._stable(ws)))


class _MiswiredChain(MAGEPLinear):
    """v_s = W^(s) (v_{s-1} + b^(s)) instead of b^(s-1) (fits only equal widths)."""

    def _stable(self, ws: WeightSpace) -> StableTerms:
        terms = super()._stable(ws)
        mats, b = spatial_matrices(ws), ws.biases
        chain = [terms.chain[0]]
        for s in range(1, len(mats)):
            bias = b[s] if b[s].shape == b[s - 1].shape else b[s - 1]
            chain.append((mats[s] @ (chain[-1] + bias)[..., None])[..., 0])
        return StableTerms(**{**_fields(terms), "chain": chain})


class _MiswiredTraces(MAGEPInvariant):
    """tr(b^(s+1) Psi''' W_(L,s)) for s = 1 instead of b^(s)."""

    def _stable(self, ws: WeightSpace) -> StableTerms:
        terms = super()._stable(ws)
        traces = terms.traces.clone()
        traces[..., 0] = (terms.suffix[1][..., terms.n0 + 1, :] * ws.biases[1]).sum(-1)
        return StableTerms(**{**_fields(terms), "traces": traces})


class _PsiOutsideTheFixedEnds(MAGEPInvariant):
    """[WW]_(L,0) as W_(L,1) Psi' W_(1,0)-like: Psi placed between two hidden ends instead of the fixed ones."""

    def _stable(self, ws: WeightSpace) -> StableTerms:
        terms = super()._stable(ws)
        mats = spatial_matrices(ws)
        hidden = mats[0] @ mats[0].transpose(-1, -2)  # (n_1, n_1): g_1-conjugated, not invariant under scaling
        prefix = list(terms.prefix)
        prefix[-1] = _chain_product(mats, len(mats), 1) @ hidden @ mats[0]
        return StableTerms(**{**_fields(terms), "prefix": prefix})


@pytest.mark.parametrize("kind", ["scale", "sign"])
def test_sensitive_to_bias_of_wrong_layer_in_bw(equal_widths_spec: NetworkSpec, make_ws, gen, kind: str) -> None:
    spec = equal_widths_spec
    g = sample_monomial(spec, kind, generator=gen(2))
    ws = make_ws(spec)
    assert_equivariant(MAGEPLinear(spec, 2, 2, generator=gen(1)), ws, g.act, rtol=RTOL)
    assert_sensitive(_MiswiredBW(spec, 2, 2, generator=gen(1)), ws, g.act, None)


def test_sensitive_to_wrong_bias_in_chain(make_ws, gen) -> None:
    spec = NetworkSpec.parse("16x1x3x3,16x16x3x3,16x16x3x3,10x16")
    g = sample_monomial(spec, "scale", generator=gen(2))
    assert_sensitive(_MiswiredChain(spec, 2, 2, generator=gen(1)), make_ws(spec), g.act, None)


def test_invariant_sensitive_to_miswired_traces(equal_widths_spec: NetworkSpec, make_ws, gen) -> None:
    spec = equal_widths_spec
    g = sample_monomial(spec, "scale", generator=gen(2))
    assert_sensitive(_MiswiredTraces(spec, 2, 3, generator=gen(1)), make_ws(spec), g.act)


def test_invariant_sensitive_to_psi_between_hidden_ends(spec: NetworkSpec, make_ws, gen) -> None:
    g = sample_monomial(spec, "scale", generator=gen(2))
    assert_sensitive(_PsiOutsideTheFixedEnds(spec, 2, 3, generator=gen(1)), make_ws(spec), g.act)


def test_not_invariant_to_input_or_output_permutations(make_ws, gen) -> None:
    """The input and output neurons are fixed (g_0 = g_L = I): permuting them must change the output."""
    spec = NetworkSpec.mlp([3, 6, 6, 4])
    head = MAGEPInvariant(spec, 2, 3, generator=gen(1))
    ws = make_ws(spec)
    perm = torch.randperm(4, generator=gen(9))

    def permute_outputs(x: WeightSpace) -> WeightSpace:
        weights = [*x.weights[:-1], x.weights[-1][:, :, perm]]
        return WeightSpace(weights, [*x.biases[:-1], x.biases[-1][:, :, perm]])

    assert_sensitive(head, ws, permute_outputs)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("cls", [MAGEPLinear, MAGEPInvariant])
def test_rejects_fewer_than_two_layers(cls: type) -> None:
    with pytest.raises(ValueError, match="at least 2 layers"):
        cls(NetworkSpec.mlp([3, 2]), 1, 1)


@pytest.mark.parametrize("cls", [MAGEPLinear, MAGEPInvariant])
def test_rejects_mismatched_input(cls: type, make_ws) -> None:
    spec = NetworkSpec.mlp([2, 8, 8, 1])
    layer = cls(spec, 2, 2)
    with pytest.raises(ValueError, match="expected a WeightSpace with spec '8x2,8x8,1x8', found '8x2,1x8'"):
        layer(make_ws(NetworkSpec.mlp([2, 8, 1])))
    with pytest.raises(ValueError, match="expected 2 input channels, found 3"):
        layer(make_ws(spec, channels=3))
    with pytest.raises(ValueError, match="expected a WeightSpace"):
        layer(torch.zeros(2, 3))


@pytest.mark.parametrize("kwargs", [{"in_channels": 0}, {"out_channels": -1}, {"min_gain": 0.0}])
def test_rejects_bad_arguments(kwargs: dict[str, float]) -> None:
    args = {"in_channels": 1, "out_channels": 1, **kwargs}
    with pytest.raises(ValueError, match="expected"):
        MAGEPLinear(NetworkSpec.mlp([2, 8, 1]), **args)  # type: ignore[arg-type]
