"""The Transformer-NFN invariant layer (spec section 4)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from transformer_nfn.nn.linear import _blocks_first, attention_sums, global_features
from transformer_nfn.weightspace import TransformerSpec, TransformerWeightSpace

__all__ = ["TransformerNFNInvariant"]


class TransformerNFNInvariant(nn.Module):
    r"""Invariant pooling of transformer weight-space features into a vector per network.

    Per block ``l`` (its own parameters), with ``QK = sum_s W_Q^(s) W_K^(s)T`` and ``VO = sum_s W_V^(s) W_O^(s)``
    per channel (channels mixed by every coefficient):

    ``I_l = sum_pq Om1_pq QK_pq + sum_pq Om2_p VO_pq + Om3 sum_pq W_A,pq + sum_pq Om4_q W_B,pq
    + Om5 sum_q b_A,q + sum_q Om6_q b_B,q + Om7``  (``out_features`` values),

    then a LayerNorm per block (learnable scale and shift, one per block) and the concatenation over blocks.
    Invariant to the whole group of :mod:`transformer_nfn.group`: heads enter only through sums over heads,
    the GL factors only through ``QK`` and ``VO``, ``P_O`` and ``P_A`` only through sums over their indices.
    Works for any number of blocks and heads.

    Parameters
    ----------
    spec:
        the encoder architecture.
    in_channels:
        channels of the features taken.
    out_features:
        values per block; the output has :attr:`output_size` ``= num_blocks * out_features`` values.
    layer_norm:
        apply the per-block LayerNorm (the spec's default).

    Shapes: takes a :class:`~transformer_nfn.TransformerWeightSpace` ``(B, in_channels, ...)``, returns
    ``(B, num_blocks * out_features)``.

    Examples
    --------
    >>> from transformer_nfn import TransformerSpec, TransformerWeightSpace
    >>> spec = TransformerSpec(num_blocks=3, embed_dim=8, num_heads=4, key_dim=2, value_dim=3, ffn_dim=6)
    >>> pool = TransformerNFNInvariant(spec, in_channels=2, out_features=5)
    >>> ws = TransformerWeightSpace(*(torch.randn(7, 2, *s) for s in spec.shapes().values()))
    >>> pool(ws).shape, pool.output_size
    (torch.Size([7, 15]), 15)
    """

    def __init__(self, spec: TransformerSpec, in_channels: int, out_features: int, layer_norm: bool = True) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_features", out_features)):
            if value < 1:
                raise ValueError(f"{name}: expected a positive integer, found {value}")
        self.spec, self.in_channels, self.out_features, self.layer_norm = spec, in_channels, out_features, layer_norm
        L, D = spec.num_blocks, spec.embed_dim
        fan_in = in_channels * (D * D + 3 * D + 2)
        self.omega = nn.Parameter(torch.randn(L, fan_in, out_features) / math.sqrt(fan_in))  # Om1..Om6
        self.bias = nn.Parameter(torch.zeros(L, out_features))  # Om7
        if layer_norm:
            self.norm_weight = nn.Parameter(torch.ones(L, out_features))
            self.norm_bias = nn.Parameter(torch.zeros(L, out_features))

    @property
    def output_size(self) -> int:
        return self.spec.num_blocks * self.out_features

    def extra_repr(self) -> str:
        return f"spec={self.spec}, in_channels={self.in_channels}, out_features={self.out_features}"

    def forward(self, ws: TransformerWeightSpace) -> torch.Tensor:
        if ws.spec != self.spec or ws.num_channels != self.in_channels:
            raise ValueError(
                f"TransformerNFNInvariant: expected spec {self.spec} with {self.in_channels} channels, found "
                f"{ws.spec} with {ws.num_channels}"
            )
        qk, vo = attention_sums(ws)
        feats = torch.cat([qk.flatten(-2), global_features(ws, vo)], dim=-1)  # (B, C, L, D^2 + 3D + 2)
        out = torch.baddbmm(self.bias[:, None, :], _blocks_first(feats), self.omega)  # (L, B, out)
        if self.layer_norm:
            out = F.layer_norm(out, (self.out_features,)) * self.norm_weight[:, None] + self.norm_bias[:, None]
        return out.transpose(0, 1).reshape(ws.batch_size, self.output_size)
