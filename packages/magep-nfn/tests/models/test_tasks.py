"""The task models end to end: invariance (equivariance for editing) for every backbone, the negative controls,
and the editor's output loaded into real networks that run."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from magep_nfn.models import (
    BACKBONES,
    VARIANT_BACKBONES,
    GeneralizationPredictor,
    INRClassifier,
    InvariantModel,
    WeightEditor,
    equivariant_stack,
    stack_nonlinearity,
)
from magep_nfn.nn import MAGEPInvariant, MonomialInvariantPool, ScaleEquivariantReLU, SignEquivariantTanh
from weightspace_core import NetworkSpec, WeightSpace
from weightspace_core.groups import sample_monomial
from weightspace_core.testing import (
    assert_equivariant,
    assert_function_preserved,
    assert_invariant,
    assert_sensitive,
    relative_error,
)

RTOL = 1e-9
SMALL = {"hidden_channels": 3, "num_layers": 2}


def _invariant_model(task: str, spec: NetworkSpec, backbone: str, group: str, seed: int = 1) -> nn.Module:
    gen = torch.Generator().manual_seed(seed)
    if task == "generalization":
        return GeneralizationPredictor(spec, backbone, group=group, invariant_features=8, generator=gen, **SMALL)
    return INRClassifier(spec, 4, backbone, group=group, invariant_features=8, generator=gen, **SMALL)


@pytest.mark.parametrize("task", ["generalization", "inr"])
@pytest.mark.parametrize("backbone", ["magep", "monomial", "magep_pooled", "monomial_normalized"])
@pytest.mark.parametrize("group", ["scale", "sign"])
def test_monomial_backbones_invariant_end_to_end(
    task: str, backbone: str, group: str, spec: NetworkSpec, make_ws, gen
) -> None:
    model = _invariant_model(task, spec, backbone, group)
    g = sample_monomial(spec, group, generator=gen(2))
    assert_invariant(model, make_ws(spec, batch=3, channels=1), g.act, rtol=RTOL)


@pytest.mark.parametrize("backbone", ["magep", "monomial", "magep_pooled", "monomial_normalized"])
def test_scale_model_is_not_sign_invariant(backbone: str, spec: NetworkSpec, make_ws, gen) -> None:
    """ReLU between the layers keeps scalings but not signs: the sensitivity check of the end-to-end test."""
    model = _invariant_model("generalization", spec, backbone, "scale")
    g = sample_monomial(spec, "sign", generator=gen(2))
    assert_sensitive(model, make_ws(spec, batch=3, channels=1), g.act, min_error=1e-4)


@pytest.mark.parametrize("group", ["scale", "sign"])
@pytest.mark.parametrize("backbone", ["np", "hnp", "stat"])
def test_permutation_backbones_invariant_and_not_scale_or_sign_invariant(
    backbone: str, group: str, spec: NetworkSpec, make_ws, gen
) -> None:
    model = _invariant_model("generalization", spec, backbone, group)
    ws = make_ws(spec, batch=3, channels=1)
    assert_invariant(model, ws, sample_monomial(spec, "permutation", generator=gen(2)).act, rtol=RTOL)
    assert_sensitive(model, ws, sample_monomial(spec, group, generator=gen(3)).act, min_error=1e-4)


@pytest.mark.parametrize("backbone", ["np", "hnp"])
def test_permutation_backbones_use_relu_for_either_group(backbone: str, spec: NetworkSpec) -> None:
    """tanh would add no symmetry to a permutation-only backbone: it keeps NFN's ReLU for the sign group too,
    while the monomial backbones switch to tanh."""
    for group in ("scale", "sign"):
        stack = equivariant_stack(spec, backbone, [1, 3, 3], group, generator=torch.Generator().manual_seed(0))
        assert [type(m) for m in stack[1::2]] == [ScaleEquivariantReLU, ScaleEquivariantReLU]
    assert isinstance(stack_nonlinearity("magep", "sign"), SignEquivariantTanh)
    assert isinstance(stack_nonlinearity("monomial", "sign"), SignEquivariantTanh)


def test_flat_mlp_backbone_respects_nothing(spec: NetworkSpec, make_ws, gen) -> None:
    model = _invariant_model("inr", spec, "mlp", "sign")
    assert_sensitive(
        model, make_ws(spec, batch=3, channels=1), sample_monomial(spec, "permutation", generator=gen(2)).act
    )


@pytest.mark.parametrize("backbone", [*BACKBONES, *VARIANT_BACKBONES])
def test_output_shapes(backbone: str, gen) -> None:
    spec = NetworkSpec.mlp([2, 8, 8, 1])
    ws = WeightSpace.randn(spec, batch_size=5, generator=gen(0))
    acc = _invariant_model("generalization", spec, backbone, "scale")(ws)
    assert acc.shape == (5,)
    assert bool(((acc > 0) & (acc < 1)).all())
    assert _invariant_model("inr", spec, backbone, "sign")(ws).shape == (5, 4)


def test_pooled_variant_sees_even_statistics_that_magep_does_not(gen) -> None:
    """Two sign-group networks that differ only in the size of the output weights of two hidden neurons whose
    incoming weights are zero: every path product through those neurons vanishes, so the spec's MAGEP invariants
    agree exactly, while the pooled variant's Monomial head (mean |W3|) tells them apart."""
    spec = NetworkSpec.mlp([2, 4, 4, 1])
    ws = WeightSpace.randn(spec, batch_size=1, dtype=torch.float64, generator=gen(0))
    w2 = ws.weights[1].clone()
    w2[..., :2, :] = 0.0
    b2 = ws.biases[1].clone()
    b2[..., :2] = 0.0
    w3 = ws.weights[2].clone()
    base = WeightSpace([ws.weights[0], w2, w3], [ws.biases[0], b2, ws.biases[2]])
    w3_other = w3.clone()
    w3_other[..., :2] *= 3.0
    other = WeightSpace([ws.weights[0], w2, w3_other], [ws.biases[0], b2, ws.biases[2]])
    head = MAGEPInvariant(spec, 1, 6, generator=gen(1)).double()
    assert relative_error(head(other), head(base)) < 1e-12
    pool = MonomialInvariantPool(spec, 1, group="sign").double()
    assert relative_error(pool(other), pool(base)) > 1e-2


@pytest.mark.parametrize("backbone", ["magep", "monomial", "hnp", "np"])
@pytest.mark.parametrize("group", ["scale", "sign"])
def test_editor_equivariant_end_to_end(backbone: str, group: str, spec: NetworkSpec, make_ws, gen) -> None:
    editor = WeightEditor(
        spec, backbone, hidden_channels=3, num_layers=3, group=group, gamma_init=0.5, generator=gen(1)
    )
    kind = group if backbone in ("magep", "monomial") else "permutation"
    g = sample_monomial(spec, kind, generator=gen(2))
    assert_equivariant(editor, make_ws(spec, batch=2, channels=1), g.act, rtol=RTOL)


@pytest.mark.parametrize("backbone", ["hnp", "np"])
def test_editor_negative_control(backbone: str, make_ws, gen) -> None:
    spec = NetworkSpec.mlp([2, 8, 8, 1])
    editor = WeightEditor(spec, backbone, hidden_channels=3, gamma_init=0.5, generator=gen(1))
    assert_sensitive(editor, make_ws(spec, channels=1), sample_monomial(spec, "scale", generator=gen(2)).act, None)


def test_frozen_psi_models_stay_invariant(spec: NetworkSpec, make_ws, gen) -> None:
    model = GeneralizationPredictor(spec, "magep", learn_psi=False, generator=gen(1), **SMALL)
    editor = WeightEditor(spec, "magep", learn_psi=False, hidden_channels=3, gamma_init=0.5, generator=gen(1))
    assert not any("psi" in name for name, _ in model.named_parameters())
    assert any("psi" in name for name, _ in model.named_buffers())
    g = sample_monomial(spec, "scale", generator=gen(2))
    assert_invariant(model, make_ws(spec, channels=1), g.act, rtol=RTOL)
    assert_equivariant(
        editor, make_ws(spec, channels=1), sample_monomial(spec, "sign", generator=gen(3)).act, rtol=RTOL
    )


def test_editor_is_u_plus_gamma_update(make_ws, gen) -> None:
    spec = NetworkSpec.mlp([2, 8, 8, 1])
    editor = WeightEditor(spec, "magep", hidden_channels=3, generator=gen(1)).double()
    ws = make_ws(spec, channels=1)
    assert editor.gamma.item() == pytest.approx(0.01)
    with torch.no_grad():
        expected = ws + editor.update(ws) * editor.gamma
        assert relative_error(editor(ws), expected) < 1e-15
    sum(t.sum() for t in editor(ws).tensors()).backward()
    assert editor.gamma.grad is not None
    assert editor.gamma.grad.abs() > 0


def test_editor_mlp_backbone_edits_flat(make_ws, gen) -> None:
    spec = NetworkSpec.mlp([2, 8, 1])
    editor = WeightEditor(spec, "mlp", head_hidden=(16,), generator=gen(1))
    out = editor(WeightSpace.randn(spec, batch_size=3))
    assert out.spec == spec
    assert out.batch_size == 3


class Sine(nn.Module):
    def __init__(self, omega: float = 30.0) -> None:
        super().__init__()
        self.omega = omega

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.omega * x)


def _siren() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 32), Sine(), nn.Linear(32, 32), Sine(), nn.Linear(32, 1))


def _small_cnn() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, stride=2),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, stride=2),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),
    )


@pytest.mark.parametrize(
    ("make_net", "group", "x_shape"), [(_siren, "sign", (50, 2)), (_small_cnn, "scale", (4, 1, 32, 32))]
)
def test_edited_weights_load_into_a_real_network(make_net, group: str, x_shape: tuple[int, ...], gen) -> None:
    """The editor's output is a valid network: it loads, runs, and editing a symmetry-transformed copy of the
    network gives a network computing the same function as the edited original."""
    net = make_net().double()
    ws = WeightSpace.from_module(net)
    editor = WeightEditor(ws.spec, "magep", hidden_channels=4, group=group, gamma_init=0.1, generator=gen(1)).double()
    x = torch.rand(*x_shape, generator=gen(3), dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        edited = editor(ws).load_into(copy.deepcopy(net))
        y = edited(x)
        assert y.shape[0] == x_shape[0]
        assert torch.isfinite(y).all()
        assert relative_error(y, net(x)) > 1e-6
    g = sample_monomial(ws.spec, group, generator=gen(2))
    transformed = g.act_on_module(net)
    assert_function_preserved(net, lambda m: g.act_on_module(m), x, rtol=RTOL)

    def edit(module: nn.Module) -> nn.Module:
        with torch.no_grad():
            return editor(WeightSpace.from_module(module)).load_into(copy.deepcopy(module))

    with torch.no_grad():
        assert relative_error(edit(transformed)(x), edit(net)(x)) < RTOL


def test_bad_arguments(make_ws) -> None:
    spec = NetworkSpec.mlp([2, 8, 1])
    with pytest.raises(ValueError, match="expected backbone in"):
        InvariantModel(spec, 1, "transformer")
    with pytest.raises(ValueError, match="expected backbone in"):
        WeightEditor(spec, "stat")
    with pytest.raises(ValueError, match="expected 'scale' or 'sign'"):
        GeneralizationPredictor(spec, "magep", group="rotation")
    with pytest.raises(ValueError, match="at least 2 layers"):
        INRClassifier(NetworkSpec.mlp([2, 1]), 10)
    with pytest.raises(ValueError, match="expected a WeightSpace with spec"):
        GeneralizationPredictor(spec, "magep", hidden_channels=2)(make_ws(NetworkSpec.mlp([2, 4, 1]), channels=1))
    with pytest.raises(ValueError, match="expected 1 input channels"):
        WeightEditor(spec, "magep", hidden_channels=2)(make_ws(spec, channels=2))


def test_normalized_monomial_variant_differs_from_monomial_for_signs_only(spec: NetworkSpec, make_ws) -> None:
    """Same seed, same parameters: for the scale group the two backbones are one model; for the sign group the
    extra normalisation changes the output."""
    ws = make_ws(spec, batch=3, channels=1)
    for group, same in (("scale", True), ("sign", False)):
        plain = _invariant_model("inr", spec, "monomial", group).double()
        variant = _invariant_model("inr", spec, "monomial_normalized", group).double()
        assert (relative_error(variant(ws), plain(ws)) < 1e-12) is same
