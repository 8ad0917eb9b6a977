"""MAGEP-NFN: equivariant and invariant polynomial layers on the weight space of an MLP or CNN.

Group. For an L-layer network, ``g = (g_0, ..., g_L)`` with ``g_0 = g_L = I`` and every hidden ``g_i = D_i P_i``
monomial. It acts by ``W^(i) -> g_i W^(i) g_{i-1}^-1`` and ``b^(i) -> g_i b^(i)``. The layers here are exactly
equivariant (invariant) for any non-zero diagonal, so they serve positive scalings (ReLU networks) and signs (tanh
and sine networks) alike; the pointwise nonlinearity placed between layers decides which group a stack keeps.

Stable polynomial terms, per channel, for ``0 <= t < s <= L``:

- ``W_(s,t) = W^(s) ... W^(t+1)`` (transforms as ``g_s . g_t^-1``);
- ``[WW]_(s,t) = W_(s,0) Psi' W_(L,t)`` and ``[bW]_(s,t) = b^(s) Psi W_(L,t)`` (same transformation, because
  ``g_0 = g_L = I``);
- ``v_s = sum_t [Wb]_(s,t) = sum_t W_(s,t) b^(t)`` by the recursion ``v_1 = 0``, ``v_s = W^(s) (v_{s-1} + b^(s-1))``
  (transforms as ``g_s .``);
- the traces ``tr(b^(s) Psi''' W_(L,s)) = Psi''' W_(L,s) b^(s)``, ``1 <= s < L`` (invariant).

Only prefix products ``W_(s,0)`` (L - 1 matrix products), the suffix products ``Psi W_(L,t)`` for the three
stacked Psi (L products with the thin ``(n_0 + 2, n_L)`` stack, never an ``(n_L, n_t)`` matrix) and the chain ``v``
(L - 1 matrix-vector products) are formed: O(L) products per forward.

The spec's other trace, ``tr(W_(s,0) Psi'' W_(L,s))``, equals ``tr(Psi'' W_(L,s) W_(s,0)) = tr(Psi'' W_(L,0))``
for every ``s`` by cyclicity: it is a fixed linear function of ``W_(L,0)``, which the layers already take in full,
so it is not formed.

Convolutions. A kernel ``W^(i)`` of shape ``(n_i, n_{i-1}, kh, kw)`` enters the matrix products through its
spatially summed kernel ``sum_{h,w} W^(i)[:, :, h, w]`` (the map the convolution applies to a constant image,
i.e. what survives the global average pool at the end of the network). The group acts on every kernel position
alike, so the summed kernel transforms as ``g_i . g_{i-1}^-1`` exactly and all product terms stay stable. In the
per-entry (degree one) maps the kernel positions are folded into the channel axis: each of the ``kh * kw``
positions is a channel of its own, and the outputs are unfolded back to kernels.

Normalisation (``normalize=True``). Products of L matrices grow or shrink like the L-th power of the weights'
magnitude. Per network and channel we compute the invariant gain ``kappa = max(rms(|W^(L)| ... |W^(1)|) ** (1/L),
min_gain)``: the L-th root of the root-mean-square path norm, with ``|.|`` entrywise (summed kernels for convolutions).
It is exactly invariant, since ``|g M h^-1| = |g| |M| |h|^-1`` for monomial ``g``, ``h`` and the positive
diagonals telescope, and, being a sum of non-negative path products, it vanishes only when every input-output
path does (``rms(W_(L,0))`` would be cancelled to round-off by sign patterns and then stop being invariant
numerically). It is computed with per-step rescaling in log space so that it does not overflow. Every matrix in
every product is divided by ``kappa``; a term that is a pure product of matrices (``W_(s,0)``, ``[WW]``) is then
multiplied by one ``kappa`` again, and a term with a bias factor (``[bW]``, ``v``, traces) is left as is. Every
term is thereby positively homogeneous of degree one in a global rescaling of the input, like ``W^(i)`` and
``b^(i)`` themselves, and is of the size of its inputs when the layers' gains are balanced. The degree-one terms
``W^(i)``, ``b^(i)`` are unchanged; with ``normalize=False`` the layer computes the raw polynomial of the spec.
The floor ``min_gain`` (default 1) makes the normalisation one-sided: it removes growth only, and a channel
whose gain per layer is below 1 is left as the raw polynomial (its products shrink, which cannot overflow).
A smaller floor also rescales vanishing products up, and then amplifies the partial products ``W_(s,0)`` of a
channel whose path norm vanishes (say one zeroed by a ReLU) by up to ``min_gain^-s``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from magep_nfn.nn._common import (
    check_channels,
    check_input,
    check_spec,
    kernel_numel,
    new_linear,
    positionwise_linear,
)
from weightspace_core import NetworkSpec, WeightSpace

__all__ = ["MAGEPInvariant", "MAGEPLinear", "StableTerms", "spatial_matrices", "stable_terms"]

_TINY_SQ = 1e-30  # floor of a mean square: keeps log and its gradient finite for an all-zero product


def spatial_matrices(ws: WeightSpace) -> list[torch.Tensor]:
    """The per-channel matrix of every layer: ``W^(i)`` itself, or the spatially summed kernel of a convolution.

    Returns L tensors ``(B, C, n_i, n_{i-1})``; each transforms as ``g_i . g_{i-1}^-1``.
    """
    return [w.sum(dim=(-2, -1)) if w.ndim == 6 else w for w in ws.weights]


@dataclass
class StableTerms:
    """The shared ingredients of every stable term, computed once per forward by :func:`stable_terms`.

    With ``normalize`` the matrices are divided by ``kappa`` (see the module docstring); ``kappa`` is ``None``
    otherwise. Index ``l = i - 1`` is layer ``i``.

    Attributes
    ----------
    kappa:
        ``(B, C)`` invariant gain, or ``None``.
    prefix:
        L tensors ``(B, C, n_i, n_0)``: ``W_(i,0) / kappa^i``.
    suffix:
        L tensors ``(B, C, n_0 + 2, n_t)``, t = 0..L-1: the rows ``Psi' W_(L,t)``, ``Psi W_(L,t)`` and
        ``Psi''' W_(L,t)``, each divided by ``kappa^(L-t)``.
    chain:
        L tensors ``(B, C, n_i)``: ``v_i = sum_t W_(i,t) b^(t) / kappa^(i-t)``.
    traces:
        ``(B, C, L - 1)``: ``Psi''' W_(L,s) b^(s) / kappa^(L-s)``, s = 1..L-1.
    biases:
        the input biases ``b^(i)``, L tensors ``(B, C, n_i)``.
    """

    kappa: torch.Tensor | None
    prefix: list[torch.Tensor]
    suffix: list[torch.Tensor]
    chain: list[torch.Tensor]
    traces: torch.Tensor
    biases: list[torch.Tensor]

    @property
    def n0(self) -> int:
        return self.prefix[0].shape[-1]

    def _restore(self, x: torch.Tensor) -> torch.Tensor:
        """Give a pure matrix product back one factor ``kappa``: degree one in a global input scale."""
        return x if self.kappa is None else x * self.kappa[..., None, None]

    def product(self, i: int) -> torch.Tensor:
        """``W_(i,0)``: ``(B, C, n_i, n_0)``."""
        return self._restore(self.prefix[i - 1])

    def ww(self, s: int, t: int) -> torch.Tensor:
        """``[WW]_(s,t) = W_(s,0) Psi' W_(L,t)``: ``(B, C, n_s, n_t)``."""
        return self._restore(self.prefix[s - 1] @ self.suffix[t][..., : self.n0, :])

    def bw(self, s: int, t: int) -> torch.Tensor:
        """``[bW]_(s,t) = b^(s) Psi W_(L,t)``: ``(B, C, n_s, n_t)``."""
        return self.biases[s - 1][..., :, None] * self.suffix[t][..., self.n0, None, :]

    def invariant_features(self) -> torch.Tensor:
        """``(B, F)``: ``W_(L,0)``, ``[WW]_(L,0)``, ``[bW]_(L,0)``, ``b^(L)``, ``v_L`` and the traces, flattened.

        ``F = C * (3 n_L n_0 + 2 n_L + L - 1)``; every entry is invariant.
        """
        big_l = len(self.prefix)
        parts = [
            self.product(big_l),
            self.ww(big_l, 0),
            self.bw(big_l, 0),
            self.biases[-1],
            self.chain[-1],
            self.traces,
        ]
        return torch.cat([p.flatten(start_dim=1) for p in parts], dim=1)


def stable_terms(
    ws: WeightSpace,
    psi_ww: torch.Tensor,
    psi_bw: torch.Tensor,
    psi_tr: torch.Tensor,
    *,
    normalize: bool = False,
    min_gain: float = 1.0,
) -> StableTerms:
    """Prefix products, Psi-suffix products, the ``[Wb]`` chain and the traces of ``ws``, in O(L) products.

    Parameters
    ----------
    ws:
        ``(B, C, ...)`` features of an L-layer network.
    psi_ww, psi_bw, psi_tr:
        ``Psi'`` ``(C, n_0, n_L)``, ``Psi`` ``(C, n_L)`` and ``Psi'''`` ``(C, n_L)``, one per channel.
    normalize, min_gain:
        divide by the invariant gain ``kappa`` (floored at ``min_gain``); see the module docstring.
    """
    mats = spatial_matrices(ws)
    big_l = len(mats)
    biases = list(ws.biases)
    kappa: torch.Tensor | None = None
    if normalize:
        # The path norm |W^(L)| ... |W^(1)| (entrywise absolute values) is invariant because |g M h^-1| =
        # |g| |M| |h|^-1 for monomial g, h, and, having no cancellations, it vanishes only when every path does.
        # Its running product is rescaled at every step and its log scale kept, so it cannot overflow.
        log_scale = torch.zeros(ws.batch_size, ws.channels, dtype=ws.dtype, device=ws.device)
        paths: torch.Tensor | None = None
        for m in mats:
            paths = m.abs() if paths is None else m.abs() @ paths
            log_rms = 0.5 * torch.log(paths.pow(2).mean(dim=(-2, -1)).clamp_min(_TINY_SQ))
            paths = paths * torch.exp(-log_rms)[..., None, None]
            log_scale = log_scale + log_rms
        kappa = torch.exp(torch.clamp_min(log_scale / big_l, math.log(min_gain)))
        mats = [m / kappa[..., None, None] for m in mats]
    prefix: list[torch.Tensor] = [mats[0]]
    for m in mats[1:]:
        prefix.append(m @ prefix[-1])

    psi = torch.cat([psi_ww, psi_bw[:, None, :], psi_tr[:, None, :]], dim=1)
    rows = psi.to(dtype=ws.dtype, device=ws.device).expand(ws.batch_size, *psi.shape)
    suffix: list[torch.Tensor] = [rows] * big_l
    for t in range(big_l - 1, -1, -1):
        rows = rows @ mats[t]
        suffix[t] = rows

    chain = [torch.zeros_like(biases[0])]
    for s in range(1, big_l):
        chain.append((mats[s] @ (chain[-1] + biases[s - 1])[..., None])[..., 0])

    n0 = psi_ww.shape[1]
    traces = [(suffix[s][..., n0 + 1, :] * biases[s - 1]).sum(dim=-1) for s in range(1, big_l)]
    return StableTerms(kappa, prefix, suffix, chain, torch.stack(traces, dim=-1), biases)


class _MonomialEquivariantLayer(nn.Module):
    """The layer of spec section 3; with ``polynomial=False`` only its degree-one part (Monomial-NFN)."""

    def __init__(
        self,
        spec: NetworkSpec,
        in_channels: int,
        out_channels: int,
        *,
        polynomial: bool,
        learn_psi: bool = True,
        normalize: bool = False,
        min_gain: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.spec = check_spec(spec, name)
        self.in_channels = check_channels(in_channels, "in_channels", name)
        self.out_channels = check_channels(out_channels, "out_channels", name)
        if not min_gain > 0:
            raise ValueError(f"{name}: expected min_gain > 0, found {min_gain}")
        self.polynomial = polynomial
        self.normalize = normalize
        self.min_gain = min_gain
        d, e = in_channels, out_channels
        widths = spec.widths
        n0, n_last, big_l = widths[0], widths[-1], spec.num_layers
        hw = kernel_numel(spec)
        poly = 1 if polynomial else 0

        # first layer: one row j at a time, the input index k is fixed and mixed freely
        f_first = d * n0 * hw[0] + poly * 2 * d * n0 + d
        self.first = new_linear(f_first, e * n0 * hw[0] + e, bias=False, generator=generator)
        # hidden layers: per entry (weights) and per row (biases), channels mixed
        self.hidden_weight = nn.ModuleList()
        self.hidden_bias = nn.ModuleList()
        for i in range(1, big_l - 1):
            self.hidden_weight.append(new_linear(d * hw[i] + poly * 2 * d, e * hw[i], bias=False, generator=generator))
            self.hidden_bias.append(new_linear(poly * (3 * d * n0 + d) + d, e, bias=False, generator=generator))
        # last layer: one column k at a time, the output index is fixed and mixed freely
        self.last_weight = new_linear(
            d * n_last * hw[-1] + poly * 2 * d * n_last, e * n_last * hw[-1], bias=False, generator=generator
        )
        f_inv = d * n_last + poly * d * (3 * n_last * n0 + n_last + big_l - 1)
        self.last_bias = new_linear(f_inv, e * n_last, bias=True, generator=generator)

        if polynomial:
            gen_kw = {"generator": generator}
            psi_ww = torch.randn(d, n0, n_last, **gen_kw) / math.sqrt(n0 * n_last)
            psi_bw = torch.randn(d, n_last, **gen_kw) / math.sqrt(n_last)
            psi_tr = torch.randn(d, n_last, **gen_kw) / math.sqrt(n_last)
            for key, value in (("psi_ww", psi_ww), ("psi_bw", psi_bw), ("psi_tr", psi_tr)):
                if learn_psi:
                    self.register_parameter(key, nn.Parameter(value))
                else:
                    self.register_buffer(key, value)

    def _stable(self, ws: WeightSpace) -> StableTerms:
        return stable_terms(ws, self.psi_ww, self.psi_bw, self.psi_tr, normalize=self.normalize, min_gain=self.min_gain)

    def forward(self, ws: WeightSpace) -> WeightSpace:
        check_input(ws, self.spec, self.in_channels, type(self).__name__)
        terms = self._stable(ws) if self.polynomial else None
        b, d, e = ws.batch_size, self.in_channels, self.out_channels
        big_l = self.spec.num_layers
        layers = self.spec.layers
        weights_out: list[torch.Tensor] = []
        biases_out: list[torch.Tensor] = []

        # first layer
        w1, b1 = ws.weights[0], ws.biases[0]
        n1, n0 = w1.shape[2], w1.shape[3]
        rows = [w1.movedim(2, 1).reshape(b, n1, -1)]
        if terms is not None:
            rows += [terms.ww(1, 0).movedim(2, 1).reshape(b, n1, -1), terms.bw(1, 0).movedim(2, 1).reshape(b, n1, -1)]
        rows.append(b1.transpose(1, 2))
        out = self.first(torch.cat(rows, dim=-1))
        kernel = layers[0].kernel_size
        weights_out.append(out[..., :-e].reshape(b, n1, e, n0, *kernel).movedim(1, 2))
        biases_out.append(out[..., -e:].transpose(1, 2))

        # hidden layers, channels last: the output is a permuted view of a (B, n, m, e[, kh, kw]) buffer, so that
        # a stack of layers passes its features on without copies; the product terms ride in the same matrix
        # product, but backward forms no gradient for the raw input weights unless they need one
        for i in range(2, big_l):
            w, bias = ws.weights[i - 1], ws.biases[i - 1]
            n, m = w.shape[2], w.shape[3]
            kernel = layers[i - 1].kernel_size
            x = w.permute(0, 2, 3, 1, *range(4, w.ndim))  # (B, n, m, d[, kh, kw])
            poly = None
            if terms is not None:
                poly = torch.stack([terms.ww(i, i - 1), terms.bw(i, i - 1)], dim=1).permute(0, 3, 4, 1, 2)
            y = positionwise_linear(x, poly, self.hidden_weight[i - 2].weight)
            y = y.reshape(b, n, m, e, *kernel)
            weights_out.append(y.permute(0, 3, 1, 2, *range(4, y.ndim)))
            row_feats = [bias.transpose(1, 2)]
            if terms is not None:
                row_feats += [
                    terms.product(i).transpose(1, 2).reshape(b, n, -1),
                    terms.ww(i, 0).transpose(1, 2).reshape(b, n, -1),
                    terms.bw(i, 0).transpose(1, 2).reshape(b, n, -1),
                    terms.chain[i - 1].transpose(1, 2),
                ]
            biases_out.append(self.hidden_bias[i - 2](torch.cat(row_feats, dim=-1)).transpose(1, 2))

        # last layer
        w, bias = ws.weights[-1], ws.biases[-1]
        n_last, m = w.shape[2], w.shape[3]
        cols = [w.movedim(3, 1).reshape(b, m, -1)]
        if terms is not None:
            cols += [
                terms.ww(big_l, big_l - 1).movedim(3, 1).reshape(b, m, -1),
                terms.bw(big_l, big_l - 1).movedim(3, 1).reshape(b, m, -1),
            ]
        kernel = layers[-1].kernel_size
        out = self.last_weight(torch.cat(cols, dim=-1)).reshape(b, m, e, n_last, *kernel)
        weights_out.append(out.movedim(1, 3))
        inv = bias.reshape(b, d * n_last) if terms is None else terms.invariant_features()
        biases_out.append(self.last_bias(inv).reshape(b, e, n_last))
        return WeightSpace(weights_out, biases_out)

    def extra_repr(self) -> str:
        return f"spec='{self.spec}', in_channels={self.in_channels}, out_channels={self.out_channels}"


class MAGEPLinear(_MonomialEquivariantLayer):
    r"""MAGEP-NFN equivariant polynomial layer: WeightSpace ``(B, d)`` to WeightSpace ``(B, e)`` of the same spec.

    Equivariant to the hidden-neuron monomial group ``g_i = D_i P_i`` (``g_0 = g_L = I``) for any non-zero
    diagonals: positive scalings and signs alike (spec section 3). With the stable terms of the module
    docstring, and every coefficient a full map over the channels:

    - first layer (input index ``k`` fixed), per row ``j``:
      ``E(W)^(1)_j. = Th1 W^(1)_j. + Th2 [WW]_(1,0)_j. + Th3 [bW]_(1,0)_j. + Th4 b^(1)_j`` and
      ``E(b)^(1)_j = Ph1 W^(1)_j. + Ph2 [WW]_(1,0)_j. + Ph3 [bW]_(1,0)_j. + Ph4 b^(1)_j`` (maps over
      ``(channel, k[, kernel position])``);
    - hidden layers ``1 < i < L``, per entry: ``E(W)^(i) = A W^(i) + B [WW]_(i,i-1) + C [bW]_(i,i-1)``, and per
      row ``E(b)^(i)_j = Ph1 W_(i,0)_j. + Ph2 [WW]_(i,0)_j. + Ph3 [bW]_(i,0)_j. + P v_i,j + Q b^(i)_j``;
    - last layer (output index fixed), per column ``k``:
      ``E(W)^(L)_.k = al W^(L)_.k + be [WW]_(L,L-1)_.k + ga [bW]_(L,L-1)_.k`` and ``E(b)^(L)`` a full affine map
      of ``W_(L,0)``, ``[WW]_(L,0)``, ``[bW]_(L,0)``, ``b^(L)``, ``v_L`` and the traces.

    No row or column means and no constants appear outside the last bias: neither is scale-equivariant.
    Convolution kernels: kernel positions are channels in the per-entry maps, and products use the spatially
    summed kernel (module docstring). Outputs of hidden layers are permuted views of a channels-last buffer (no
    copy is made for the next layer). The hidden layers' backward is hand-written (it skips gradients nobody
    needs) and stays exact under double backward.

    Parameters
    ----------
    spec:
        the architecture (at least 2 layers; MLP or CNN).
    in_channels, out_channels:
        ``d`` and ``e``.
    learn_psi:
        ``Psi`` (``(d, n_L)``), ``Psi'`` (``(d, n_0, n_L)``) and ``Psi'''`` (``(d, n_L)``) are learnable
        parameters if True, fixed random buffers if False (as in the published experiments).
    normalize, min_gain:
        the exactly equivariant gain normalisation of the module docstring (off: the raw polynomial).
    generator:
        seeds every initial value.

    Number of parameters, with ``s_i = kh_i kw_i`` (1 for dense layers):
    ``(d n_0 s_1 + 2 d n_0 + d)(e n_0 s_1 + e)``
    ``+ sum_{1<i<L} [(d s_i + 2d) e s_i + (3 d n_0 + 2 d) e]``
    ``+ (d n_L s_L + 2 d n_L) e n_L s_L + (d (3 n_L n_0 + 2 n_L + L - 1) + 1) e n_L``
    ``+ d (n_0 n_L + 2 n_L)`` (the Psi, counted when learnable). :meth:`count_parameters` evaluates it.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> from weightspace_core.groups import sample_monomial
    >>> spec = NetworkSpec.mlp([2, 8, 8, 1])
    >>> layer = MAGEPLinear(spec, 1, 4, generator=torch.Generator().manual_seed(0)).double()
    >>> ws = WeightSpace.randn(spec, batch_size=3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    >>> out = layer(ws)
    >>> out.channels, out.spec == spec
    (4, True)
    >>> g = sample_monomial(spec, "scale", generator=torch.Generator().manual_seed(2))
    >>> all(torch.allclose(a, b) for a, b in zip(layer(g.act(ws)).tensors(), g.act(out).tensors()))
    True
    >>> sum(p.numel() for p in layer.parameters()) == MAGEPLinear.count_parameters(spec, 1, 4)
    True
    """

    def __init__(
        self,
        spec: NetworkSpec,
        in_channels: int,
        out_channels: int,
        *,
        learn_psi: bool = True,
        normalize: bool = False,
        min_gain: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(
            spec,
            in_channels,
            out_channels,
            polynomial=True,
            learn_psi=learn_psi,
            normalize=normalize,
            min_gain=min_gain,
            generator=generator,
        )

    @staticmethod
    def count_parameters(spec: NetworkSpec, in_channels: int, out_channels: int, learn_psi: bool = True) -> int:
        """The parameter count formula of the class docstring."""
        d, e = in_channels, out_channels
        widths, s = spec.widths, kernel_numel(spec)
        n0, nl, big_l = widths[0], widths[-1], spec.num_layers
        total = (d * n0 * s[0] + 2 * d * n0 + d) * (e * n0 * s[0] + e)
        total += sum((d * s[i] + 2 * d) * e * s[i] + (3 * d * n0 + 2 * d) * e for i in range(1, big_l - 1))
        total += (d * nl * s[-1] + 2 * d * nl) * e * nl * s[-1]
        total += (d * (3 * nl * n0 + 2 * nl + big_l - 1) + 1) * e * nl
        if learn_psi:
            total += d * (n0 * nl + 2 * nl)
        return total


class MAGEPInvariant(nn.Module):
    r"""MAGEP-NFN invariant polynomial layer: WeightSpace ``(B, d)`` to ``(B, e)``.

    ``I(U) = A . W_(L,0) + B . [WW]_(L,0) + C . [bW]_(L,0) + D . v_L + E . b^(L) + F . traces + tau``
    (spec section 4), each a full linear map over channels and entries to ``e`` outputs. Every input is exactly
    invariant to the hidden-neuron monomial group (positive scalings and signs alike), so the output is too; no
    normalisation or absolute value is needed for invariance. With ``normalize`` the products are rescaled by the
    invariant gain of :class:`MAGEPLinear` (degree one in a global input scale).

    Number of parameters: ``(d (3 n_L n_0 + 2 n_L + L - 1) + 1) e`` plus ``d (n_0 n_L + 2 n_L)`` learnable Psi.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> from weightspace_core.groups import sample_monomial
    >>> spec = NetworkSpec.cnn([1, 4, 4], [3])
    >>> head = MAGEPInvariant(spec, 2, 5, generator=torch.Generator().manual_seed(0)).double()
    >>> ws = WeightSpace.randn(spec, batch_size=3, channels=2, dtype=torch.float64)
    >>> g = sample_monomial(spec, "sign", generator=torch.Generator().manual_seed(1))
    >>> head(ws).shape, torch.allclose(head(g.act(ws)), head(ws))
    (torch.Size([3, 5]), True)
    """

    def __init__(
        self,
        spec: NetworkSpec,
        in_channels: int,
        out_channels: int,
        *,
        learn_psi: bool = True,
        normalize: bool = False,
        min_gain: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.spec = check_spec(spec, name)
        self.in_channels = check_channels(in_channels, "in_channels", name)
        self.out_channels = check_channels(out_channels, "out_channels", name)
        if not min_gain > 0:
            raise ValueError(f"{name}: expected min_gain > 0, found {min_gain}")
        self.normalize, self.min_gain = normalize, min_gain
        d, widths = in_channels, spec.widths
        n0, nl, big_l = widths[0], widths[-1], spec.num_layers
        self.linear = new_linear(d * (3 * nl * n0 + 2 * nl + big_l - 1), out_channels, True, generator)
        psi = {
            "psi_ww": torch.randn(d, n0, nl, generator=generator) / math.sqrt(n0 * nl),
            "psi_bw": torch.randn(d, nl, generator=generator) / math.sqrt(nl),
            "psi_tr": torch.randn(d, nl, generator=generator) / math.sqrt(nl),
        }
        for key, value in psi.items():
            if learn_psi:
                self.register_parameter(key, nn.Parameter(value))
            else:
                self.register_buffer(key, value)

    @property
    def num_outputs(self) -> int:
        return self.out_channels

    def _stable(self, ws: WeightSpace) -> StableTerms:
        return stable_terms(ws, self.psi_ww, self.psi_bw, self.psi_tr, normalize=self.normalize, min_gain=self.min_gain)

    def forward(self, ws: WeightSpace) -> torch.Tensor:
        check_input(ws, self.spec, self.in_channels, type(self).__name__)
        terms = self._stable(ws)
        return F.linear(terms.invariant_features(), self.linear.weight, self.linear.bias)

    def extra_repr(self) -> str:
        return f"spec='{self.spec}', in_channels={self.in_channels}, out_channels={self.out_channels}"
