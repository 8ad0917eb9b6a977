import pytest
import torch

from transformer_nfn import TransformerSpec, TransformerWeightSpace, equivalent, sample_group_element
from transformer_nfn.group import attention_invariants
from transformer_nfn.zoo import ZooTransformer
from weightspace_core.testing import assert_function_preserved, relative_error

SHAPES = [(1, 3, 5, 1), (2, 4, 3, 2), (4, 2, 3, 3)]  # (heads, D_k, D_v, blocks), D_k != D_v throughout


def make_model(heads: int, dk: int, dv: int, blocks: int, residual: bool = False, seed: int = 0) -> ZooTransformer:
    torch.manual_seed(seed)
    return ZooTransformer(
        embed_dim=8,
        num_heads=heads,
        key_dim=dk,
        value_dim=dv,
        num_blocks=blocks,
        ffn_dim=6,
        num_classes=3,
        residual=residual,
        image_size=8,
        patch_size=4,
    ).double()


def images(seed: int = 0) -> torch.Tensor:
    return torch.randn(4, 1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(("heads", "dk", "dv", "blocks"), SHAPES)
def test_group_preserves_function(heads: int, dk: int, dv: int, blocks: int) -> None:
    model = make_model(heads, dk, dv, blocks)
    g = sample_group_element(TransformerSpec.from_module(model), generator=torch.Generator().manual_seed(1))
    assert_function_preserved(model, g.act_on_module, images(), rtol=1e-9)
    # the transformed weights really are different
    before, after = (
        TransformerWeightSpace.from_module(model),
        TransformerWeightSpace.from_module(g.act_on_module(model)),
    )
    assert relative_error(after.query, before.query) > 0.1
    assert relative_error(after.w_a, before.w_a) > 0.1


def test_output_permutation_breaks_residual_network() -> None:
    model = make_model(2, 4, 3, 2, residual=True)
    spec = TransformerSpec.from_module(model)
    gen = torch.Generator().manual_seed(2)
    without_p_o = sample_group_element(spec, out_perm=False, generator=gen)
    assert_function_preserved(model, without_p_o.act_on_module, images(), rtol=1e-9)
    only_p_o = sample_group_element(spec, heads=False, linear=False, hidden_perm=False, generator=gen)
    x = images()
    with torch.no_grad():
        err = relative_error(only_p_o.act_on_module(model)(x), model(x))
    assert err > 1e-3
    # the same P_O is a symmetry of the residual-free zoo block
    assert_function_preserved(make_model(2, 4, 3, 2), only_p_o.act_on_module, x, rtol=1e-9)


@pytest.mark.parametrize(("heads", "dk", "dv", "blocks"), SHAPES)
def test_inverse_undoes_action(heads: int, dk: int, dv: int, blocks: int) -> None:
    ws = TransformerWeightSpace.from_module(make_model(heads, dk, dv, blocks))
    g = sample_group_element(ws.spec, generator=torch.Generator().manual_seed(3))
    back = g.inverse().act(g.act(ws))
    assert relative_error(back.tensors(), ws.tensors()) < 1e-12


def test_one_element_per_network() -> None:
    models = [make_model(2, 4, 3, 2, seed=s) for s in range(3)]
    ws = TransformerWeightSpace.from_state_dicts([m.state_dict() for m in models], num_heads=2)
    g = sample_group_element(ws.spec, num_elements=3, generator=torch.Generator().manual_seed(4))
    moved = g.act(ws)
    for i in range(3):
        single = sample_group_element(ws.spec, generator=torch.Generator().manual_seed(0))
        for name in ("head_perm", "m", "m_inv", "n", "n_inv", "out_perm", "hidden_perm"):
            setattr(single, name, getattr(g, name)[i : i + 1])
        assert relative_error(moved[i].tensors(), single.act(ws[i]).tensors()) < 1e-14
    with pytest.raises(ValueError, match="expected 1 or 2 group elements"):
        g.act(ws[:2])


def test_invariants_transform_as_stated() -> None:
    ws = TransformerWeightSpace.from_module(make_model(4, 2, 3, 2))
    g = sample_group_element(ws.spec, generator=torch.Generator().manual_seed(5))
    qk, vo = attention_invariants(ws)
    qk2, vo2 = attention_invariants(g.act(ws))
    p_o = torch.eye(8, dtype=torch.float64)[g.out_perm[0]]  # (L, D, D)
    for b in range(2):
        tau = g.head_perm[0, b]
        torch.testing.assert_close(qk2[0, 0, b], qk[0, 0, b, tau])
        torch.testing.assert_close(vo2[0, 0, b], vo[0, 0, b, tau] @ p_o[b])


@pytest.mark.parametrize(("heads", "dk", "dv", "blocks"), SHAPES)
def test_equivalent_detects_transformed_and_perturbed_copies(heads: int, dk: int, dv: int, blocks: int) -> None:
    ws = TransformerWeightSpace.from_module(make_model(heads, dk, dv, blocks))
    gen = torch.Generator().manual_seed(6)
    attention_only = sample_group_element(ws.spec, out_perm=False, hidden_perm=False, generator=gen)
    full = sample_group_element(ws.spec, generator=gen)
    assert equivalent(ws, attention_only.act(ws)).all()
    assert equivalent(ws, full.act(ws), full_block=True).all()
    # P_O changes the attention function itself (its outputs come permuted)
    assert not equivalent(ws, full.act(ws)).any()
    noise = 1e-3 * torch.randn(ws.query.shape, generator=gen, dtype=torch.float64)
    perturbed = attention_only.act(ws.replace(query=ws.query + noise))
    assert not equivalent(ws, perturbed).any()
    perturbed_ffn = full.act(ws.replace(b_b=ws.b_b + 1e-3))
    assert not equivalent(ws, perturbed_ffn, full_block=True).any()


def test_equivalent_rejects_mismatched_inputs() -> None:
    a = TransformerWeightSpace.from_module(make_model(2, 4, 3, 2))
    b = TransformerWeightSpace.from_module(make_model(2, 4, 3, 1))
    with pytest.raises(ValueError, match="one spec"):
        equivalent(a, b)
