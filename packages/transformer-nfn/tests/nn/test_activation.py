import pytest
import torch

from transformer_nfn import TransformerSpec, TransformerWeightSpace, sample_group_element
from transformer_nfn.nn import TransformerNFNInvariant, TransformerNFNLinear, TransformerPartialReLU
from weightspace_core.testing import assert_equivariant, assert_invariant, assert_sensitive

SPECS = [
    TransformerSpec(num_blocks=1, embed_dim=6, num_heads=1, key_dim=3, value_dim=4, ffn_dim=5),
    TransformerSpec(num_blocks=3, embed_dim=5, num_heads=4, key_dim=3, value_dim=2, ffn_dim=4),
]


def random_ws(spec: TransformerSpec, seed: int) -> TransformerWeightSpace:
    return TransformerWeightSpace.randn(spec, 3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_partial_relu_equivariant(spec: TransformerSpec) -> None:
    g = sample_group_element(spec, generator=torch.Generator().manual_seed(0))
    assert_equivariant(TransformerPartialReLU(), random_ws(spec, 1), g.act, rtol=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_relu_on_attention_features_breaks_invariance(spec: TransformerSpec) -> None:
    """Negative control: ReLU on the Q/K/V/O features does not commute with GL(D_k), GL(D_v)."""
    torch.manual_seed(0)
    lin, pool = TransformerNFNLinear(spec, 2, 3).double(), TransformerNFNInvariant(spec, 3, 4).double()
    g = sample_group_element(spec, generator=torch.Generator().manual_seed(2))
    ws = random_ws(spec, 3)
    partial = torch.nn.Sequential(lin, TransformerPartialReLU(), pool)
    assert_invariant(partial, ws, g.act, rtol=1e-10)

    def full_relu(x: TransformerWeightSpace) -> torch.Tensor:
        return pool(lin(x).map(torch.relu))

    assert_sensitive(full_relu, ws, g.act, min_error=1e-3)
    # permutations alone still commute with a full ReLU: the break is due to the GL factors
    perms_only = sample_group_element(spec, linear=False, generator=torch.Generator().manual_seed(2))
    assert_invariant(full_relu, ws, perms_only.act, rtol=1e-10)
