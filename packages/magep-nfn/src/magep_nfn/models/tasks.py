"""Ready models for MAGEP-NFN's three tasks, each with a MAGEP or a baseline backbone chosen by one argument.

- :class:`GeneralizationPredictor`: CNN weights -> predicted test accuracy in (0, 1) (sigmoid output);
- :class:`INRClassifier`: SIREN weights -> class logits;
- :class:`WeightEditor`: weights -> edited weights ``U + gamma * NFN(U)``.

Backbones (``backbone=``):

============  ===================================================  =====================================
name          equivariant layers / invariant head                  exact symmetry of the model
============  ===================================================  =====================================
``magep``     :class:`MAGEPLinear` / :class:`MAGEPInvariant`        permutations x ``group``
``monomial``  :class:`MonomialLinear` / :class:`MonomialInvariantPool`  permutations x ``group``
``hnp``       :class:`HNPLinear` / :class:`HNPPool`                  hidden-neuron permutations
``np``        :class:`NPLinear` / :class:`NPPool`                    hidden-neuron permutations
``stat``      :class:`StatFeatures` (STATNN)                         hidden-neuron permutations
``mlp``       :class:`FlatMLP`                                       none
============  ===================================================  =====================================

Two variants beside those, for the invariant models only (:data:`VARIANT_BACKBONES`):

- ``magep_pooled`` (not in the paper) is the ``magep`` stack with both heads side by side,
  :class:`MAGEPInvariant` and :class:`MonomialInvariantPool` (exactly invariant to permutations x ``group``, like
  ``magep``). For the sign group MAGEP's invariants are path products, odd in every hidden neuron's sign along each
  path, so they hold no even per-neuron statistic such as ``sum_k (W^(L)_k)^2``; the Monomial pool (absolute
  values, then HNP means) adds exactly those. It measures what the missing statistics cost MAGEP-NFN on a task.
- ``monomial_normalized`` is ``monomial`` whose sign-group pool also normalises the absolute values across
  channels (:class:`MonomialInvariantPool` with ``normalize_sign=True``), the other reading of the spec's sign
  pool. For ``group="scale"`` it is the same model as ``monomial``.

``group`` is ``"scale"`` (ReLU between equivariant layers: positive scalings, for ReLU networks) or ``"sign"``
(tanh: signs, for tanh and sine networks); it sets the nonlinearity between the layers of ``magep`` and
``monomial``. ``hnp`` and ``np`` are equivariant to permutations only, which every pointwise nonlinearity keeps, so
they always use ReLU, as NFN does: tanh would add no symmetry to them. The MLP on invariant features always uses
ReLU: its input is invariant.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from magep_nfn.nn import (
    FlatMLP,
    HNPLinear,
    HNPPool,
    MAGEPInvariant,
    MAGEPLinear,
    MonomialInvariantPool,
    MonomialLinear,
    NPLinear,
    NPPool,
    StatFeatures,
    WeightSpaceActivation,
    activation_for_group,
    mlp,
)
from magep_nfn.nn._common import check_channels, check_input, check_spec
from weightspace_core import NetworkSpec, WeightSpace

__all__ = [
    "BACKBONES",
    "EQUIVARIANT_BACKBONES",
    "GeneralizationPredictor",
    "INRClassifier",
    "InvariantModel",
    "PERMUTATION_BACKBONES",
    "VARIANT_BACKBONES",
    "WeightEditor",
    "equivariant_stack",
    "stack_nonlinearity",
]

EQUIVARIANT_BACKBONES = ("magep", "monomial", "hnp", "np")
#: Backbones equivariant to permutations only: their nonlinearity is ReLU whatever the group.
PERMUTATION_BACKBONES = ("hnp", "np")
BACKBONES = (*EQUIVARIANT_BACKBONES, "stat", "mlp")
#: Invariant-model backbones that are not in the paper (module docstring).
VARIANT_BACKBONES = ("magep_pooled", "monomial_normalized")


def _check_backbone(backbone: str, allowed: Sequence[str], owner: str) -> str:
    if backbone not in allowed:
        raise ValueError(f"{owner}: expected backbone in {tuple(allowed)}, found {backbone!r}")
    return backbone


def _equivariant_layer(
    backbone: str,
    spec: NetworkSpec,
    d: int,
    e: int,
    normalize: bool,
    learn_psi: bool,
    generator: torch.Generator | None,
) -> nn.Module:
    if backbone == "magep":
        return MAGEPLinear(spec, d, e, normalize=normalize, learn_psi=learn_psi, generator=generator)
    if backbone == "monomial":
        return MonomialLinear(spec, d, e, generator=generator)
    if backbone == "hnp":
        return HNPLinear(spec, d, e, generator=generator)
    return NPLinear(spec, d, e, generator=generator)


def stack_nonlinearity(backbone: str, group: str) -> WeightSpaceActivation:
    """The nonlinearity between the equivariant layers of ``backbone``: the one of ``group`` (ReLU for ``"scale"``,
    tanh for ``"sign"``) for ``magep`` and ``monomial``, ReLU for the permutation-only ``hnp`` and ``np``.

    >>> type(stack_nonlinearity("magep", "sign")).__name__, type(stack_nonlinearity("np", "sign")).__name__
    ('SignEquivariantTanh', 'ScaleEquivariantReLU')
    """
    activation_for_group(group)
    return activation_for_group("scale" if backbone in PERMUTATION_BACKBONES else group)


def equivariant_stack(
    spec: NetworkSpec,
    backbone: str,
    channels: Sequence[int],
    group: str = "scale",
    *,
    final_activation: bool = True,
    normalize: bool = True,
    learn_psi: bool = True,
    generator: torch.Generator | None = None,
) -> nn.Sequential:
    """Equivariant layers ``channels[0] -> channels[1] -> ...`` with :func:`stack_nonlinearity` between them.

    Parameters
    ----------
    backbone:
        one of ``"magep"``, ``"monomial"``, ``"hnp"``, ``"np"``.
    channels:
        at least two channel counts; ``len(channels) - 1`` layers.
    group:
        ``"scale"`` (ReLU) or ``"sign"`` (tanh; ``hnp`` and ``np`` keep ReLU).
    final_activation:
        whether the last layer is followed by the nonlinearity too.
    normalize, learn_psi:
        the gain normalisation and learnable Psi of :class:`MAGEPLinear` (other backbones ignore them).

    Examples
    --------
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> spec = NetworkSpec.mlp([2, 8, 1])
    >>> stack = equivariant_stack(spec, "magep", [1, 4, 4], "sign")
    >>> stack(WeightSpace.randn(spec, batch_size=2)).channels
    4
    """
    _check_backbone(backbone, EQUIVARIANT_BACKBONES, "equivariant_stack")
    activation_for_group(group)
    if len(channels) < 2:
        raise ValueError(f"equivariant_stack: expected at least two channel counts, found {list(channels)}")
    modules: list[nn.Module] = []
    for i, (d, e) in enumerate(itertools.pairwise(channels)):
        modules.append(_equivariant_layer(backbone, spec, d, e, normalize, learn_psi, generator))
        if final_activation or i < len(channels) - 2:
            modules.append(stack_nonlinearity(backbone, group))
    return nn.Sequential(*modules)


class InvariantModel(nn.Module):
    r"""Weights -> ``(B, out_features)``: equivariant layers, an invariant head, then an MLP.

    ``y = MLP(Head(Stack(U)))`` where ``Stack`` is ``num_layers`` equivariant layers of ``hidden_channels``
    (:func:`stack_nonlinearity` after each), and ``Head`` is :class:`MAGEPInvariant` (to ``invariant_features``
    outputs), :class:`MonomialInvariantPool`, :class:`HNPPool` or :class:`NPPool` for the equivariant backbones
    (``magep_pooled``: the first two, concatenated); ``stat`` is ``MLP(StatFeatures(U))`` and ``mlp`` is
    :class:`FlatMLP`. Invariant to the group of the backbone's row in the module table.

    Parameters
    ----------
    spec:
        architecture of the input networks; inputs are WeightSpaces ``(B, in_channels)`` of that spec.
    out_features:
        outputs per network.
    backbone:
        one of :data:`BACKBONES` or :data:`VARIANT_BACKBONES`.
    hidden_channels, num_layers:
        width and depth of the equivariant stack (``num_layers >= 1``).
    invariant_features:
        outputs of :class:`MAGEPInvariant` (``magep`` only).
    head_hidden:
        hidden widths of the final MLP (and of the ``stat`` / ``mlp`` baselines).
    group:
        ``"scale"`` or ``"sign"``.
    normalize, learn_psi:
        MAGEP gain normalisation; learnable (True) or frozen random (False) Psi.
    dropout:
        dropout in the final MLP.
    in_channels:
        channels of the input WeightSpace (1 for raw weights).
    generator:
        seeds every initial value.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> spec = NetworkSpec.mlp([2, 8, 1])
    >>> model = InvariantModel(spec, 3, backbone="hnp", hidden_channels=4, generator=torch.Generator().manual_seed(0))
    >>> model(WeightSpace.randn(spec, batch_size=5)).shape
    torch.Size([5, 3])
    """

    def __init__(
        self,
        spec: NetworkSpec,
        out_features: int,
        backbone: str = "magep",
        *,
        hidden_channels: int = 16,
        num_layers: int = 2,
        invariant_features: int = 64,
        head_hidden: Sequence[int] = (128,),
        group: str = "scale",
        normalize: bool = True,
        learn_psi: bool = True,
        dropout: float = 0.0,
        in_channels: int = 1,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.spec = check_spec(spec, name)
        self.backbone = _check_backbone(backbone, (*BACKBONES, *VARIANT_BACKBONES), name)
        self.out_features = check_channels(out_features, "out_features", name)
        self.in_channels = check_channels(in_channels, "in_channels", name)
        check_channels(hidden_channels, "hidden_channels", name)
        check_channels(num_layers, "num_layers", name)
        activation_for_group(group)
        self.group = group
        head_hidden = tuple(head_hidden)
        self.encoder: nn.Module
        self.pool: nn.Module
        if backbone == "mlp":
            self.encoder = nn.Identity()
            self.pool = FlatMLP(spec, out_features, head_hidden, in_channels, dropout=dropout, generator=generator)
            self.head: nn.Module = nn.Identity()
            return
        if backbone == "stat":
            self.encoder = nn.Identity()
            self.pool = StatFeatures(spec, in_channels)
        else:
            channels = [in_channels] + [hidden_channels] * num_layers
            layers = {"magep_pooled": "magep", "monomial_normalized": "monomial"}.get(backbone, backbone)
            self.encoder = equivariant_stack(
                spec, layers, channels, group, normalize=normalize, learn_psi=learn_psi, generator=generator
            )
            if layers == "magep":
                self.pool = MAGEPInvariant(
                    spec,
                    hidden_channels,
                    invariant_features,
                    normalize=normalize,
                    learn_psi=learn_psi,
                    generator=generator,
                )
                if backbone == "magep_pooled":
                    self.pool = _ConcatenatedPools(self.pool, MonomialInvariantPool(spec, hidden_channels, group))
            elif layers == "monomial":
                self.pool = MonomialInvariantPool(
                    spec, hidden_channels, group, normalize_sign=backbone == "monomial_normalized"
                )
            elif backbone == "hnp":
                self.pool = HNPPool(spec, hidden_channels)
            else:
                self.pool = NPPool(spec, hidden_channels)
        self.head = mlp(self.pool.num_outputs, head_hidden, out_features, dropout=dropout, generator=generator)

    def forward(self, ws: WeightSpace) -> torch.Tensor:
        check_input(ws, self.spec, self.in_channels, type(self).__name__)
        return self.head(self.pool(self.encoder(ws)))


class _ConcatenatedPools(nn.Module):
    """Invariant pools side by side: WeightSpace ``(B, d)`` to ``(B, sum of their num_outputs)``."""

    def __init__(self, *pools: nn.Module) -> None:
        super().__init__()
        self.pools = nn.ModuleList(pools)

    @property
    def num_outputs(self) -> int:
        return sum(int(p.num_outputs) for p in self.pools)

    def forward(self, ws: WeightSpace) -> torch.Tensor:
        return torch.cat([p(ws) for p in self.pools], dim=1)


class GeneralizationPredictor(InvariantModel):
    r"""Predict a CNN's test accuracy from its weights: WeightSpace ``(B, 1)`` to ``(B,)`` in (0, 1).

    ``acc(U) = sigmoid(InvariantModel(U))`` with one output. Use ``group="scale"`` for ReLU zoos and
    ``group="sign"`` for tanh zoos. Keyword arguments as :class:`InvariantModel`.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> spec = NetworkSpec.cnn([1, 4, 4], [10])
    >>> model = GeneralizationPredictor(spec, "magep", hidden_channels=4, generator=torch.Generator().manual_seed(0))
    >>> acc = model(WeightSpace.randn(spec, batch_size=3))
    >>> acc.shape, bool(((acc > 0) & (acc < 1)).all())
    (torch.Size([3]), True)
    """

    def __init__(self, spec: NetworkSpec, backbone: str = "magep", **kwargs: object) -> None:
        super().__init__(spec, 1, backbone, **kwargs)  # type: ignore[arg-type]

    def forward(self, ws: WeightSpace) -> torch.Tensor:
        return torch.sigmoid(super().forward(ws)[:, 0])


class INRClassifier(InvariantModel):
    r"""Classify the image an INR (SIREN) represents from its weights: WeightSpace ``(B, 1)`` to logits ``(B, K)``.

    ``InvariantModel`` with ``num_classes`` outputs and ``group="sign"`` by default (sine activations keep only
    sign flips). No Fourier-feature input encoding is applied: an even encoding (cos) would break sign
    invariance. Keyword arguments as :class:`InvariantModel`.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> spec = NetworkSpec.mlp([2, 32, 32, 1])
    >>> model = INRClassifier(spec, 10, "magep", hidden_channels=4, generator=torch.Generator().manual_seed(0))
    >>> model(WeightSpace.randn(spec, batch_size=3)).shape
    torch.Size([3, 10])
    """

    def __init__(
        self, spec: NetworkSpec, num_classes: int, backbone: str = "magep", *, group: str = "sign", **kwargs: object
    ) -> None:
        super().__init__(spec, num_classes, backbone, group=group, **kwargs)  # type: ignore[arg-type]


class WeightEditor(nn.Module):
    r"""Edit a network's weights: WeightSpace ``(B, 1)`` to WeightSpace ``(B, 1)`` of the same spec.

    ``U' = U + gamma * NFN(U)``, ``gamma`` a learnable scalar (init ``gamma_init``) and ``NFN`` ``num_layers``
    equivariant layers ``1 -> hidden_channels -> ... -> 1`` with :func:`stack_nonlinearity` between them (none
    after the last). Equivariant: ``U'(g U) = g U'(U)`` for the group of the backbone (module table). The
    ``mlp`` backbone predicts the update as a flat vector (no symmetry); ``stat`` cannot produce weights and is
    refused.

    Parameters
    ----------
    spec:
        architecture of the edited networks.
    backbone:
        one of ``"magep"``, ``"monomial"``, ``"hnp"``, ``"np"``, ``"mlp"``.
    hidden_channels, num_layers:
        the equivariant stack (``num_layers >= 1``; 1 means a single layer ``1 -> 1``).
    group:
        ``"sign"`` (default: SIRENs) or ``"scale"``.
    gamma_init:
        initial ``gamma``.
    normalize, learn_psi:
        MAGEP gain normalisation; learnable (True) or frozen random (False) Psi.
    head_hidden:
        hidden widths of the ``mlp`` backbone.
    generator:
        seeds every initial value.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import NetworkSpec, WeightSpace
    >>> spec = NetworkSpec.mlp([2, 16, 16, 1])
    >>> editor = WeightEditor(spec, "magep", hidden_channels=4, generator=torch.Generator().manual_seed(0))
    >>> ws = WeightSpace.randn(spec, batch_size=2)
    >>> edited = editor(ws)
    >>> edited.spec == spec, round(editor.gamma.item(), 2)
    (True, 0.01)
    """

    def __init__(
        self,
        spec: NetworkSpec,
        backbone: str = "magep",
        *,
        hidden_channels: int = 16,
        num_layers: int = 3,
        group: str = "sign",
        gamma_init: float = 0.01,
        normalize: bool = True,
        learn_psi: bool = True,
        head_hidden: Sequence[int] = (256,),
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.spec = check_spec(spec, name)
        self.backbone = _check_backbone(backbone, (*EQUIVARIANT_BACKBONES, "mlp"), name)
        check_channels(hidden_channels, "hidden_channels", name)
        check_channels(num_layers, "num_layers", name)
        activation_for_group(group)
        self.group = group
        self.gamma = nn.Parameter(torch.tensor(float(gamma_init)))
        self.net: nn.Module
        if backbone == "mlp":
            self.net = FlatMLP(spec, spec.num_params, tuple(head_hidden), generator=generator)
        else:
            channels = [1] + [hidden_channels] * (num_layers - 1) + [1]
            self.net = equivariant_stack(
                spec,
                backbone,
                channels,
                group,
                final_activation=False,
                normalize=normalize,
                learn_psi=learn_psi,
                generator=generator,
            )

    def update(self, ws: WeightSpace) -> WeightSpace:
        """``NFN(U)``: the un-scaled update, WeightSpace ``(B, 1)``."""
        check_input(ws, self.spec, 1, type(self).__name__)
        if self.backbone == "mlp":
            return WeightSpace.unflatten(self.net(ws), self.spec)
        return self.net(ws)

    def forward(self, ws: WeightSpace) -> WeightSpace:
        return ws + self.update(ws) * self.gamma
