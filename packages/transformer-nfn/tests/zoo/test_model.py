import math

import pytest
import torch
import torch.nn.functional as F

from transformer_nfn.zoo import ZooTransformer, sinusoidal_position_encoding

RELEASE_KEYS = {
    "embedding.conv1.weight": (32, 1, 4, 4),
    "embedding.conv1.bias": (32,),
    "embedding.pos_embedding": (49, 32),
    "classifier.fc1.weight": (32, 32),
    "classifier.fc1.bias": (32,),
    "classifier.fc2.weight": (10, 32),
    "classifier.fc2.bias": (10,),
    **{
        f"encoder.{b}.{name}": shape
        for b in range(2)
        for name, shape in {
            "attention.queries.weight": (32, 32),
            "attention.keys.weight": (32, 32),
            "attention.values.weight": (32, 32),
            "attention.out_projection.weight": (32, 32),
            "fc1.weight": (64, 32),
            "fc1.bias": (64,),
            "fc2.weight": (32, 64),
            "fc2.bias": (32,),
        }.items()
    },
}


def reference_logits(sd: dict[str, torch.Tensor], images: torch.Tensor, h: int, dk: int, dv: int) -> torch.Tensor:
    """The spec's equations written out per head and per image, straight from the state dict."""
    out = []
    for img in images:
        w = sd["embedding.conv1.weight"]
        p = w.shape[-1]
        patches = img.unfold(1, p, p).unfold(2, p, p)  # (C, H/p, W/p, p, p)
        patches = patches.permute(1, 2, 0, 3, 4).reshape(-1, w[0].numel())
        x = patches @ w.reshape(w.shape[0], -1).T + sd["embedding.conv1.bias"] + sd["embedding.pos_embedding"]
        b = 0
        while f"encoder.{b}.fc1.weight" in sd:
            pre = f"encoder.{b}."
            y = F.layer_norm(x, (x.shape[-1],))
            wq, wk = sd[pre + "attention.queries.weight"].T, sd[pre + "attention.keys.weight"].T
            wv, wo = sd[pre + "attention.values.weight"].T, sd[pre + "attention.out_projection.weight"].T
            mha = 0
            for i in range(h):
                q, k = y @ wq[:, i * dk : (i + 1) * dk], y @ wk[:, i * dk : (i + 1) * dk]
                head = torch.softmax(q @ k.T / math.sqrt(dk), dim=-1) @ (y @ wv[:, i * dv : (i + 1) * dv])
                mha = mha + head @ wo[i * dv : (i + 1) * dv]
            y = F.layer_norm(mha, (x.shape[-1],))
            x = torch.relu(y @ sd[pre + "fc1.weight"].T + sd[pre + "fc1.bias"]) @ sd[pre + "fc2.weight"].T
            x = x + sd[pre + "fc2.bias"]
            b += 1
        z = F.layer_norm(x, (x.shape[-1],)).mean(0)
        z = torch.relu(z @ sd["classifier.fc1.weight"].T + sd["classifier.fc1.bias"])
        out.append(z @ sd["classifier.fc2.weight"].T + sd["classifier.fc2.bias"])
    return torch.stack(out)


def test_state_dict_keys_and_shapes_match_release() -> None:
    model = ZooTransformer()
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == RELEASE_KEYS
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 18506


@pytest.mark.parametrize(("heads", "dk", "dv", "blocks"), [(2, 16, 16, 2), (1, 5, 7, 1), (4, 3, 6, 3)])
def test_forward_matches_spec_equations(heads: int, dk: int, dv: int, blocks: int) -> None:
    torch.manual_seed(0)
    model = ZooTransformer(
        embed_dim=12,
        num_heads=heads,
        key_dim=dk,
        value_dim=dv,
        num_blocks=blocks,
        ffn_dim=10,
        num_classes=3,
        image_size=8,
        patch_size=4,
    ).double()
    images = torch.randn(3, 1, 8, 8, dtype=torch.float64)
    expected = reference_logits(model.state_dict(), images, heads, dk, dv)
    torch.testing.assert_close(model(images), expected, rtol=1e-12, atol=1e-12)


def test_loads_a_release_like_state_dict_strictly() -> None:
    sd = {k: torch.randn(s) for k, s in RELEASE_KEYS.items()}
    model = ZooTransformer()
    model.load_state_dict(sd, strict=True)
    assert torch.equal(model.encoder[1].fc2.weight, sd["encoder.1.fc2.weight"])


def test_text_variant_takes_tokens_and_mask() -> None:
    torch.manual_seed(0)
    model = ZooTransformer(image_size=None, num_classes=4).double().eval()
    assert not any(k.startswith("embedding.") for k in model.state_dict())
    tokens = torch.randn(2, 7, 32, dtype=torch.float64)
    mask = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])
    out = model(tokens, mask)
    # padding must not matter: the second sequence alone, unpadded, gives the same logits
    torch.testing.assert_close(out[1], model(tokens[1:, :4])[0])
    assert out.shape == (2, 4)


def test_position_encoding_is_fixed_sinusoid() -> None:
    pe = sinusoidal_position_encoding(49, 32)
    assert torch.allclose(pe[3, 2], torch.tensor(math.sin(3 / 10000 ** (2 / 32))))
    model = ZooTransformer()
    assert "embedding.pos_embedding" not in dict(model.named_parameters())
    assert torch.equal(model.embedding.pos_embedding, pe)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_heads": 0}, "num_heads"),
        ({"image_size": 30, "patch_size": 4}, "patch_size"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_bad_sizes_raise(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ZooTransformer(**kwargs)


def test_bad_input_shape_raises() -> None:
    with pytest.raises(ValueError, match=r"expected shape \(B, 1, 28, 28\)"):
        ZooTransformer()(torch.randn(2, 3, 28, 28))
