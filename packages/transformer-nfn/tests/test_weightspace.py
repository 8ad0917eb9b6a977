import pytest
import torch

from transformer_nfn import TransformerSpec, TransformerWeightSpace
from transformer_nfn.zoo import ZooTransformer


def small_model(heads: int = 2, dk: int = 3, dv: int = 4, blocks: int = 2, image: bool = True) -> ZooTransformer:
    return ZooTransformer(
        embed_dim=8,
        num_heads=heads,
        key_dim=dk,
        value_dim=dv,
        num_blocks=blocks,
        ffn_dim=6,
        num_classes=3,
        image_size=8 if image else None,
        patch_size=4,
    )


def test_layout_matches_spec_convention() -> None:
    torch.manual_seed(0)
    model = small_model()
    ws = TransformerWeightSpace.from_module(model)
    att = model.encoder[1].attention
    # head i owns columns i*D_k..(i+1)*D_k of queries.weight.T and rows i*D_v.. of out_projection.weight.T
    torch.testing.assert_close(ws.query[0, 0, 1, 1], att.queries.weight.T[:, 3:6])
    torch.testing.assert_close(ws.key[0, 0, 1, 0], att.keys.weight.T[:, 0:3])
    torch.testing.assert_close(ws.value[0, 0, 1, 1], att.values.weight.T[:, 4:8])
    torch.testing.assert_close(ws.out[0, 0, 1, 1], att.out_projection.weight.T[4:8])
    torch.testing.assert_close(ws.w_a[0, 0, 1], model.encoder[1].fc1.weight.T)
    torch.testing.assert_close(ws.w_b[0, 0, 0], model.encoder[0].fc2.weight.T)
    torch.testing.assert_close(ws.b_a[0, 0, 0], model.encoder[0].fc1.bias)
    assert ws.spec == TransformerSpec(2, 8, 2, 3, 4, 6)
    assert set(ws.extras) == {k for k in model.state_dict() if not k.startswith("encoder.")}


@pytest.mark.parametrize("image", [True, False])
def test_state_dict_round_trip(image: bool) -> None:
    torch.manual_seed(1)
    model = small_model(image=image)
    ws = TransformerWeightSpace.from_state_dict(model.state_dict(), num_heads=2)
    sd = ws.state_dict()
    assert sd.keys() == model.state_dict().keys()
    for k, v in model.state_dict().items():
        assert torch.equal(sd[k], v), k
    target = small_model(image=image)
    assert ws.load_into(target) is target
    for k, v in model.state_dict().items():
        assert torch.equal(target.state_dict()[k], v), k


def test_batch_of_state_dicts_and_container_ops() -> None:
    models = [small_model() for _ in range(3)]
    ws = TransformerWeightSpace.from_state_dicts([m.state_dict() for m in models], num_heads=2)
    assert ws.batch_size == 3
    assert ws.num_channels == 1
    assert torch.equal(ws[2].w_b, TransformerWeightSpace.from_module(models[2]).w_b)
    assert TransformerWeightSpace.stack([ws[0], ws[1:]]).flatten().shape == ws.flatten().shape
    expected = ws.spec.num_params + sum(
        v.numel() for k, v in models[0].state_dict().items() if k.startswith(("classifier", "embedding.conv1"))
    )
    assert ws.flatten().shape == (3, expected)
    assert (ws + ws).w_a.equal(2 * ws.w_a)
    assert ws.to(torch.float64).dtype == torch.float64
    assert TransformerSpec.parse(str(ws.spec)) == ws.spec


def test_missing_key_raises_naming_it() -> None:
    sd = small_model().state_dict()
    del sd["encoder.1.fc2.bias"]
    with pytest.raises(ValueError, match=r"missing keys \['encoder.1.fc2.bias'\]"):
        TransformerWeightSpace.from_state_dict(sd, num_heads=2)
    sd = small_model().state_dict()
    del sd["classifier.fc1.bias"]
    with pytest.raises(ValueError, match="classifier.fc1.bias"):
        TransformerWeightSpace.from_state_dict(sd, num_heads=2)


def test_wrong_shape_raises_naming_key_and_shapes() -> None:
    sd = small_model().state_dict()
    sd["encoder.1.attention.keys.weight"] = torch.zeros(6, 7)
    with pytest.raises(ValueError, match=r"'encoder.1.attention.keys.weight' expected shape \(6, 8\).*found \(6, 7\)"):
        TransformerWeightSpace.from_state_dict(sd, num_heads=2)
    sd = small_model().state_dict()
    sd["classifier.fc2.bias"] = torch.zeros(4)
    with pytest.raises(ValueError, match=r"classifier.fc2.bias.*\(3, 8\) and \(4,\)"):
        TransformerWeightSpace.from_state_dict(sd, num_heads=2)


def test_head_count_not_dividing_raises() -> None:
    sd = small_model().state_dict()  # queries: 2 * 3 = 6 output features
    with pytest.raises(
        ValueError, match=r"num_heads=4 does not divide the 6 output features of .*queries.weight.*\(6, 8\)"
    ):
        TransformerWeightSpace.from_state_dict(sd, num_heads=4)


def test_unexpected_key_and_spec_mismatch_raise() -> None:
    sd = small_model().state_dict()
    sd["encoder.0.attention.extra.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match="unexpected keys"):
        TransformerWeightSpace.from_state_dict(sd, num_heads=2)
    with pytest.raises(ValueError, match="expected architecture"):
        TransformerWeightSpace.from_state_dict(small_model().state_dict(), spec=TransformerSpec(2, 8, 2, 3, 4, 7))


def test_load_into_wrong_architecture_raises() -> None:
    ws = TransformerWeightSpace.from_module(small_model())
    with pytest.raises(ValueError, match="load_into"):
        ws.load_into(small_model(blocks=3))
    with pytest.raises(ValueError, match=r"'encoder.0.attention.queries.weight' expected shape"):
        ws.load_into(small_model(heads=2, dk=2))


def test_constructor_checks_shapes() -> None:
    ws = TransformerWeightSpace.from_module(small_model())
    with pytest.raises(ValueError, match=r"w_b: expected shape \(1, 1, 2, 6, 8\)"):
        ws.replace(w_b=torch.zeros(1, 1, 2, 6, 9))
