import pytest
import torch

from transformer_nfn import TransformerWeightSpace, sample_group_element
from transformer_nfn.models import TransformerNFN, extras_features
from transformer_nfn.zoo import ZooTransformer
from weightspace_core.testing import assert_invariant, assert_sensitive

SHAPES = [(1, 3, 5, 1), (2, 4, 3, 2), (4, 2, 3, 3)]  # (heads, D_k, D_v, blocks)


def zoo_batch(heads: int, dk: int, dv: int, blocks: int, image: bool = True) -> TransformerWeightSpace:
    torch.manual_seed(0)
    models = [
        ZooTransformer(8, heads, dk, dv, blocks, 6, num_classes=3, image_size=8 if image else None, patch_size=4)
        for _ in range(3)
    ]
    return TransformerWeightSpace.from_state_dicts([m.state_dict() for m in models], num_heads=heads)


def make_model(ws: TransformerWeightSpace, **kwargs: object) -> TransformerNFN:
    torch.manual_seed(1)
    model = TransformerNFN.for_weight_space(ws, hidden_channels=3, invariant_features=4, hidden_dim=8, **kwargs)
    with torch.no_grad():
        model.equivariant.bias.normal_()
    return model


@pytest.mark.parametrize(("heads", "dk", "dv", "blocks"), SHAPES)
@pytest.mark.parametrize("qk_rank", [None, 2])
def test_invariant(heads: int, dk: int, dv: int, blocks: int, qk_rank: int | None) -> None:
    ws = zoo_batch(heads, dk, dv, blocks)
    model = make_model(ws, qk_rank=qk_rank)
    assert model.embedding_mlp is not None
    g = sample_group_element(ws.spec, num_elements=3, generator=torch.Generator().manual_seed(2))
    assert_invariant(model, ws, g.act, rtol=1e-10)


def test_sensitive_to_each_branch_and_to_non_symmetries() -> None:
    ws = zoo_batch(2, 4, 3, 2)
    model = make_model(ws)
    for key in ("classifier.fc2.weight", "embedding.conv1.weight"):
        assert_sensitive(model, ws, lambda x, key=key: x.replace(extras={**x.extras, key: x.extras[key] * 1.5}))
    scale = torch.linspace(0.5, 2.0, 8, dtype=torch.float64)
    assert_sensitive(model, ws, lambda x: x.replace(w_a=x.w_a * scale[:, None]))
    assert_sensitive(model, ws, lambda x: x.replace(value=x.value.abs()))


def test_text_variant_and_branch_toggles() -> None:
    ws = zoo_batch(2, 4, 3, 2, image=False)
    model = make_model(ws)
    assert model.embedding_mlp is None
    out = model(ws)
    assert out.shape == (3,)
    assert bool(((out > 0) & (out < 1)).all())
    encoder_only = make_model(ws, classifier=False)
    assert encoder_only.classifier_mlp is None
    assert encoder_only.head.in_features == 8
    assert encoder_only(ws).shape == (3,)


def test_gradients_reach_every_parameter() -> None:
    ws = zoo_batch(2, 4, 3, 2)
    model = make_model(ws)
    target = torch.tensor([0.2, 0.5, 0.9])
    torch.nn.functional.binary_cross_entropy(model(ws), target).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_missing_extras_raise() -> None:
    ws = zoo_batch(2, 4, 3, 2)
    with pytest.raises(ValueError, match="expected extras starting with 'classifier.'"):
        extras_features(ws.replace(extras={}), "classifier.")
