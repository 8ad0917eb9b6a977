"""NPLinear, HNPLinear and their pools: permutation equivariance/invariance, the negative control that they are
not scale (or sign) equivariant, their input/output symmetry, and that the published ``nfn`` package's layers lie
in their function classes."""

from __future__ import annotations

import pytest
import torch

from magep_nfn.nn import HNPLinear, HNPPool, NPLinear, NPPool
from weightspace_core import NetworkSpec, WeightSpace
from weightspace_core.groups import sample_monomial
from weightspace_core.testing import assert_equivariant, assert_invariant, assert_sensitive

RTOL = 1e-9
LAYERS = [NPLinear, HNPLinear]
POOLS = [NPPool, HNPPool]


@pytest.mark.parametrize("cls", LAYERS)
def test_permutation_equivariant(cls: type, spec: NetworkSpec, make_ws, gen) -> None:
    g = sample_monomial(spec, "permutation", generator=gen(2))
    assert_equivariant(cls(spec, 2, 3, generator=gen(1)), make_ws(spec), g.act, rtol=RTOL)


@pytest.mark.parametrize("cls", POOLS)
def test_pool_permutation_invariant(cls: type, spec: NetworkSpec, make_ws, gen) -> None:
    pool = cls(spec, 2)
    g = sample_monomial(spec, "permutation", generator=gen(2))
    assert_invariant(pool, make_ws(spec), g.act, rtol=RTOL)
    assert pool(make_ws(spec)).shape == (2, pool.num_outputs)


@pytest.mark.parametrize("kind", ["scale", "sign"])
@pytest.mark.parametrize("cls", LAYERS)
def test_negative_control_not_monomial_equivariant(cls: type, kind: str, spec: NetworkSpec, make_ws, gen) -> None:
    g = sample_monomial(spec, kind, generator=gen(2))
    assert_sensitive(cls(spec, 2, 3, generator=gen(1)), make_ws(spec), g.act, None)


@pytest.mark.parametrize("cls", POOLS)
def test_negative_control_pool_not_scale_invariant(cls: type, spec: NetworkSpec, make_ws, gen) -> None:
    g = sample_monomial(spec, "scale", generator=gen(2))
    assert_sensitive(cls(spec, 2), make_ws(spec), g.act)


def _permute_io(ws: WeightSpace, p_in: torch.Tensor, p_out: torch.Tensor) -> WeightSpace:
    weights = list(ws.weights)
    biases = list(ws.biases)
    weights[0] = weights[0][:, :, :, p_in]
    weights[-1] = weights[-1][:, :, p_out]
    biases[-1] = biases[-1][:, :, p_out]
    return WeightSpace(weights, biases)


def test_np_is_also_io_permutation_equivariant_and_hnp_is_not(make_ws, gen) -> None:
    spec = NetworkSpec.mlp([3, 6, 5, 4])
    p_in, p_out = torch.randperm(3, generator=gen(3)), torch.randperm(4, generator=gen(4))

    def act(ws: WeightSpace) -> WeightSpace:
        return _permute_io(ws, p_in, p_out)

    assert_equivariant(NPLinear(spec, 2, 2, generator=gen(1)), make_ws(spec), act, rtol=RTOL)
    assert_sensitive(HNPLinear(spec, 2, 2, generator=gen(1)), make_ws(spec), act, None)


@pytest.mark.parametrize("widths", [[3, 5, 2], [3, 5, 4, 2], [2, 6, 5, 4, 3]])
def test_hnp_all_depths(widths: list[int], make_ws, gen) -> None:
    spec = NetworkSpec.mlp(widths)
    g = sample_monomial(spec, "permutation", generator=gen(2))
    assert_equivariant(HNPLinear(spec, 2, 2, generator=gen(1)), make_ws(spec), g.act, rtol=RTOL)
    assert_equivariant(NPLinear(spec, 2, 2, generator=gen(1)), make_ws(spec), g.act, rtol=RTOL)


@pytest.mark.parametrize(("ours_cls", "theirs_name"), [(NPLinear, "NPLinear"), (HNPLinear, "HNPLinear")])
@pytest.mark.parametrize("spec_text", ["3x2,3x3,2x3", "2x1x1x2,2x2x1x2,2x2"])
def test_spans_the_nfn_package_layer(ours_cls: type, theirs_name: str, spec_text: str, gen) -> None:
    """The published ``nfn`` layer (MIT) is a member of our layer's function class: both are linear in their
    parameters, so least squares over our parameters reproduces theirs on every basis input with no residual."""
    nfn_layers = pytest.importorskip("nfn.layers")
    from nfn.common import WeightSpaceFeatures, network_spec_from_wsfeat

    spec = NetworkSpec.parse(spec_text)
    n = spec.num_params
    inputs = WeightSpace.unflatten(torch.eye(n, dtype=torch.float64), spec)
    theirs = getattr(nfn_layers, theirs_name)(
        network_spec_from_wsfeat(WeightSpaceFeatures(inputs.weights, inputs.biases)), 1, 1
    ).double()
    with torch.no_grad():
        out = theirs(WeightSpaceFeatures(inputs.weights, inputs.biases))
        target = WeightSpace(out.weights, out.biases).flatten().reshape(-1)
    ours = ours_cls(spec, 1, 1, generator=gen(0)).double()
    shapes = {name: p.shape for name, p in ours.named_parameters()}
    sizes = [shape.numel() for shape in shapes.values()]
    columns = []
    # the layer is linear in its parameters (constants are bias parameters): column k is the output at e_k
    for k in range(sum(sizes)):
        flat = torch.zeros(sum(sizes), dtype=torch.float64)
        flat[k] = 1.0
        values = dict(zip(shapes, (v.reshape(shape) for v, shape in zip(flat.split(sizes), shapes.values()))))
        with torch.no_grad():
            columns.append(torch.func.functional_call(ours, values, (inputs,)).flatten().reshape(-1))
    design = torch.stack(columns, dim=1)
    solution = torch.linalg.lstsq(design, target[:, None], driver="gelsd").solution
    residual = (design @ solution)[:, 0] - target
    assert float(residual.norm() / target.norm()) < 1e-8


@pytest.mark.parametrize("cls", LAYERS)
def test_bad_input(cls: type, make_ws) -> None:
    with pytest.raises(ValueError, match="at least 2 layers"):
        cls(NetworkSpec.mlp([3, 2]), 1, 1)
    layer = cls(NetworkSpec.mlp([3, 4, 2]), 2, 2)
    with pytest.raises(ValueError, match="expected a WeightSpace with spec"):
        layer(make_ws(NetworkSpec.mlp([3, 5, 2])))
    with pytest.raises(ValueError, match="expected 2 input channels"):
        layer(make_ws(NetworkSpec.mlp([3, 4, 2]), channels=1))
