"""The monomial group of a feed-forward network's hidden neurons and its action on weight spaces.

For an L-layer network, ``g = (g_0, ..., g_L)`` with ``g_0 = g_L = I`` and each hidden ``g_i = D_i P_i``. It acts by

    W^(i) -> g_i W^(i) g_{i-1}^{-1},    b^(i) -> g_i b^(i).

With ``(g x)_j = d_j x_{p[j]}`` this is, entrywise, ``W'_{jk} = d^(i)_j W_{p^(i)[j], p^(i-1)[k]} / d^(i-1)_k``;
on convolutions the kernel axes ride along. Positive ``d`` preserve the function of ReLU networks, ``d`` in
{+1, -1} that of tanh and sine networks; permutations preserve every network.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from weightspace_core.groups.monomial import MONOMIAL_KINDS, Monomial, sample_diagonal, sample_perm
from weightspace_core.weightspace import NetworkSpec, WeightSpace


def _view(t: torch.Tensor, axis: int, ndim: int) -> torch.Tensor:
    """Reshape a ``(G, n)`` tensor so that ``n`` lies on ``axis`` of an ``ndim``-d weight-space tensor."""
    shape = [t.shape[0]] + [1] * (ndim - 1)
    shape[axis] = t.shape[1]
    return t.reshape(shape)


class MonomialAction:
    """An element of the hidden-neuron monomial group of a network spec (optionally one per network).

    Parameters
    ----------
    spec:
        the network architecture acted on.
    diags, perms:
        one ``(G, n_i)`` tensor each per hidden layer i = 1..L-1 (float64 non-zero diagonals, int64
        permutations). ``G = 1`` acts on every network of a batch alike; ``G = B`` gives each of B networks
        its own element.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from weightspace_core import WeightSpace
    >>> net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1)).double()
    >>> g = sample_monomial(WeightSpace.from_module(net).spec, "scale", generator=torch.Generator().manual_seed(0))
    >>> x = torch.randn(5, 2, dtype=torch.float64)
    >>> torch.allclose(g.act_on_module(net)(x), net(x))
    True
    """

    def __init__(self, spec: NetworkSpec, diags: Sequence[torch.Tensor], perms: Sequence[torch.Tensor]) -> None:
        hidden = spec.widths[1:-1]
        if len(diags) != len(hidden) or len(perms) != len(hidden):
            raise ValueError(
                f"MonomialAction: expected {len(hidden)} hidden layers for spec '{spec}', found {len(diags)} "
                f"diagonals and {len(perms)} permutations"
            )
        sizes = {d.shape[0] for d in diags} | {p.shape[0] for p in perms}
        if len(sizes) > 1:
            raise ValueError(f"MonomialAction: expected one number of elements G, found {sorted(sizes)}")
        for i, (n, d, p) in enumerate(zip(hidden, diags, perms), start=1):
            if d.ndim != 2 or d.shape[1] != n or p.shape != d.shape:
                raise ValueError(
                    f"MonomialAction hidden layer {i}: expected diag and perm of shape (G, {n}), found "
                    f"{tuple(d.shape)} and {tuple(p.shape)}"
                )
        self.spec = spec
        self.diags = tuple(d.to(torch.float64) for d in diags)
        self.perms = tuple(p.long() for p in perms)

    @property
    def num_elements(self) -> int:
        return self.diags[0].shape[0] if self.diags else 1

    @classmethod
    def identity(cls, spec: NetworkSpec) -> MonomialAction:
        hidden = spec.widths[1:-1]
        return cls(
            spec, [torch.ones(1, n, dtype=torch.float64) for n in hidden], [torch.arange(n)[None] for n in hidden]
        )

    def hidden(self, i: int, element: int = 0) -> Monomial:
        """``g_i`` (1 <= i <= L-1) of element ``element`` as a :class:`Monomial`."""
        if not 1 <= i < self.spec.num_layers:
            raise ValueError(f"hidden: expected 1 <= i <= {self.spec.num_layers - 1}, found {i}")
        return Monomial(self.diags[i - 1][element], self.perms[i - 1][element])

    def inverse(self) -> MonomialAction:
        perms = [torch.argsort(p, dim=1) for p in self.perms]
        diags = [1.0 / torch.gather(d, 1, inv) for d, inv in zip(self.diags, perms)]
        return MonomialAction(self.spec, diags, perms)

    def compose(self, other: MonomialAction) -> MonomialAction:
        """``self @ other``: act with ``other`` first."""
        if other.spec != self.spec:
            raise ValueError(f"compose: expected matching specs, found '{self.spec}' and '{other.spec}'")
        g = max(self.num_elements, other.num_elements)
        diags, perms = [], []
        for d1, p1, d2, p2 in zip(self.diags, self.perms, other.diags, other.perms):
            d1, p1, d2, p2 = (t.expand(g, -1) for t in (d1, p1, d2, p2))
            diags.append(d1 * torch.gather(d2, 1, p1))
            perms.append(torch.gather(p2, 1, p1))
        return MonomialAction(self.spec, diags, perms)

    def __matmul__(self, other: MonomialAction) -> MonomialAction:
        return self.compose(other)

    def act(self, ws: WeightSpace) -> WeightSpace:
        """``W^(i) -> g_i W^(i) g_{i-1}^{-1}``, ``b^(i) -> g_i b^(i)`` on every channel of every network."""
        if ws.spec != self.spec:
            raise ValueError(f"act: expected a WeightSpace with spec '{self.spec}', found '{ws.spec}'")
        if self.num_elements not in (1, ws.batch_size):
            raise ValueError(f"act: expected 1 or batch_size={ws.batch_size} group elements, found {self.num_elements}")
        dtype, device = ws.dtype, ws.device
        diags = [d.to(dtype=dtype, device=device) for d in self.diags]
        perms = [p.to(device) for p in self.perms]
        last = ws.num_layers - 1
        weights, biases = [], []
        for i, (w, b) in enumerate(ws):
            if i < last:
                d, p = diags[i], perms[i]
                w = torch.take_along_dim(w, _view(p, 2, w.ndim), dim=2) * _view(d, 2, w.ndim)
                b = torch.take_along_dim(b, _view(p, 2, 3), dim=2) * _view(d, 2, 3)
            if i > 0:
                d, p = diags[i - 1], perms[i - 1]
                w = torch.take_along_dim(w, _view(p, 3, w.ndim), dim=3) / _view(d, 3, w.ndim)
            weights.append(w)
            biases.append(b)
        return WeightSpace(weights, biases)

    def act_on_module(self, module: nn.Module) -> nn.Module:
        """A deep copy of ``module`` whose weights are transformed by this (single) element."""
        if self.num_elements != 1:
            raise ValueError(f"act_on_module: expected a single group element, found {self.num_elements}")
        ws = WeightSpace.from_module(module)
        return self.act(ws).load_into(copy.deepcopy(module))

    def __repr__(self) -> str:
        return f"MonomialAction(spec='{self.spec}', num_elements={self.num_elements})"


def sample_monomial(
    spec: NetworkSpec,
    kind: str = "scale",
    *,
    scale_range: tuple[float, float] = (1e-2, 1e2),
    num_elements: int = 1,
    generator: torch.Generator | None = None,
) -> MonomialAction:
    """A random element of the hidden-neuron monomial group of ``spec``.

    Parameters
    ----------
    kind:
        ``"scale"`` (random permutation times positive factors log-uniform in ``scale_range``: the symmetry of
        ReLU networks), ``"sign"`` (permutation times random signs: tanh and sine networks) or
        ``"permutation"``.
    num_elements:
        ``G``: 1 for one element acting on a whole batch, or the batch size for one element per network.
    """
    if kind not in MONOMIAL_KINDS:
        raise ValueError(f"kind: expected one of {MONOMIAL_KINDS}, found {kind!r}")
    hidden = spec.widths[1:-1]
    diags = [
        torch.stack([sample_diagonal(n, kind, scale_range, generator) for _ in range(num_elements)]) for n in hidden
    ]
    perms = [torch.stack([sample_perm(n, generator) for _ in range(num_elements)]) for n in hidden]
    return MonomialAction(spec, diags, perms)
