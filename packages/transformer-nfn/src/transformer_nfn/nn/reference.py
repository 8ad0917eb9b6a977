"""A term-by-term reference evaluation of :class:`TransformerNFNLinear` and :class:`TransformerNFNInvariant`.

Each term of the spec's equations is computed on its own, with an explicit loop over the heads ``s`` for
``QK_s`` and ``VO_s``, the way the equations read (and the way the published implementation is organised). It
shares the layers' parameters, cut into one named coefficient tensor per term, so it cross-checks the fused
implementation and serves as the side-by-side baseline of the speed benchmark. Slow by design; not for training.
"""

from __future__ import annotations

import torch

from transformer_nfn.nn.invariant import TransformerNFNInvariant
from transformer_nfn.nn.linear import TransformerNFNLinear
from transformer_nfn.weightspace import TransformerWeightSpace

__all__ = ["linear_terms", "termwise_invariant", "termwise_linear"]


def linear_terms(layer: TransformerNFNLinear) -> dict[str, torch.Tensor]:
    """The layer's coefficients as one tensor per term, named after the docstring equations.

    Every tensor leads with ``(L, c_out, c_in)`` followed by the term's own indices (``Gam1``: ``k, p, q``).
    With ``qk_rank`` set, ``Gam1``/``Lam1`` are the products of the two factors.
    """
    L, ci, co = layer.spec.num_blocks, layer.in_channels, layer.out_channels
    D = layer.spec.embed_dim
    f_rest = 3 * D + 2

    def glob_in(t: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        return t.view(L, ci, f_rest, -1)[:, :, start:stop]  # (L, c_in, n, out)

    g = layer.phi_global
    # output slices of the global matrices: [W_A co | b_A co | W_B co*D | b_B co*D]
    outs = {
        "wa": slice(0, co),
        "ba": slice(co, 2 * co),
        "wb": slice(2 * co, 2 * co + co * D),
        "bb": slice(2 * co + co * D, 2 * co + 2 * co * D),
    }
    # input slices of the non-QK global features: [VO row sums D | sum W_A 1 | W_B column sums D | sum b_A 1 | b_B D]
    ins = {
        "vo": (0, D),
        "wa": (D, D + 1),
        "wb": (D + 1, 2 * D + 1),
        "ba": (2 * D + 1, 2 * D + 2),
        "bb": (2 * D + 2, 3 * D + 2),
    }

    def scalar_out(inp: str, out: str) -> torch.Tensor:
        t = glob_in(g, *ins[inp])[..., outs[out]]  # (L, ci, n, co)
        return t.permute(0, 3, 1, 2)  # (L, co, ci, n)

    def vector_out(inp: str, out: str) -> torch.Tensor:
        t = glob_in(g, *ins[inp])[..., outs[out]].reshape(L, ci, -1, co, D)  # (L, ci, n, co, k)
        return t.permute(0, 3, 1, 4, 2)  # (L, co, ci, k, n)

    if layer.qk_rank is None:
        qk_b = layer.phi_qk_ffn_b
    else:
        qk_b = layer.phi_qk_down @ layer.phi_qk_up
    qk_b = qk_b.view(L, ci, D, D, 2, co, D)  # (L, ci, p, q, [W_B, b_B], co, k)
    qk_a = layer.phi_qk_ffn_a.view(L, ci, D, D, 2, co)
    oi = layer.phi_out_index.view(L, ci, D + 1, co)
    hi = layer.phi_hidden_index.view(L, ci, D + 2, 2 * co + co * D)
    hi_wb = hi[..., 2 * co :].reshape(L, ci, D + 2, co, D)  # (L, ci, n, co, k)
    bias = layer.bias
    return {
        "PhiQ": layer.phi_q,
        "PhiK": layer.phi_k,
        "PhiV": layer.phi_v,
        "a": layer.phi_o[:, 0],
        "b": layer.phi_o[:, 1],
        # E(W_A)
        "Phi1": qk_a[..., 0, :].permute(0, 4, 1, 2, 3),
        "Phi2": scalar_out("vo", "wa"),
        "Phi3": oi[:, :, :D].permute(0, 3, 1, 2),
        "Phi4": scalar_out("wa", "wa")[..., 0],
        "Phi5": oi[:, :, D].permute(0, 2, 1),
        "Phi6": hi[:, :, 0, :co].permute(0, 2, 1),
        "Phi7": layer.phi_wa,
        "Phi8": scalar_out("wb", "wa"),
        "Phi9": hi[:, :, 1 : D + 1, :co].permute(0, 3, 1, 2),
        "Phi10": scalar_out("ba", "wa")[..., 0],
        "Phi11": hi[:, :, D + 1, :co].permute(0, 2, 1),
        "Phi12": scalar_out("bb", "wa"),
        "Phi13": bias[:, outs["wa"]],
        # E(b_A)
        "Psi1": qk_a[..., 1, :].permute(0, 4, 1, 2, 3),
        "Psi2": scalar_out("vo", "ba"),
        "Psi3": scalar_out("wa", "ba")[..., 0],
        "Psi4": hi[:, :, 0, co : 2 * co].permute(0, 2, 1),
        "Psi5": scalar_out("wb", "ba"),
        "Psi6": hi[:, :, 1 : D + 1, co : 2 * co].permute(0, 3, 1, 2),
        "Psi7": scalar_out("ba", "ba")[..., 0],
        "Psi8": hi[:, :, D + 1, co : 2 * co].permute(0, 2, 1),
        "Psi9": scalar_out("bb", "ba"),
        "Psi10": bias[:, outs["ba"]],
        # E(W_B)
        "Gam1": qk_b[..., 0, :, :].permute(0, 4, 1, 5, 2, 3),
        "Gam2": vector_out("vo", "wb"),
        "Gam3": vector_out("wa", "wb")[..., 0],
        "Gam4": hi_wb[:, :, 0].permute(0, 2, 1, 3),
        "Gam5": vector_out("wb", "wb"),
        "Gam6": hi_wb[:, :, 1 : D + 1].permute(0, 3, 1, 4, 2),
        "Gam7": vector_out("ba", "wb")[..., 0],
        "Gam8": hi_wb[:, :, D + 1].permute(0, 2, 1, 3),
        "Gam9": vector_out("bb", "wb"),
        "Gam10": bias[:, outs["wb"]].reshape(L, co, D),
        # E(b_B)
        "Lam1": qk_b[..., 1, :, :].permute(0, 4, 1, 5, 2, 3),
        "Lam2": vector_out("vo", "bb"),
        "Lam3": vector_out("wa", "bb")[..., 0],
        "Lam4": vector_out("wb", "bb"),
        "Lam5": vector_out("ba", "bb")[..., 0],
        "Lam6": vector_out("bb", "bb"),
        "Lam7": bias[:, outs["bb"]].reshape(L, co, D),
    }


def _per_head_products(ws: TransformerWeightSpace) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    h = ws.spec.num_heads
    qk = [ws.query[:, :, :, s] @ ws.key[:, :, :, s].transpose(-1, -2) for s in range(h)]
    vo = [ws.value[:, :, :, s] @ ws.out[:, :, :, s] for s in range(h)]
    return qk, vo


def termwise_linear(layer: TransformerNFNLinear, ws: TransformerWeightSpace) -> TransformerWeightSpace:
    """``layer(ws)`` evaluated term by term from :func:`linear_terms` (same result, up to rounding)."""
    t = linear_terms(layer)
    qk, vo = _per_head_products(ws)
    wa, wb, ba, bb = ws.w_a, ws.w_b, ws.b_a, ws.b_b
    ein = torch.einsum

    e_q = ein("locjp,bclhpk->bolhjk", t["PhiQ"], ws.query)
    e_k = ein("locjp,bclhpk->bolhjk", t["PhiK"], ws.key)
    e_v = ein("locjp,bclhpk->bolhjk", t["PhiV"], ws.value)
    e_o = ein("loc,bclhjq->bolhj", t["a"], ws.out)[..., None] + ein("loc,bclhjk->bolhjk", t["b"], ws.out)

    e_wa = sum(ein("locpq,bclpq->bol", t["Phi1"], x)[..., None, None] for x in qk)
    e_wa = e_wa + sum(ein("locp,bclpq->bol", t["Phi2"], x)[..., None, None] for x in vo)
    e_wa = e_wa + sum(ein("locp,bclpj->bolj", t["Phi3"], x)[..., None] for x in vo)
    e_wa = e_wa + ein("loc,bclpq->bol", t["Phi4"], wa)[..., None, None]
    e_wa = e_wa + ein("loc,bcljq->bolj", t["Phi5"], wa)[..., None]
    e_wa = e_wa + ein("loc,bclpk->bolk", t["Phi6"], wa)[..., None, :]
    e_wa = e_wa + ein("loc,bcljk->boljk", t["Phi7"], wa)
    e_wa = e_wa + ein("locq,bclpq->bol", t["Phi8"], wb)[..., None, None]
    e_wa = e_wa + ein("locq,bclkq->bolk", t["Phi9"], wb)[..., None, :]
    e_wa = e_wa + ein("loc,bclq->bol", t["Phi10"], ba)[..., None, None]
    e_wa = e_wa + ein("loc,bclk->bolk", t["Phi11"], ba)[..., None, :]
    e_wa = e_wa + ein("locq,bclq->bol", t["Phi12"], bb)[..., None, None]
    e_wa = e_wa + t["Phi13"].T[None, :, :, None, None]

    e_ba = sum(ein("locpq,bclpq->bol", t["Psi1"], x)[..., None] for x in qk)
    e_ba = e_ba + sum(ein("locp,bclpq->bol", t["Psi2"], x)[..., None] for x in vo)
    e_ba = e_ba + ein("loc,bclpq->bol", t["Psi3"], wa)[..., None]
    e_ba = e_ba + ein("loc,bclpk->bolk", t["Psi4"], wa)
    e_ba = e_ba + ein("locq,bclpq->bol", t["Psi5"], wb)[..., None]
    e_ba = e_ba + ein("locq,bclkq->bolk", t["Psi6"], wb)
    e_ba = e_ba + ein("loc,bclq->bol", t["Psi7"], ba)[..., None]
    e_ba = e_ba + ein("loc,bclk->bolk", t["Psi8"], ba)
    e_ba = e_ba + ein("locq,bclq->bol", t["Psi9"], bb)[..., None]
    e_ba = e_ba + t["Psi10"].T[None, :, :, None]

    e_wb = sum(ein("lockpq,bclpq->bolk", t["Gam1"], x)[..., None, :] for x in qk)
    e_wb = e_wb + sum(ein("lockp,bclpq->bolk", t["Gam2"], x)[..., None, :] for x in vo)
    e_wb = e_wb + ein("lock,bclpq->bolk", t["Gam3"], wa)[..., None, :]
    e_wb = e_wb + ein("lock,bclpj->boljk", t["Gam4"], wa)
    e_wb = e_wb + ein("lockq,bclpq->bolk", t["Gam5"], wb)[..., None, :]
    e_wb = e_wb + ein("lockq,bcljq->boljk", t["Gam6"], wb)
    e_wb = e_wb + ein("lock,bclq->bolk", t["Gam7"], ba)[..., None, :]
    e_wb = e_wb + ein("lock,bclj->boljk", t["Gam8"], ba)
    e_wb = e_wb + ein("lockq,bclq->bolk", t["Gam9"], bb)[..., None, :]
    e_wb = e_wb + t["Gam10"].permute(1, 0, 2)[None, :, :, None, :]

    e_bb = sum(ein("lockpq,bclpq->bolk", t["Lam1"], x) for x in qk)
    e_bb = e_bb + sum(ein("lockp,bclpq->bolk", t["Lam2"], x) for x in vo)
    e_bb = e_bb + ein("lock,bclpq->bolk", t["Lam3"], wa)
    e_bb = e_bb + ein("lockq,bclpq->bolk", t["Lam4"], wb)
    e_bb = e_bb + ein("lock,bclq->bolk", t["Lam5"], ba)
    e_bb = e_bb + ein("lockq,bclq->bolk", t["Lam6"], bb)
    e_bb = e_bb + t["Lam7"].permute(1, 0, 2)[None]
    return TransformerWeightSpace(e_q, e_k, e_v, e_o, e_wa, e_wb, e_ba, e_bb)


def termwise_invariant(layer: TransformerNFNInvariant, ws: TransformerWeightSpace) -> torch.Tensor:
    """``layer(ws)`` evaluated term by term (``Om1 .. Om7`` of the docstring), a loop over the heads."""
    L, ci, D = layer.spec.num_blocks, layer.in_channels, layer.spec.embed_dim
    om = layer.omega.view(L, ci, D * D + 3 * D + 2, layer.out_features)
    om1 = om[:, :, : D * D].reshape(L, ci, D, D, -1)
    rest = om[:, :, D * D :]
    om2, om3, om4 = rest[:, :, :D], rest[:, :, D], rest[:, :, D + 1 : 2 * D + 1]
    om5, om6 = rest[:, :, 2 * D + 1], rest[:, :, 2 * D + 2 :]
    qk, vo = _per_head_products(ws)
    ein = torch.einsum
    out = sum(ein("lcpqo,bclpq->blo", om1, x) for x in qk)
    out = out + sum(ein("lcpo,bclpq->blo", om2, x) for x in vo)
    out = out + ein("lco,bclpq->blo", om3, ws.w_a)
    out = out + ein("lcqo,bclpq->blo", om4, ws.w_b)
    out = out + ein("lco,bclq->blo", om5, ws.b_a)
    out = out + ein("lcqo,bclq->blo", om6, ws.b_b)
    out = out + layer.bias[None]
    if layer.layer_norm:
        out = torch.nn.functional.layer_norm(out, (layer.out_features,)) * layer.norm_weight + layer.norm_bias
    return out.reshape(ws.batch_size, -1)
