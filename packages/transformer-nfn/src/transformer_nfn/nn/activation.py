"""The partial ReLU of Transformer-NFN (spec section 3)."""

from __future__ import annotations

import torch
from torch import nn

from transformer_nfn.weightspace import TransformerWeightSpace

__all__ = ["TransformerPartialReLU"]


class TransformerPartialReLU(nn.Module):
    """ReLU on the ``W_A, W_B, b_A, b_B`` features; ``W_Q, W_K, W_V, W_O`` features pass unchanged.

    ``(W_Q, W_K, W_V, W_O, W_A, W_B, b_A, b_B) -> (W_Q, W_K, W_V, W_O, ReLU(W_A), ReLU(W_B), ReLU(b_A),
    ReLU(b_B))``. Equivariant to the full group of :mod:`transformer_nfn.group`: permutations (heads, ``P_O``,
    ``P_A``) commute with any element-wise map, while the GL(D_k)/GL(D_v) factors act on the attention features
    by dense matrices that do not commute with ReLU, so those must stay linear. Takes and returns a
    :class:`~transformer_nfn.TransformerWeightSpace` of any shape.

    Examples
    --------
    >>> from transformer_nfn import TransformerSpec, TransformerWeightSpace
    >>> spec = TransformerSpec(num_blocks=1, embed_dim=4, num_heads=1, key_dim=2, value_dim=2, ffn_dim=3)
    >>> ws = TransformerWeightSpace(*(-torch.ones(1, 1, *s) for s in spec.shapes().values()))
    >>> out = TransformerPartialReLU()(ws)
    >>> out.query.min().item(), out.w_a.min().item()
    (-1.0, 0.0)
    """

    def forward(self, ws: TransformerWeightSpace) -> TransformerWeightSpace:
        return ws.replace(
            w_a=torch.relu(ws.w_a), w_b=torch.relu(ws.w_b), b_a=torch.relu(ws.b_a), b_b=torch.relu(ws.b_b)
        )
