import pytest
import torch

from transformer_nfn import TransformerSpec, TransformerWeightSpace
from transformer_nfn.nn import TransformerNFNInvariant, TransformerNFNLinear
from transformer_nfn.nn.reference import linear_terms, termwise_invariant, termwise_linear

SPECS = [
    TransformerSpec(num_blocks=1, embed_dim=6, num_heads=1, key_dim=3, value_dim=4, ffn_dim=5),
    TransformerSpec(num_blocks=3, embed_dim=5, num_heads=4, key_dim=3, value_dim=2, ffn_dim=4),
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
@pytest.mark.parametrize("qk_rank", [None, 3])
def test_fused_linear_equals_termwise_equations(spec: TransformerSpec, qk_rank: int | None) -> None:
    torch.manual_seed(0)
    layer = TransformerNFNLinear(spec, 2, 3, qk_rank=qk_rank).double()
    with torch.no_grad():
        layer.bias.normal_()
    ws = TransformerWeightSpace.randn(spec, 4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    fused, ref = layer(ws), termwise_linear(layer, ws)
    for a, b in zip(fused.tensors(), ref.tensors()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_every_coefficient_is_used_once() -> None:
    """The named terms partition the parameters: 5 attention, 13 + 10 + 10 + 7 FFN coefficients."""
    spec = SPECS[1]
    layer = TransformerNFNLinear(spec, 2, 3)
    terms = linear_terms(layer)
    assert len(terms) == 5 + 13 + 10 + 10 + 7
    assert sum(t.numel() for t in terms.values()) == sum(p.numel() for p in layer.parameters())


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_fused_invariant_equals_termwise_equations(spec: TransformerSpec) -> None:
    torch.manual_seed(0)
    layer = TransformerNFNInvariant(spec, 2, 4).double()
    with torch.no_grad():
        layer.bias.normal_()
    ws = TransformerWeightSpace.randn(spec, 4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(layer(ws), termwise_invariant(layer, ws), rtol=1e-12, atol=1e-12)
