import pytest
import torch

from transformer_nfn import TransformerSpec, TransformerWeightSpace, sample_group_element
from transformer_nfn.nn import TransformerNFNInvariant, TransformerNFNLinear, TransformerPartialReLU
from weightspace_core.testing import assert_invariant, assert_sensitive

SPECS = [
    TransformerSpec(num_blocks=1, embed_dim=6, num_heads=1, key_dim=3, value_dim=4, ffn_dim=5),
    TransformerSpec(num_blocks=2, embed_dim=6, num_heads=2, key_dim=2, value_dim=3, ffn_dim=5),
    TransformerSpec(num_blocks=3, embed_dim=5, num_heads=4, key_dim=3, value_dim=2, ffn_dim=4),
]


def random_ws(spec: TransformerSpec, seed: int, channels: int = 2) -> TransformerWeightSpace:
    gen = torch.Generator().manual_seed(seed)
    return TransformerWeightSpace.randn(spec, 3, channels, dtype=torch.float64, generator=gen)


@pytest.mark.parametrize("spec", SPECS, ids=str)
@pytest.mark.parametrize("layer_norm", [True, False])
def test_invariant(spec: TransformerSpec, layer_norm: bool) -> None:
    torch.manual_seed(0)
    pool = TransformerNFNInvariant(spec, 2, 4, layer_norm=layer_norm)
    g = sample_group_element(spec, generator=torch.Generator().manual_seed(1))
    assert_invariant(pool, random_ws(spec, 2), g.act, rtol=1e-10)
    assert pool(random_ws(spec, 2).to(torch.float32)).shape == (3, pool.output_size)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_sensitive_to_non_symmetries(spec: TransformerSpec) -> None:
    """Changing the weights other than by the group changes the output (per-head rescaling of W_Q alone)."""
    torch.manual_seed(0)
    pool = TransformerNFNInvariant(spec, 2, 4).double()
    scale = torch.linspace(0.5, 2.0, spec.num_heads * spec.key_dim, dtype=torch.float64).view(spec.num_heads, 1, -1)
    assert_sensitive(pool, random_ws(spec, 3), lambda ws: ws.replace(query=ws.query * scale))
    g = sample_group_element(spec, generator=torch.Generator().manual_seed(4))
    positional = torch.linspace(0.5, 2.0, spec.ffn_dim, dtype=torch.float64)
    assert_sensitive(lambda ws: pool(ws.replace(b_a=ws.b_a * positional)), random_ws(spec, 3), g.act)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_stack_linear_relu_invariant_is_invariant(spec: TransformerSpec) -> None:
    torch.manual_seed(0)
    lin, relu, pool = TransformerNFNLinear(spec, 2, 3), TransformerPartialReLU(), TransformerNFNInvariant(spec, 3, 4)
    net = torch.nn.Sequential(lin, relu, pool)
    g = sample_group_element(spec, generator=torch.Generator().manual_seed(5))
    assert_invariant(net, random_ws(spec, 6), g.act, rtol=1e-10)


def test_bad_input_raises() -> None:
    pool = TransformerNFNInvariant(SPECS[1], 2, 4)
    with pytest.raises(ValueError, match="expected spec L2-D6-h2-k2-v3-A5 with 2 channels"):
        pool(random_ws(SPECS[2], 0))
