"""Pointwise nonlinearities: which part of the monomial group each keeps, and which it breaks."""

from __future__ import annotations

import pytest
import torch

from magep_nfn.nn import ScaleEquivariantReLU, SignEquivariantTanh, WeightSpaceActivation, activation_for_group
from weightspace_core import NetworkSpec
from weightspace_core.groups import sample_monomial
from weightspace_core.testing import assert_equivariant, assert_sensitive

RTOL = 1e-12


def test_relu_keeps_scaling(spec: NetworkSpec, make_ws, gen) -> None:
    g = sample_monomial(spec, "scale", generator=gen(2))
    assert_equivariant(ScaleEquivariantReLU(), make_ws(spec), g.act, rtol=RTOL)
    assert_equivariant(ScaleEquivariantReLU(0.1), make_ws(spec), g.act, rtol=RTOL)


def test_relu_breaks_signs(spec: NetworkSpec, make_ws, gen) -> None:
    g = sample_monomial(spec, "sign", generator=gen(2))
    assert_sensitive(ScaleEquivariantReLU(), make_ws(spec), g.act, None)


def test_tanh_keeps_signs(spec: NetworkSpec, make_ws, gen) -> None:
    g = sample_monomial(spec, "sign", generator=gen(2))
    assert_equivariant(SignEquivariantTanh(), make_ws(spec), g.act, rtol=RTOL)


def test_tanh_breaks_scaling(spec: NetworkSpec, make_ws, gen) -> None:
    g = sample_monomial(spec, "scale", generator=gen(2))
    assert_sensitive(SignEquivariantTanh(), make_ws(spec), g.act, None)


def test_activation_for_group() -> None:
    assert isinstance(activation_for_group("scale"), ScaleEquivariantReLU)
    assert isinstance(activation_for_group("sign"), SignEquivariantTanh)
    with pytest.raises(ValueError, match="expected 'scale' or 'sign'"):
        activation_for_group("orthogonal")
    with pytest.raises(ValueError, match="expected a callable"):
        WeightSpaceActivation(3)


def test_generic_activation_maps_every_tensor(make_ws) -> None:
    ws = make_ws(NetworkSpec.mlp([2, 3, 1]))
    out = WeightSpaceActivation(torch.sin)(ws)
    assert all(torch.equal(a, torch.sin(b)) for a, b in zip(out.tensors(), ws.tensors()))
