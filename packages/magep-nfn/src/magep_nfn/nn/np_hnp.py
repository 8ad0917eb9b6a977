"""NFN baselines (Zhou et al., NeurIPS 2023): NP and HNP linear layers and their invariant mean pools.

Both are permutation-only: they use row, column and global means, which are invariant to permuting neurons but
not to rescaling them, so neither is equivariant to the scaling or sign parts of the monomial group. Convolution
kernel positions are folded into the channel axis (``(B, d, n, m, kh, kw) -> (B, d kh kw, n, m)``), as in NFN.

- NP (neural permutation): every neuron, including input and output neurons, may be permuted.
- HNP (hidden neuron permutation): only hidden neurons; the input index of the first layer and the output index
  of the last layer are fixed and mixed freely.
"""

from __future__ import annotations

import torch
from torch import nn

from magep_nfn.nn._common import (
    channel_matmul,
    check_channels,
    check_input,
    check_spec,
    fold,
    kernel_numel,
    new_linear,
    unfold,
)
from weightspace_core import NetworkSpec, WeightSpace

__all__ = ["HNPLinear", "HNPPool", "NPLinear", "NPPool"]


def _means(folded: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
    """Row means (over the output index), column means (over the input index) and global means per layer."""
    rows = [w.mean(dim=2) for w in folded]  # (B, c_i, n_{i-1})
    cols = [w.mean(dim=3) for w in folded]  # (B, c_i, n_i)
    both = [w.mean(dim=(2, 3)) for w in folded]  # (B, c_i)
    return rows, cols, both


class NPLinear(nn.Module):
    r"""NFN neural-permutation (NP) equivariant linear layer: WeightSpace ``(B, d)`` to ``(B, e)``.

    Equivariant to permutations of every layer's neurons, inputs and outputs included. For layer ``i`` (folded
    channels ``c_i = d s_i``, ``s_i = kh_i kw_i``):

    ``E(W)^(i)_jk = A W^(i)_jk + R [W^(i)_.k mean, W^(i-1)_k. mean, b^(i-1)_k] + K [W^(i)_j. mean, b^(i)_j,
    W^(i+1)_.j mean] + G g``, ``E(b)^(i)_j = K' [W^(i)_j. mean, b^(i)_j, W^(i+1)_.j mean] + G' g``,

    with ``g`` all layers' global weight and bias means (``R``, ``K`` terms for missing neighbours dropped) and
    constants in the ``G`` maps. Not scale- or sign-equivariant.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> from weightspace_core.groups import sample_monomial
    >>> spec = NetworkSpec.mlp([2, 8, 8, 1])
    >>> layer = NPLinear(spec, 1, 3, generator=torch.Generator().manual_seed(0)).double()
    >>> ws = WeightSpace.randn(spec, batch_size=2, dtype=torch.float64)
    >>> g = sample_monomial(spec, "permutation", generator=torch.Generator().manual_seed(1))
    >>> all(torch.allclose(a, b) for a, b in zip(layer(g.act(ws)).tensors(), g.act(layer(ws)).tensors()))
    True
    """

    def __init__(
        self, spec: NetworkSpec, in_channels: int, out_channels: int, *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.spec = check_spec(spec, name)
        self.in_channels = check_channels(in_channels, "in_channels", name)
        self.out_channels = check_channels(out_channels, "out_channels", name)
        d, e, big_l = in_channels, out_channels, spec.num_layers
        c = [d * s for s in kernel_numel(spec)]
        o = [e * s for s in kernel_numel(spec)]
        n_global = sum(c) + big_l * d
        self.point, self.glob, self.row, self.col = nn.ModuleList(), nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        self.bias_col, self.bias_glob = nn.ModuleList(), nn.ModuleList()
        for i in range(big_l):
            row_in = c[i] + (c[i - 1] + d if i > 0 else 0)
            col_in = c[i] + d + (c[i + 1] if i < big_l - 1 else 0)
            fan = c[i] + n_global + row_in + col_in
            self.point.append(new_linear(c[i], o[i], False, generator, fan))
            self.glob.append(new_linear(n_global, o[i], True, generator, fan))
            self.row.append(new_linear(row_in, o[i], False, generator, fan))
            self.col.append(new_linear(col_in, o[i], False, generator, fan))
            self.bias_col.append(new_linear(col_in, e, False, generator, col_in + n_global))
            self.bias_glob.append(new_linear(n_global, e, True, generator, col_in + n_global))

    def forward(self, ws: WeightSpace) -> WeightSpace:
        check_input(ws, self.spec, self.in_channels, type(self).__name__)
        folded = [fold(w) for w in ws.weights]
        biases = list(ws.biases)
        rows, cols, both = _means(folded)
        g = torch.cat(both + [b.mean(dim=2) for b in biases], dim=1)
        big_l, batch = len(folded), ws.batch_size
        weights_out, biases_out = [], []
        for i, w in enumerate(folded):
            n, m = w.shape[2], w.shape[3]
            row_feats = torch.cat([rows[i]] + ([cols[i - 1], biases[i - 1]] if i > 0 else []), dim=1)
            col_feats = torch.cat([cols[i], biases[i]] + ([rows[i + 1]] if i < big_l - 1 else []), dim=1)
            z = channel_matmul(self.point[i].weight, w.reshape(batch, -1, n * m)).reshape(batch, -1, n, m)
            z = z + self.glob[i](g)[..., None, None]
            z = z + channel_matmul(self.row[i].weight, row_feats)[:, :, None, :]
            z = z + channel_matmul(self.col[i].weight, col_feats)[:, :, :, None]
            weights_out.append(unfold(z, self.spec.layers[i].kernel_size))
            biases_out.append(channel_matmul(self.bias_col[i].weight, col_feats) + self.bias_glob[i](g)[..., None])
        return WeightSpace(weights_out, biases_out)

    def extra_repr(self) -> str:
        return f"spec='{self.spec}', in_channels={self.in_channels}, out_channels={self.out_channels}"


class HNPLinear(nn.Module):
    r"""NFN hidden-neuron-permutation (HNP) equivariant linear layer: WeightSpace ``(B, d)`` to ``(B, e)``.

    Equivariant to permutations of hidden neurons only (``g_0 = g_L = I``). Hidden layers take the NP terms;
    the first layer maps each row ``W^(1)_j.`` (all input indices at once) together with ``b^(1)_j`` and the
    column mean of ``W^(2)`` at ``j``; the last layer maps each column ``W^(L)_.k`` (all output indices at once)
    together with ``W^(L-1)_k.``'s mean and ``b^(L-1)_k``; the neighbours of the first and last layers also see
    their full rows/columns. The global features ``g`` add the first layer's row means per input, the last
    layer's column means per output and ``b^(L)`` itself, and the last bias is a full affine map of ``g``.
    Not scale- or sign-equivariant.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> from weightspace_core.groups import sample_monomial
    >>> spec = NetworkSpec.cnn([1, 4, 4], [3])
    >>> layer = HNPLinear(spec, 2, 3, generator=torch.Generator().manual_seed(0)).double()
    >>> ws = WeightSpace.randn(spec, batch_size=2, channels=2, dtype=torch.float64)
    >>> g = sample_monomial(spec, "permutation", generator=torch.Generator().manual_seed(1))
    >>> all(torch.allclose(a, b) for a, b in zip(layer(g.act(ws)).tensors(), g.act(layer(ws)).tensors()))
    True
    """

    def __init__(
        self, spec: NetworkSpec, in_channels: int, out_channels: int, *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.spec = check_spec(spec, name)
        self.in_channels = check_channels(in_channels, "in_channels", name)
        self.out_channels = check_channels(out_channels, "out_channels", name)
        d, e, big_l = in_channels, out_channels, spec.num_layers
        n0, nl = spec.widths[0], spec.widths[-1]
        c = [d * s for s in kernel_numel(spec)]
        o = [e * s for s in kernel_numel(spec)]
        n_global = sum(c) + big_l * d + c[0] * n0 + c[-1] * nl + d * nl
        self.n_global = n_global
        # first layer, per row j of W^(1)
        first_in = c[0] * n0 + c[1] + d + (c[1] * nl if big_l == 2 else 0)
        fan = first_in + n_global
        self.first = new_linear(first_in, o[0] * n0, False, generator, fan)
        self.first_glob = new_linear(n_global, o[0] * n0, True, generator, fan)
        self.first_bias = new_linear(first_in, e, False, generator, fan)
        self.first_bias_glob = new_linear(n_global, e, True, generator, fan)
        # last layer, per column k of W^(L)
        last_in = c[-1] * nl + c[-2] + d + (c[0] * n0 if big_l == 2 else 0)
        fan = last_in + n_global
        self.last = new_linear(last_in, o[-1] * nl, False, generator, fan)
        self.last_glob = new_linear(n_global, o[-1] * nl, True, generator, fan)
        self.last_bias = new_linear(n_global, e * nl, True, generator)
        # hidden layers
        self.point, self.glob, self.row, self.col = nn.ModuleList(), nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        self.bias_col, self.bias_glob = nn.ModuleList(), nn.ModuleList()
        for i in range(1, big_l - 1):
            row_in = c[i] + c[i - 1] + d + (c[0] * n0 if i == 1 else 0)
            col_in = c[i] + d + c[i + 1] + (c[-1] * nl if i == big_l - 2 else 0)
            fan = c[i] + n_global + row_in + col_in
            self.point.append(new_linear(c[i], o[i], False, generator, fan))
            self.glob.append(new_linear(n_global, o[i], True, generator, fan))
            self.row.append(new_linear(row_in, o[i], False, generator, fan))
            self.col.append(new_linear(col_in, o[i], False, generator, fan))
            self.bias_col.append(new_linear(col_in, e, False, generator, col_in + n_global))
            self.bias_glob.append(new_linear(n_global, e, True, generator, col_in + n_global))

    def forward(self, ws: WeightSpace) -> WeightSpace:
        check_input(ws, self.spec, self.in_channels, type(self).__name__)
        folded = [fold(w) for w in ws.weights]
        biases = list(ws.biases)
        rows, cols, both = _means(folded)
        big_l, batch, e = len(folded), ws.batch_size, self.out_channels
        n0, nl = self.spec.widths[0], self.spec.widths[-1]
        g = torch.cat(
            both + [b.mean(dim=2) for b in biases] + [rows[0].flatten(1), cols[-1].flatten(1), biases[-1].flatten(1)],
            dim=1,
        )
        # W^(1) row by row and W^(L) column by column, as (B, features, neuron) for their hidden neighbours
        first_rows = folded[0].transpose(2, 3).reshape(batch, -1, folded[0].shape[2])  # (B, c_1 n_0, n_1)
        last_cols = folded[-1].reshape(batch, -1, folded[-1].shape[3])  # (B, c_L n_L, n_{L-1})

        weights_out, biases_out = [], []
        feats = [first_rows, rows[1], biases[0]] + ([last_cols] if big_l == 2 else [])
        feats_t = torch.cat(feats, dim=1)
        n1 = folded[0].shape[2]
        z = channel_matmul(self.first.weight, feats_t) + self.first_glob(g)[..., None]  # (B, o_1 n_0, n_1)
        z = z.reshape(batch, -1, n0, n1).transpose(2, 3)
        weights_out.append(unfold(z, self.spec.layers[0].kernel_size))
        biases_out.append(channel_matmul(self.first_bias.weight, feats_t) + self.first_bias_glob(g)[..., None])

        for h, i in enumerate(range(1, big_l - 1)):
            w = folded[i]
            n, m = w.shape[2], w.shape[3]
            row_feats = torch.cat([rows[i], cols[i - 1], biases[i - 1]] + ([first_rows] if i == 1 else []), dim=1)
            col_feats = torch.cat([cols[i], biases[i], rows[i + 1]] + ([last_cols] if i == big_l - 2 else []), dim=1)
            z = channel_matmul(self.point[h].weight, w.reshape(batch, -1, n * m)).reshape(batch, -1, n, m)
            z = z + self.glob[h](g)[..., None, None]
            z = z + channel_matmul(self.row[h].weight, row_feats)[:, :, None, :]
            z = z + channel_matmul(self.col[h].weight, col_feats)[:, :, :, None]
            weights_out.append(unfold(z, self.spec.layers[i].kernel_size))
            biases_out.append(channel_matmul(self.bias_col[h].weight, col_feats) + self.bias_glob[h](g)[..., None])

        feats = [last_cols, cols[-2], biases[-2]] + ([first_rows] if big_l == 2 else [])
        m = folded[-1].shape[3]
        z = channel_matmul(self.last.weight, torch.cat(feats, dim=1)) + self.last_glob(g)[..., None]
        weights_out.append(unfold(z.reshape(batch, -1, nl, m), self.spec.layers[-1].kernel_size))
        biases_out.append(self.last_bias(g).reshape(batch, e, nl))
        return WeightSpace(weights_out, biases_out)

    def extra_repr(self) -> str:
        return f"spec='{self.spec}', in_channels={self.in_channels}, out_channels={self.out_channels}"


class NPPool(nn.Module):
    r"""NP invariant pool: WeightSpace ``(B, d)`` to ``(B, num_outputs)``, the mean of every weight and bias.

    Output: ``[mean_jk W^(i)_jk per folded channel for each i, mean_j b^(i)_j per channel for each i]``,
    ``num_outputs = d (sum_i s_i + L)``. Invariant to all neuron permutations; not to scalings or signs.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> spec = NetworkSpec.mlp([2, 8, 1])
    >>> NPPool(spec, 3)(WeightSpace.randn(spec, batch_size=4, channels=3)).shape
    torch.Size([4, 12])
    """

    def __init__(self, spec: NetworkSpec, in_channels: int) -> None:
        super().__init__()
        self.spec = check_spec(spec, type(self).__name__, min_layers=1)
        self.in_channels = check_channels(in_channels, "in_channels", type(self).__name__)

    @property
    def num_outputs(self) -> int:
        return self.in_channels * (sum(kernel_numel(self.spec)) + self.spec.num_layers)

    def forward(self, ws: WeightSpace) -> torch.Tensor:
        check_input(ws, self.spec, self.in_channels, type(self).__name__)
        parts = [fold(w).mean(dim=(2, 3)) for w in ws.weights] + [b.mean(dim=2) for b in ws.biases]
        return torch.cat(parts, dim=1)


class HNPPool(nn.Module):
    r"""HNP invariant pool: WeightSpace ``(B, d)`` to ``(B, num_outputs)``.

    Output: the row means of ``W^(1)`` per input index (``d s_1 n_0``), the global means of hidden weights
    (``d s_i``), the column means of ``W^(L)`` per output index (``d s_L n_L``), the means of ``b^(1..L-1)``
    (``d`` each) and ``b^(L)`` itself (``d n_L``). Invariant to hidden-neuron permutations; not to scalings.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> spec = NetworkSpec.mlp([2, 8, 1])
    >>> pool = HNPPool(spec, 3)
    >>> pool(WeightSpace.randn(spec, batch_size=4, channels=3)).shape, pool.num_outputs
    (torch.Size([4, 15]), 15)
    """

    def __init__(self, spec: NetworkSpec, in_channels: int) -> None:
        super().__init__()
        self.spec = check_spec(spec, type(self).__name__)
        self.in_channels = check_channels(in_channels, "in_channels", type(self).__name__)

    @property
    def num_outputs(self) -> int:
        s, big_l = kernel_numel(self.spec), self.spec.num_layers
        n0, nl = self.spec.widths[0], self.spec.widths[-1]
        return self.in_channels * (s[0] * n0 + sum(s[1:-1]) + s[-1] * nl + (big_l - 1) + nl)

    def forward(self, ws: WeightSpace) -> torch.Tensor:
        check_input(ws, self.spec, self.in_channels, type(self).__name__)
        folded = [fold(w) for w in ws.weights]
        parts = [folded[0].mean(dim=2).flatten(1)]
        parts += [w.mean(dim=(2, 3)) for w in folded[1:-1]]
        parts += [folded[-1].mean(dim=3).flatten(1)]
        parts += [b.mean(dim=2) for b in ws.biases[:-1]] + [ws.biases[-1].flatten(1)]
        return torch.cat(parts, dim=1)
