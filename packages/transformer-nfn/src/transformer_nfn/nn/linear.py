"""The Transformer-NFN equivariant linear layer (spec section 3), vectorised over batch, channels, blocks, heads.

Design rule: indices no group element acts on (the input index of ``W_Q, W_K, W_V``, the output index of ``W_B``
and ``b_B``) get full, unshared weights; permuted indices (heads, ``P_O``, ``P_A``) get identity plus
sum-broadcast (DeepSets); GL-acted indices are touched only through the invariant products ``QK_s`` and ``VO_s``
or left as the identity.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from transformer_nfn.weightspace import TransformerSpec, TransformerWeightSpace

__all__ = ["TransformerNFNLinear", "attention_sums", "global_features"]


def attention_sums(ws: TransformerWeightSpace) -> tuple[torch.Tensor, torch.Tensor]:
    """``sum_s QK_s = sum_s W_Q^(s) W_K^(s)T`` and ``sum_s VO_s = sum_s W_V^(s) W_O^(s)``, each ``(B, C, L, D, D)``.

    Computed as one matmul over the concatenated heads (``[W_Q^(1) .. W_Q^(h)] [W_K^(1) .. W_K^(h)]^T``).
    Invariant to the head permutation and the GL factors; ``P_O`` permutes the columns of the VO sum.
    """
    B, C, L, h, D, dk = ws.query.shape
    dv = ws.value.shape[-1]
    q = ws.query.permute(0, 1, 2, 4, 3, 5).reshape(B, C, L, D, h * dk)
    k = ws.key.permute(0, 1, 2, 4, 3, 5).reshape(B, C, L, D, h * dk)
    v = ws.value.permute(0, 1, 2, 4, 3, 5).reshape(B, C, L, D, h * dv)
    o = ws.out.reshape(B, C, L, h * dv, D)
    return q @ k.transpose(-1, -2), v @ o


def global_features(ws: TransformerWeightSpace, vo: torch.Tensor) -> torch.Tensor:
    """The invariant, non-QK features per channel and block, ``(B, C, L, 3D + 2)``:

    ``[sum_q VO_pq (D, over p), sum_pq W_A,pq (1), sum_p W_B,pq (D, over q), sum_q b_A,q (1), b_B (D)]``
    (``VO`` summed over heads). Together with ``QK`` (``D^2``) these are every quantity invariant under the
    block's group that the spec's terms read.
    """
    return torch.cat(
        [
            vo.sum(-1),
            ws.w_a.sum((-1, -2))[..., None],
            ws.w_b.sum(-2),
            ws.b_a.sum(-1, keepdim=True),
            ws.b_b,
        ],
        dim=-1,
    )


def _blocks_first(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, L, ..., F)`` -> ``(L, B, ..., C * F)``: channels folded into the feature axis, blocks leading."""
    moved = x.movedim(2, 0).movedim(2, -2)  # (L, B, ..., C, F)
    return moved.reshape(*moved.shape[:-2], -1)


class TransformerNFNLinear(nn.Module):
    r"""Equivariant linear map between transformer weight-space features (``in_channels -> out_channels``).

    Equivariant to the block-wise group ``S_h x GL(D_k)^h x GL(D_v)^h x S_D (P_O) x S_{D_A} (P_A)`` of
    :mod:`transformer_nfn.group`: ``layer(g . W) = g . layer(W)``. Every block has its own parameters; every
    term below also mixes channels (a ``c_out x c_in`` matrix per coefficient, left implicit). With
    ``QK = sum_s W_Q^(s) W_K^(s)T`` and ``VO = sum_s W_V^(s) W_O^(s)`` (``D x D``, per channel):

    Attention (no cross terms; GL indices ``k`` only by the identity):

    - ``E(W_Q)^(i)_jk = sum_p PhiQ_jp W_Q^(i)_pk`` (likewise ``E(W_K)`` with ``PhiK``, ``E(W_V)`` with ``PhiV``)
    - ``E(W_O)^(i)_jk = a sum_q W_O^(i)_jq + b W_O^(i)_jk``

    ``E(W_A)_jk`` (j: ``P_O`` index in D, k: ``P_A`` index in D_A), 13 terms:
    ``sum_pq Phi1_pq QK_pq + sum_pq Phi2_p VO_pq + sum_p Phi3_p VO_pj + Phi4 sum_pq W_A,pq + Phi5 sum_q W_A,jq
    + Phi6 sum_p W_A,pk + Phi7 W_A,jk + sum_pq Phi8_q W_B,pq + sum_q Phi9_q W_B,kq + Phi10 sum_q b_A,q
    + Phi11 b_A,k + sum_q Phi12_q b_B,q + Phi13``.

    ``E(b_A)_k``, 10 terms:
    ``sum_pq Psi1_pq QK_pq + sum_pq Psi2_p VO_pq + Psi3 sum_pq W_A,pq + Psi4 sum_p W_A,pk + sum_pq Psi5_q W_B,pq
    + sum_q Psi6_q W_B,kq + Psi7 sum_q b_A,q + Psi8 b_A,k + sum_q Psi9_q b_B,q + Psi10``.

    ``E(W_B)_jk`` (j: ``P_A`` index, k: unacted output index with full weights), 10 terms:
    ``sum_pq Gam1_kpq QK_pq + sum_pq Gam2_kp VO_pq + Gam3_k sum_pq W_A,pq + Gam4_k sum_p W_A,pj
    + sum_pq Gam5_kq W_B,pq + sum_q Gam6_kq W_B,jq + Gam7_k sum_q b_A,q + Gam8_k b_A,j + sum_q Gam9_kq b_B,q
    + Gam10_k``.

    ``E(b_B)_k``, 7 terms:
    ``sum_pq Lam1_kpq QK_pq + sum_pq Lam2_kp VO_pq + Lam3_k sum_pq W_A,pq + sum_pq Lam4_kq W_B,pq
    + Lam5_k sum_q b_A,q + sum_q Lam6_kq b_B,q + Lam7_k``.

    ``Gam1`` and ``Lam1`` are ``D x D x D`` per channel pair and dominate the parameter count
    (:meth:`parameter_counts`). With ``qk_rank=r`` they are factored through ``r`` latent features,
    ``[Gam1; Lam1]_(k, pq) = sum_t U_kt V_t,pq`` (mixing channels too): ``r (c_in D^2 + 2 c_out D)`` parameters
    instead of ``2 c_in c_out D^3``. Any map of the invariant ``QK`` into an unacted index is equivariant, so the
    factored layer keeps the symmetry exactly.

    Implementation: the terms are grouped by the index their output varies along (global, ``P_O`` index,
    ``P_A`` index, element-wise), so a block costs a handful of batched matmuls; no loops over the batch,
    blocks or heads.

    Parameters
    ----------
    spec:
        the encoder architecture (:class:`~transformer_nfn.TransformerSpec`).
    in_channels, out_channels:
        feature channels taken and returned.
    qk_rank:
        ``None`` for the full ``D^3`` terms, or the rank of their factorisation.

    Shapes: takes a :class:`~transformer_nfn.TransformerWeightSpace` with ``C = in_channels`` and returns one
    with ``C = out_channels`` (no extras).

    Examples
    --------
    >>> from transformer_nfn import TransformerSpec, TransformerWeightSpace
    >>> spec = TransformerSpec(num_blocks=2, embed_dim=8, num_heads=2, key_dim=3, value_dim=4, ffn_dim=6)
    >>> layer = TransformerNFNLinear(spec, in_channels=1, out_channels=5)
    >>> ws = TransformerWeightSpace(*(torch.randn(3, 1, *s) for s in spec.shapes().values()))
    >>> out = layer(ws)
    >>> out.num_channels, tuple(out.w_b.shape)
    (5, (3, 5, 2, 6, 8))
    """

    def __init__(self, spec: TransformerSpec, in_channels: int, out_channels: int, qk_rank: int | None = None) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if value < 1:
                raise ValueError(f"{name}: expected a positive integer, found {value}")
        if qk_rank is not None and qk_rank < 1:
            raise ValueError(f"qk_rank: expected None or a positive integer, found {qk_rank}")
        self.spec, self.in_channels, self.out_channels, self.qk_rank = spec, in_channels, out_channels, qk_rank
        L, D = spec.num_blocks, spec.embed_dim
        ci, co = in_channels, out_channels
        f_rest = 3 * D + 2
        self.num_global_out = 2 * co + 2 * co * D  # [E(W_A) scalar, E(b_A) scalar, E(W_B)_k, E(b_B)_k]

        def param(*shape: int, fan_in: int) -> nn.Parameter:
            return nn.Parameter(torch.randn(*shape) / math.sqrt(fan_in))

        # attention: full mixing along the unacted input index; W_O: identity + sum over the P_O index
        self.phi_q = param(L, co, ci, D, D, fan_in=ci * D)
        self.phi_k = param(L, co, ci, D, D, fan_in=ci * D)
        self.phi_v = param(L, co, ci, D, D, fan_in=ci * D)
        self.phi_o = param(L, 2, co, ci, fan_in=2 * ci)  # [a (sum-broadcast), b (identity)]
        # global invariants -> W_A/b_A scalars and the unacted k of W_B/b_B
        self.phi_qk_ffn_a = param(L, ci * D * D, 2 * co, fan_in=ci * D * D)  # Phi1, Psi1
        if qk_rank is None:
            self.phi_qk_ffn_b = param(L, ci * D * D, 2 * co * D, fan_in=ci * D * D)  # Gam1, Lam1 (D^3)
        else:
            self.phi_qk_down = param(L, ci * D * D, qk_rank, fan_in=ci * D * D)
            self.phi_qk_up = param(L, qk_rank, 2 * co * D, fan_in=qk_rank)
        self.phi_global = param(L, ci * f_rest, self.num_global_out, fan_in=ci * f_rest)
        self.bias = nn.Parameter(torch.zeros(L, self.num_global_out))  # Phi13, Psi10, Gam10, Lam7
        # features indexed by the P_O index j: VO column j (over p) and row sum j of W_A -> E(W_A)_j.
        self.phi_out_index = param(L, ci * (D + 1), co, fan_in=ci * (D + 1))  # Phi3, Phi5
        # features indexed by the P_A index: column sum of W_A, row of W_B, b_A
        # -> E(W_A)_k (Phi6, Phi9, Phi11), E(b_A)_k (Psi4, Psi6, Psi8), E(W_B)_j (Gam4, Gam6, Gam8)
        self.phi_hidden_index = param(L, ci * (D + 2), 2 * co + co * D, fan_in=ci * (D + 2))
        self.phi_wa = param(L, co, ci, fan_in=ci)  # Phi7

    def extra_repr(self) -> str:
        return f"spec={self.spec}, in_channels={self.in_channels}, out_channels={self.out_channels}, qk_rank={self.qk_rank}"

    def parameter_counts(self) -> dict[str, int]:
        """Parameters per term family; ``qk_to_wb_bb`` holds the ``D x D x D`` tensors (or their factors)."""
        fams = {
            "qkv_mixing": (self.phi_q, self.phi_k, self.phi_v),
            "out_projection": (self.phi_o,),
            "qk_to_wa_ba": (self.phi_qk_ffn_a,),
            "qk_to_wb_bb": (self.phi_qk_ffn_b,) if self.qk_rank is None else (self.phi_qk_down, self.phi_qk_up),
            "global_invariants": (self.phi_global, self.bias),
            "out_index": (self.phi_out_index,),
            "hidden_index": (self.phi_hidden_index,),
            "wa_identity": (self.phi_wa,),
        }
        return {k: sum(p.numel() for p in ps) for k, ps in fams.items()}

    def forward(self, ws: TransformerWeightSpace) -> TransformerWeightSpace:
        if ws.spec != self.spec or ws.num_channels != self.in_channels:
            raise ValueError(
                f"TransformerNFNLinear: expected spec {self.spec} with {self.in_channels} channels, found {ws.spec} "
                f"with {ws.num_channels}"
            )
        B, L, D, DA = ws.batch_size, self.spec.num_blocks, self.spec.embed_dim, self.spec.ffn_dim
        co = self.out_channels

        # stored (B, co, L, D, h, D_k) in memory and viewed as (B, co, L, h, D, D_k): the head-concatenated
        # matrices [W^(1) .. W^(h)] that attention_sums multiplies are then free views
        e_q = torch.einsum("locjp,bclhpk->boljhk", self.phi_q, ws.query).contiguous().transpose(3, 4)
        e_k = torch.einsum("locjp,bclhpk->boljhk", self.phi_k, ws.key).contiguous().transpose(3, 4)
        e_v = torch.einsum("locjp,bclhpk->boljhk", self.phi_v, ws.value).contiguous().transpose(3, 4)
        e_o = torch.einsum("loc,bclhj->bolhj", self.phi_o[:, 0], ws.out.sum(-1))[..., None] + torch.einsum(
            "loc,bclhjk->bolhjk", self.phi_o[:, 1], ws.out
        )

        qk, vo = attention_sums(ws)
        g_qk = _blocks_first(qk.flatten(-2))  # (L, B, C*D^2)
        g_rest = _blocks_first(global_features(ws, vo))  # (L, B, C*(3D+2))
        glob = torch.baddbmm(self.bias[:, None, :], g_rest, self.phi_global)  # (L, B, 2co + 2co D)
        qk_a = g_qk @ self.phi_qk_ffn_a  # (L, B, 2co)
        if self.qk_rank is None:
            qk_b = g_qk @ self.phi_qk_ffn_b
        else:
            qk_b = (g_qk @ self.phi_qk_down) @ self.phi_qk_up
        glob = glob + torch.cat([qk_a, qk_b], dim=-1)
        # split (whose backward is a cat) rather than slicing (whose backward zero-fills the whole tensor per slice)
        s_wa, s_ba, s_wb, s_bb = torch.split(glob, [co, co, co * D, co * D], dim=-1)  # (L, B, ...)
        s_wb, s_bb = s_wb.reshape(L, B, co, D), s_bb.reshape(L, B, co, D)

        out_feats = torch.cat([vo.transpose(-1, -2), ws.w_a.sum(-1)[..., None]], dim=-1)  # (B, C, L, D_j, D+1)
        r_wa = _blocks_first(out_feats) @ self.phi_out_index[:, None]  # (L, B, D, co)
        hid_feats = torch.cat([ws.w_a.sum(-2)[..., None], ws.w_b, ws.b_a[..., None]], dim=-1)  # (B, C, L, DA, D+2)
        hid_x = _blocks_first(hid_feats)  # (L, B, DA, C*(D+2))
        hid_w = self.phi_hidden_index[:, None]
        c_wa, c_ba = torch.split(hid_x @ hid_w[..., : 2 * co], [co, co], dim=-1)  # (L, B, DA, co)
        # E(W_B)_jk = k-indexed + (j, k)-indexed, formed in (L, B, DA, co, D) and transposed once
        e_wb = (hid_x @ hid_w[..., 2 * co :]).view(L, B, DA, co, D) + s_wb[:, :, None]
        e_wb = e_wb.permute(1, 3, 0, 2, 4)

        # E(W_A)_jk = scalar + P_O-indexed + P_A-indexed + identity: the small parts are made contiguous so that
        # the one full-size broadcast (and the fused multiply-add) write contiguous memory
        row = (s_wa.permute(1, 2, 0)[..., None] + r_wa.permute(1, 3, 0, 2)).contiguous()  # (B, co, L, D)
        col = c_wa.permute(1, 3, 0, 2).contiguous()  # (B, co, L, DA)
        e_wa = row[..., None] + col[..., None, :]
        if self.in_channels == 1:
            e_wa = torch.addcmul(e_wa, self.phi_wa[..., 0].T[None, :, :, None, None], ws.w_a)
        else:
            e_wa = e_wa + torch.einsum("loc,bcljk->boljk", self.phi_wa, ws.w_a)
        e_ba = s_ba.permute(1, 2, 0)[..., None] + c_ba.permute(1, 3, 0, 2)
        e_bb = s_bb.permute(1, 2, 0, 3)
        # the einsums and transposes above leave permuted strides; every later element-wise op and reduction
        # (ReLU, its backward, the next layer's sums) runs several times faster on contiguous memory
        outs = (e_o, e_wa, e_wb, e_ba, e_bb)
        return TransformerWeightSpace(e_q, e_k, e_v, *(t.contiguous() for t in outs))
