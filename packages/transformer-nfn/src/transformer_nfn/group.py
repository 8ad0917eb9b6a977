"""The maximal symmetry group of the zoo's encoder and its action on :class:`TransformerWeightSpace`.

Per block (independently across blocks; spec sections 1-2): a head permutation ``tau`` in ``S_h``, per head
``M_i`` in GL(D_k) and ``N_i`` in GL(D_v), a permutation ``P_O`` of the D attention output coordinates and
``P_A`` of the D_A hidden units. In the row-vector convention it acts by

    W_Q^(i) -> W_Q^(tau(i)) M_i^T,          W_K^(i) -> W_K^(tau(i)) M_i^{-1},
    W_V^(i) -> W_V^(tau(i)) N_i,            W_O^(i) -> N_i^{-1} W_O^(tau(i)) P_O,
    W_A -> P_O^{-1} W_A P_A,                W_B -> P_A^{-1} W_B,
    b_A -> b_A P_A,                         b_B -> b_B,

where ``P`` is :class:`weightspace_core.groups.Permutation`'s matrix (``(P x)_i = x_{perm[i]}``). It keeps
``W_Q^(i) W_K^(i)T`` and ``W_V^(i) W_O^(i) P_O`` per head (up to the head relabelling), so the attention output
becomes ``MHA(Y) P_O``; the parameter-free LayerNorm commutes with ``P_O`` and ``W_A`` undoes it. Embedding and
classifier weights are not acted on.
"""

from __future__ import annotations

import copy
import itertools

import torch
from torch import nn

from transformer_nfn.weightspace import TransformerSpec, TransformerWeightSpace
from weightspace_core.groups import GeneralLinear, Permutation

__all__ = ["TransformerGroupElement", "attention_invariants", "equivalent", "sample_group_element"]


def _perm_matrices(perms: torch.Tensor, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``(..., n)`` permutations -> ``(..., n, n)`` matrices with ``P[i, perm[i]] = 1``."""
    eye = torch.eye(perms.shape[-1], dtype=dtype, device=device)
    return eye[perms.to(device)]


class TransformerGroupElement:
    """An element of ``prod_blocks (S_h x GL(D_k)^h x GL(D_v)^h x S_D x S_{D_A})``, one per network or shared.

    Parameters
    ----------
    spec:
        the encoder architecture acted on.
    head_perm:
        int64 ``(G, L, h)``: ``tau`` per block (new head i takes old head ``tau[i]``).
    m, m_inv:
        float64 ``(G, L, h, D_k, D_k)``: ``M_i`` and ``M_i^{-1}`` indexed by the NEW head i.
    n, n_inv:
        float64 ``(G, L, h, D_v, D_v)``: ``N_i`` and ``N_i^{-1}``.
    out_perm:
        int64 ``(G, L, D)``: ``P_O`` per block.
    hidden_perm:
        int64 ``(G, L, D_A)``: ``P_A`` per block.

    ``G = 1`` acts on every network of a batch alike; ``G = B`` gives each network its own element.

    Examples
    --------
    >>> from transformer_nfn.zoo import ZooTransformer
    >>> model = ZooTransformer(num_heads=2, key_dim=5, value_dim=3).double()
    >>> g = sample_group_element(TransformerSpec.from_module(model), generator=torch.Generator().manual_seed(0))
    >>> x = torch.randn(2, 1, 28, 28, dtype=torch.float64)
    >>> torch.allclose(g.act_on_module(model)(x), model(x), rtol=1e-10, atol=1e-12)
    True
    """

    def __init__(
        self,
        spec: TransformerSpec,
        head_perm: torch.Tensor,
        m: torch.Tensor,
        m_inv: torch.Tensor,
        n: torch.Tensor,
        n_inv: torch.Tensor,
        out_perm: torch.Tensor,
        hidden_perm: torch.Tensor,
    ) -> None:
        L, h, D, dk, dv, da = (
            spec.num_blocks,
            spec.num_heads,
            spec.embed_dim,
            spec.key_dim,
            spec.value_dim,
            spec.ffn_dim,
        )
        G = head_perm.shape[0] if head_perm.ndim == 3 else -1
        expected = {
            "head_perm": (head_perm, (G, L, h)),
            "m": (m, (G, L, h, dk, dk)),
            "m_inv": (m_inv, (G, L, h, dk, dk)),
            "n": (n, (G, L, h, dv, dv)),
            "n_inv": (n_inv, (G, L, h, dv, dv)),
            "out_perm": (out_perm, (G, L, D)),
            "hidden_perm": (hidden_perm, (G, L, da)),
        }
        for name, (t, shape) in expected.items():
            if tuple(t.shape) != shape:
                raise ValueError(
                    f"TransformerGroupElement.{name}: expected shape {shape} for {spec}, found {tuple(t.shape)}"
                )
        self.spec = spec
        self.head_perm, self.out_perm, self.hidden_perm = head_perm.long(), out_perm.long(), hidden_perm.long()
        self.m, self.m_inv = m.to(torch.float64), m_inv.to(torch.float64)
        self.n, self.n_inv = n.to(torch.float64), n_inv.to(torch.float64)

    @property
    def num_elements(self) -> int:
        return int(self.head_perm.shape[0])

    def inverse(self) -> TransformerGroupElement:
        """The inverse: ``tau' = tau^{-1}``, ``M'_j = M_{tau^{-1}(j)}^{-1}``, ``N'_j = N_{tau^{-1}(j)}^{-1}``,
        ``P_O' = P_O^{-1}``, ``P_A' = P_A^{-1}``."""
        inv_tau = torch.argsort(self.head_perm, dim=-1)

        def gather(t: torch.Tensor) -> torch.Tensor:
            idx = inv_tau[..., None, None].expand(*inv_tau.shape, *t.shape[-2:])
            return torch.gather(t, 2, idx)

        return TransformerGroupElement(
            self.spec,
            inv_tau,
            gather(self.m_inv),
            gather(self.m),
            gather(self.n_inv),
            gather(self.n),
            torch.argsort(self.out_perm, dim=-1),
            torch.argsort(self.hidden_perm, dim=-1),
        )

    def act(self, ws: TransformerWeightSpace) -> TransformerWeightSpace:
        """The transformed weight space (every channel transformed alike; extras unchanged).

        Shapes as in :class:`TransformerWeightSpace`; ``G`` must be 1 or ``ws.batch_size``.
        """
        if ws.spec != self.spec:
            raise ValueError(f"act: expected a weight space of spec {self.spec}, found {ws.spec}")
        G, B = self.num_elements, ws.batch_size
        if G not in (1, B):
            raise ValueError(f"act: expected 1 or {B} group elements for a batch of {B}, found {G}")
        dtype, device = ws.dtype, ws.device

        def cast(t: torch.Tensor) -> torch.Tensor:
            return t.to(dtype=dtype, device=device).unsqueeze(1)  # (G, 1, ...) broadcasts over channels

        tau = cast(_perm_matrices(self.head_perm, torch.float64, torch.device("cpu")))  # (G,1,L,h,h)
        p_o = cast(_perm_matrices(self.out_perm, torch.float64, torch.device("cpu")))  # (G,1,L,D,D)
        p_a = cast(_perm_matrices(self.hidden_perm, torch.float64, torch.device("cpu")))  # (G,1,L,DA,DA)
        m, m_inv, n, n_inv = cast(self.m), cast(self.m_inv), cast(self.n), cast(self.n_inv)

        def heads(t: torch.Tensor) -> torch.Tensor:
            # new head i = old head tau(i): T[i, tau(i)] = 1 contracts the head axis exactly
            flat = t.reshape(*t.shape[:4], -1)
            return (tau @ flat).reshape(t.shape)

        p_o_b = p_o.unsqueeze(3)  # (G,1,L,1,D,D), broadcast over heads
        return ws.replace(
            query=heads(ws.query) @ m.transpose(-1, -2),
            key=heads(ws.key) @ m_inv,
            value=heads(ws.value) @ n,
            out=n_inv @ heads(ws.out) @ p_o_b,
            w_a=p_o.transpose(-1, -2) @ ws.w_a @ p_a,
            w_b=p_a.transpose(-1, -2) @ ws.w_b,
            b_a=(ws.b_a.unsqueeze(-2) @ p_a).squeeze(-2),
            b_b=ws.b_b,
        )

    def act_on_module(self, model: nn.Module) -> nn.Module:
        """A transformed deep copy of a :class:`~transformer_nfn.zoo.ZooTransformer` (needs ``G = 1``)."""
        if self.num_elements != 1:
            raise ValueError(f"act_on_module: expected a single group element, found {self.num_elements}")
        ws = TransformerWeightSpace.from_module(model)
        return self.act(ws).load_into(copy.deepcopy(model))

    def __repr__(self) -> str:
        return f"TransformerGroupElement(spec={self.spec}, num_elements={self.num_elements})"


def sample_group_element(
    spec: TransformerSpec,
    num_elements: int = 1,
    condition: float = 10.0,
    heads: bool = True,
    linear: bool = True,
    out_perm: bool = True,
    hidden_perm: bool = True,
    generator: torch.Generator | None = None,
) -> TransformerGroupElement:
    """A random group element: uniform permutations and well-conditioned GL factors, per block.

    Parameters
    ----------
    spec:
        the encoder architecture.
    num_elements:
        ``G``: 1 (one element for every network) or the batch size (one each).
    condition:
        bound on the condition number of each ``M_i``, ``N_i`` (:meth:`GeneralLinear.sample`).
    heads, linear, out_perm, hidden_perm:
        sample that factor (otherwise the identity): head permutations, the GL factors, ``P_O``, ``P_A``.
    generator:
        the source of randomness.

    Examples
    --------
    >>> spec = TransformerSpec(num_blocks=2, embed_dim=8, num_heads=2, key_dim=3, value_dim=4, ffn_dim=6)
    >>> g = sample_group_element(spec, generator=torch.Generator().manual_seed(0))
    >>> tuple(g.m.shape), tuple(g.out_perm.shape)
    ((1, 2, 2, 3, 3), (1, 2, 8))
    """
    if num_elements < 1:
        raise ValueError(f"num_elements: expected a positive integer, found {num_elements}")
    G, L, h = num_elements, spec.num_blocks, spec.num_heads
    D, dk, dv, da = spec.embed_dim, spec.key_dim, spec.value_dim, spec.ffn_dim

    def perms(n: int, active: bool) -> torch.Tensor:
        rows = [Permutation.sample(n, generator=generator).perm if active else torch.arange(n) for _ in range(G * L)]
        return torch.stack(rows).view(G, L, n)

    def linears(k: int) -> tuple[torch.Tensor, torch.Tensor]:
        els = [
            GeneralLinear.sample(k, condition=condition, generator=generator) if linear else GeneralLinear.identity(k)
            for _ in range(G * L * h)
        ]
        mat = torch.stack([e.matrix() for e in els]).view(G, L, h, k, k)
        inv = torch.stack([e.inverse().matrix() for e in els]).view(G, L, h, k, k)
        return mat, inv

    tau = perms(h, heads)
    m, m_inv = linears(dk)
    n, n_inv = linears(dv)
    return TransformerGroupElement(spec, tau, m, m_inv, n, n_inv, perms(D, out_perm), perms(da, hidden_perm))


def attention_invariants(ws: TransformerWeightSpace) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-head ``QK_i = W_Q^(i) W_K^(i)T`` and ``VO_i = W_V^(i) W_O^(i)``, each ``(B, C, L, h, D, D)``.

    They are invariant under the GL factors, permuted by ``tau`` along the head axis, and ``VO`` is
    right-multiplied by ``P_O``.
    """
    return ws.query @ ws.key.transpose(-1, -2), ws.value @ ws.out


def _assignment_cost_min(cost: torch.Tensor) -> torch.Tensor:
    """For ``(N, h, h)`` costs, the optimal assignment per item as an ``(N, h)`` permutation (row i -> column).

    Exhaustive over the ``h!`` permutations for ``h <= 7`` (vectorised over items); the Hungarian algorithm
    (scipy, when installed) beyond that.
    """
    h = cost.shape[1]
    if h <= 7:
        perms = torch.tensor(list(itertools.permutations(range(h))), device=cost.device)  # (P, h)
        rows = torch.arange(h, device=cost.device)
        totals = cost[:, rows[None, :], perms].sum(-1)  # (N, P)
        return perms[totals.argmin(dim=1)]
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ValueError(f"equivalent: matching {h} heads needs scipy (pip install scipy); at most 7 without") from err
    out = [torch.as_tensor(linear_sum_assignment(c.cpu().numpy())[1]) for c in cost]
    return torch.stack(out).to(cost.device)


def _match_columns(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The permutation ``p`` (``(N, n)``) with ``a[..., :, j] ~= b[..., :, p[j]]``: each column of ``a`` is paired
    with its nearest column of ``b`` by sorting a generic projection of both (exact for equal column sets)."""
    probe = torch.linspace(1.0, 2.0, a.shape[-2], dtype=a.dtype, device=a.device)
    ka = torch.einsum("r,nrc->nc", probe, a)
    kb = torch.einsum("r,nrc->nc", probe, b)
    ia, ib = ka.argsort(dim=-1), kb.argsort(dim=-1)
    p = torch.empty_like(ia)
    p.scatter_(-1, ia, ib)
    return p


def equivalent(
    a: TransformerWeightSpace, b: TransformerWeightSpace, rtol: float = 1e-6, full_block: bool = False
) -> torch.Tensor:
    """Whether two weight sets define the same function, per network and channel: a bool ``(B, C)`` tensor.

    With ``full_block=False`` the question is about the attention layers alone: does each block's
    ``MHA(Y) = sum_i softmax(Y QK_i Y^T / sqrt(D_k)) Y VO_i`` agree? For generic weights that holds iff a head
    bijection ``tau`` matches ``QK_i^a = QK_tau(i)^b`` and ``VO_i^a = VO_tau(i)^b`` (spec section 1); ``tau`` is
    the assignment minimising ``sum_i ||QK_i^a - QK_tau(i)^b||^2 + ||VO_i^a - VO_tau(i)^b||^2``, and the weight
    sets are declared equivalent when the matched relative error ``||a - b|| / ||b||`` of every block is at most
    ``rtol``.

    With ``full_block=True`` the whole encoder (attention and FFN) is compared under the full group: heads are
    matched on ``QK`` alone (``P_O`` permutes the columns of ``VO``), ``P_O`` is recovered by pairing the columns
    of the stacked ``VO_i`` and ``P_A`` by pairing the columns of ``[W_A; b_A; W_B^T]``; then ``QK``, ``VO``,
    ``W_A``, ``W_B``, ``b_A``, ``b_B`` must all agree to ``rtol``.

    Examples
    --------
    >>> spec = TransformerSpec(num_blocks=1, embed_dim=6, num_heads=2, key_dim=3, value_dim=2, ffn_dim=5)
    >>> gen = torch.Generator().manual_seed(0)
    >>> from transformer_nfn.zoo import ZooTransformer
    >>> ws = TransformerWeightSpace.from_module(ZooTransformer(6, 2, 3, 2, 1, 5, image_size=4)).to(torch.float64)
    >>> g = sample_group_element(spec, out_perm=False, hidden_perm=False, generator=gen)
    >>> equivalent(ws, g.act(ws)).tolist()
    [[True]]
    >>> equivalent(ws, sample_group_element(spec, generator=gen).act(ws), full_block=True).tolist()
    [[True]]
    """
    if a.spec != b.spec or a.batch_size != b.batch_size or a.num_channels != b.num_channels:
        raise ValueError(
            f"equivalent: expected weight spaces of one spec and size, found {a.spec} (B={a.batch_size}, "
            f"C={a.num_channels}) and {b.spec} (B={b.batch_size}, C={b.num_channels})"
        )
    s = a.spec
    B, C, L, h, D = a.batch_size, a.num_channels, s.num_blocks, s.num_heads, s.embed_dim
    dtype = torch.promote_types(a.dtype, torch.float64)
    qk_a, vo_a = (t.to(dtype).reshape(B * C * L, h, D, D) for t in attention_invariants(a))
    qk_b, vo_b = (t.to(dtype).reshape(B * C * L, h, D, D) for t in attention_invariants(b))

    def pair_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ((x[:, :, None] - y[:, None, :]) ** 2).sum((-1, -2))

    cost = pair_cost(qk_a, qk_b) + (0.0 if full_block else pair_cost(vo_a, vo_b))
    tau = _assignment_cost_min(cost)  # (N, h): head i of a <-> head tau[i] of b
    idx = tau[..., None, None].expand(-1, -1, D, D)
    qk_b, vo_b = torch.gather(qk_b, 1, idx), torch.gather(vo_b, 1, idx)
    pairs = [(qk_a, qk_b)]
    if full_block:
        # VO_a = VO_b P_O and W_A^a = P_O^T W_A^b P_A: find both permutations, undo them on b
        stacked_a, stacked_b = vo_a.reshape(-1, h * D, D), vo_b.reshape(-1, h * D, D)
        p_o = _match_columns(stacked_a, stacked_b)  # column j of a <-> column p_o[j] of b
        vo_b = torch.gather(vo_b, -1, p_o[:, None, None, :].expand(-1, h, D, -1))

        def blocks(t: torch.Tensor) -> torch.Tensor:
            return t.to(dtype).reshape(B * C * L, *t.shape[3:])

        wa_a, wa_b = blocks(a.w_a), blocks(b.w_a)
        wa_b = torch.gather(wa_b, 1, p_o[:, :, None].expand(-1, -1, s.ffn_dim))
        feat_a = torch.cat([wa_a, blocks(a.b_a)[:, None], blocks(a.w_b).transpose(-1, -2)], dim=1)
        feat_b = torch.cat([wa_b, blocks(b.b_a)[:, None], blocks(b.w_b).transpose(-1, -2)], dim=1)
        p_a = _match_columns(feat_a, feat_b)
        feat_b = torch.gather(feat_b, -1, p_a[:, None, :].expand(-1, feat_b.shape[1], -1))
        pairs += [(vo_a, vo_b), (feat_a, feat_b), (blocks(a.b_b), blocks(b.b_b))]
    else:
        pairs.append((vo_a, vo_b))
    diff = torch.zeros(B * C * L, dtype=dtype, device=qk_a.device)
    norm = torch.zeros_like(diff)
    for x, y in pairs:
        diff = diff + ((x - y) ** 2).reshape(B * C * L, -1).sum(-1)
        norm = norm + (y**2).reshape(B * C * L, -1).sum(-1)
    rel = (diff / norm.clamp_min(torch.finfo(dtype).tiny)).sqrt().view(B, C, L)
    return (rel <= rtol).all(dim=-1)
