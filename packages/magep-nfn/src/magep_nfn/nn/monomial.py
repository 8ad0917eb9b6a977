"""Monomial-NFN (Tran et al., NeurIPS 2024): linear layers equivariant to permutations with scalings or signs.

The group is the hidden-neuron monomial group of :mod:`magep_nfn.nn.magep` (``g_0 = g_L = I``). The equivariant
linear layer is exactly the degree-one part of :class:`~magep_nfn.nn.MAGEPLinear`; the invariant pool removes the
scaling or sign part of the group per entry (positive scalings by an L2 normalisation across channels, signs by an
absolute value), then applies a learnable affine map and hidden-neuron permutation (HNP) mean pooling.
"""

from __future__ import annotations

import torch
from torch import nn

from magep_nfn.nn._common import check_channels, check_input, check_spec, kernel_numel
from magep_nfn.nn.magep import _MonomialEquivariantLayer
from magep_nfn.nn.np_hnp import HNPPool
from weightspace_core import NetworkSpec, WeightSpace

__all__ = ["MonomialInvariantPool", "MonomialLinear"]

_TINY_SQ = 1e-30  # floor of a squared channel norm: an all-zero entry stays zero instead of becoming NaN


class MonomialLinear(_MonomialEquivariantLayer):
    r"""Monomial-NFN equivariant linear layer: WeightSpace ``(B, d)`` to WeightSpace ``(B, e)``.

    Equivariant to hidden-neuron permutations times any non-zero diagonal (positive scalings or signs):

    - first layer, per row ``j`` (input index fixed): ``E(W)^(1)_j. = Th1 W^(1)_j. + Th4 b^(1)_j``,
      ``E(b)^(1)_j = Ph1 W^(1)_j. + Ph4 b^(1)_j``;
    - hidden layers, per entry: ``E(W)^(i) = A W^(i)``, ``E(b)^(i) = Q b^(i)``;
    - last layer, per column ``k`` (output index fixed): ``E(W)^(L)_.k = al W^(L)_.k``;
      ``E(b)^(L) = E b^(L) + tau`` (full affine map).

    Convolution kernel positions are folded into channels. Number of parameters (``s_i = kh_i kw_i``):
    ``(d n_0 s_1 + d)(e n_0 s_1 + e) + sum_{1<i<L} (d e s_i^2 + d e) + d e n_L^2 s_L^2 + (d n_L + 1) e n_L``.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> from weightspace_core.groups import sample_monomial
    >>> spec = NetworkSpec.mlp([2, 8, 8, 1])
    >>> layer = MonomialLinear(spec, 1, 3, generator=torch.Generator().manual_seed(0)).double()
    >>> ws = WeightSpace.randn(spec, batch_size=2, dtype=torch.float64)
    >>> g = sample_monomial(spec, "scale", generator=torch.Generator().manual_seed(1))
    >>> all(torch.allclose(a, b) for a, b in zip(layer(g.act(ws)).tensors(), g.act(layer(ws)).tensors()))
    True
    """

    def __init__(
        self, spec: NetworkSpec, in_channels: int, out_channels: int, *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__(spec, in_channels, out_channels, polynomial=False, generator=generator)

    @staticmethod
    def count_parameters(spec: NetworkSpec, in_channels: int, out_channels: int) -> int:
        """The parameter count formula of the class docstring."""
        d, e, s = in_channels, out_channels, kernel_numel(spec)
        n0, nl = spec.widths[0], spec.widths[-1]
        total = (d * n0 * s[0] + d) * (e * n0 * s[0] + e)
        total += sum(d * e * s[i] ** 2 + d * e for i in range(1, spec.num_layers - 1))
        return total + d * e * nl**2 * s[-1] ** 2 + (d * nl + 1) * e * nl


class MonomialInvariantPool(nn.Module):
    r"""Monomial-NFN invariant pool: WeightSpace ``(B, d)`` to ``(B, num_outputs)``.

    Per entry ``x`` (the ``d``-vector of channels at one weight or bias position, kernel positions included):

    ``x -> gamma * x / ||x|| + beta`` (``group="scale"``) or ``x -> gamma * |x| + beta`` (``group="sign"``),

    with learnable per-channel ``gamma``, ``beta`` (init 1, 0), followed by :class:`HNPPool`. A positive scaling
    multiplies every channel of an entry by the same positive factor, which the normalisation removes; a sign
    flip is removed by the absolute value, which keeps the entry's magnitude: the sign group does not change
    magnitudes, so normalising them away as well would discard invariant information (the size of each weight,
    which is most of what an INR's weights say about its image). HNP pooling removes the hidden permutations.
    Exactly invariant (the squared norm is floored at 1e-30 only to keep an all-zero entry finite). With one
    channel the scale-normalised entries are all 1 (or sign): use it after equivariant layers with several
    channels.

    The project's spec words the sign pool as "an abs first", which also reads as ``|x|`` followed by the scale
    pool's normalisation, ``x -> gamma * |x| / ||x|| + beta``. ``normalize_sign=True`` gives that reading (it is
    then invariant to scalings too, and blind to each entry's size across channels); the scale pool always
    normalises, so the flag changes nothing there.

    Parameters
    ----------
    spec:
        architecture of the input networks.
    in_channels:
        channels ``d`` of the input WeightSpace.
    group:
        ``"scale"`` (positive scalings) or ``"sign"`` (signs).
    normalize_sign:
        for ``group="sign"``, divide the absolute values by their norm across channels as well.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> from weightspace_core.groups import sample_monomial
    >>> spec = NetworkSpec.mlp([2, 8, 8, 1])
    >>> pool = MonomialInvariantPool(spec, 4, group="scale").double()
    >>> ws = WeightSpace.randn(spec, batch_size=2, channels=4, dtype=torch.float64)
    >>> g = sample_monomial(spec, "scale", generator=torch.Generator().manual_seed(0))
    >>> pool(ws).shape == (2, pool.num_outputs), torch.allclose(pool(g.act(ws)), pool(ws))
    (True, True)
    """

    def __init__(self, spec: NetworkSpec, in_channels: int, group: str = "scale", normalize_sign: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        self.spec = check_spec(spec, name)
        self.in_channels = check_channels(in_channels, "in_channels", name)
        if group not in ("scale", "sign"):
            raise ValueError(f"{name}: expected group 'scale' or 'sign', found {group!r}")
        self.group = group
        self.normalize_sign = bool(normalize_sign)
        self.gamma = nn.Parameter(torch.ones(in_channels))
        self.beta = nn.Parameter(torch.zeros(in_channels))
        self.pool = HNPPool(spec, in_channels)

    @property
    def num_outputs(self) -> int:
        return self.pool.num_outputs

    def _normalise(self, t: torch.Tensor) -> torch.Tensor:
        if self.group == "sign":
            t = t.abs()
        if self.group == "scale" or self.normalize_sign:
            t = t / t.pow(2).sum(dim=1, keepdim=True).clamp_min(_TINY_SQ).sqrt()
        shape = (1, -1) + (1,) * (t.ndim - 2)
        return self.gamma.view(shape) * t + self.beta.view(shape)

    def forward(self, ws: WeightSpace) -> torch.Tensor:
        check_input(ws, self.spec, self.in_channels, type(self).__name__)
        return self.pool(ws.map(self._normalise))

    def extra_repr(self) -> str:
        extra = ", normalize_sign=True" if self.normalize_sign and self.group == "sign" else ""
        return f"spec='{self.spec}', in_channels={self.in_channels}, group={self.group!r}{extra}"
