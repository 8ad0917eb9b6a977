import pytest
import torch

from transformer_nfn import TransformerSpec, TransformerWeightSpace, sample_group_element
from transformer_nfn.nn import TransformerNFNLinear
from weightspace_core.testing import assert_equivariant, assert_sensitive

SPECS = [
    TransformerSpec(num_blocks=1, embed_dim=6, num_heads=1, key_dim=3, value_dim=4, ffn_dim=5),
    TransformerSpec(num_blocks=2, embed_dim=6, num_heads=2, key_dim=2, value_dim=3, ffn_dim=5),
    TransformerSpec(num_blocks=3, embed_dim=5, num_heads=4, key_dim=3, value_dim=2, ffn_dim=4),
]


def random_ws(spec: TransformerSpec, seed: int, batch: int = 3, channels: int = 2) -> TransformerWeightSpace:
    gen = torch.Generator().manual_seed(seed)
    return TransformerWeightSpace.randn(spec, batch, channels, dtype=torch.float64, generator=gen)


def make_layer(spec: TransformerSpec, qk_rank: int | None = None) -> TransformerNFNLinear:
    torch.manual_seed(0)
    layer = TransformerNFNLinear(spec, 2, 3, qk_rank=qk_rank)
    with torch.no_grad():
        layer.bias.normal_()  # the zero init would hide the constant terms
    return layer


@pytest.mark.parametrize("spec", SPECS, ids=str)
@pytest.mark.parametrize("qk_rank", [None, 4])
def test_equivariant(spec: TransformerSpec, qk_rank: int | None) -> None:
    layer = make_layer(spec, qk_rank)
    ws = random_ws(spec, 1)
    g = sample_group_element(spec, generator=torch.Generator().manual_seed(2))
    assert_equivariant(layer, ws, g.act, rtol=1e-10)
    # one group element per network of the batch
    g_batch = sample_group_element(spec, num_elements=3, generator=torch.Generator().manual_seed(3))
    assert_equivariant(layer, ws, g_batch.act, rtol=1e-10)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_output_really_transforms(spec: TransformerSpec) -> None:
    """The equivariance test is not passed by an output that ignores the group: outputs move with g."""
    g = sample_group_element(spec, generator=torch.Generator().manual_seed(4))
    assert_sensitive(make_layer(spec), random_ws(spec, 5), g.act, act_out=lambda y: y)


@pytest.mark.parametrize(
    ("factor", "broken"),
    [
        ("heads", lambda ws, w: ws.replace(query=ws.query * w[: ws.spec.num_heads, None, None])),
        ("linear", lambda ws, w: ws.replace(key=ws.key.abs())),
        ("out_perm", lambda ws, w: ws.replace(w_a=ws.w_a * w[: ws.spec.embed_dim, None])),
        ("hidden_perm", lambda ws, w: ws.replace(b_a=ws.b_a * w[: ws.spec.ffn_dim])),
    ],
)
def test_symmetry_breaking_variant_fails(factor: str, broken) -> None:
    """A layer fed a representation that breaks one factor of the group is no longer equivariant to it."""
    spec = SPECS[2] if factor == "heads" else SPECS[1]
    weights = torch.linspace(0.5, 2.0, 8, dtype=torch.float64)
    layer = make_layer(spec).double()
    flags = {"heads": False, "linear": False, "out_perm": False, "hidden_perm": False, factor: True}
    g = sample_group_element(spec, generator=torch.Generator().manual_seed(6), **flags)
    ws = random_ws(spec, 7)
    assert_equivariant(layer, ws, g.act, rtol=1e-10)
    assert_sensitive(lambda x: layer(broken(x, weights)), ws, g.act, act_out=None)


def test_low_rank_cost_and_counts() -> None:
    spec = TransformerSpec(num_blocks=2, embed_dim=32, num_heads=2, key_dim=16, value_dim=16, ffn_dim=64)
    full = TransformerNFNLinear(spec, 1, 10).parameter_counts()
    low = TransformerNFNLinear(spec, 1, 10, qk_rank=8).parameter_counts()
    assert full["qk_to_wb_bb"] == 2 * 2 * 10 * 32**3
    assert low["qk_to_wb_bb"] == 2 * 8 * (32 * 32 + 2 * 10 * 32)
    assert max(full, key=full.get) == "qk_to_wb_bb"
    assert sum(full.values()) == sum(p.numel() for p in TransformerNFNLinear(spec, 1, 10).parameters())
    assert {k: v for k, v in full.items() if k != "qk_to_wb_bb"} == {k: v for k, v in low.items() if k != "qk_to_wb_bb"}


def test_bad_input_raises() -> None:
    layer = make_layer(SPECS[1])
    with pytest.raises(ValueError, match="expected spec L2-D6-h2-k2-v3-A5 with 2 channels"):
        layer(random_ws(SPECS[1], 0, channels=3))
    with pytest.raises(ValueError, match="qk_rank"):
        TransformerNFNLinear(SPECS[1], 1, 1, qk_rank=0)


def test_gradients_reach_every_parameter() -> None:
    layer = make_layer(SPECS[1])
    out = layer(random_ws(SPECS[1], 8).to(torch.float32))
    sum(t.square().sum() for t in out.tensors()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in layer.parameters())
