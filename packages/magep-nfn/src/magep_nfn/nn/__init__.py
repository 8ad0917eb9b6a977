"""Weight-space layers: MAGEP-NFN polynomial layers and the NFN, Monomial-NFN and STATNN baselines.

Every layer takes ``(spec, in_channels, out_channels)`` and a :class:`weightspace_core.WeightSpace` of that spec.

- :class:`MAGEPLinear`, :class:`MAGEPInvariant`: equivariant / invariant polynomial layers for the hidden-neuron
  monomial group (permutations with positive scalings or signs);
- :class:`MonomialLinear`, :class:`MonomialInvariantPool`: Monomial-NFN (the same group, linear);
- :class:`NPLinear`, :class:`HNPLinear`, :class:`NPPool`, :class:`HNPPool`: NFN (permutations only);
- :class:`StatFeatures` (STATNN), :class:`FlatMLP`: no symmetry;
- :class:`ScaleEquivariantReLU`, :class:`SignEquivariantTanh`: pointwise nonlinearities on weight spaces.
"""

from magep_nfn.nn.activations import (
    ScaleEquivariantReLU,
    SignEquivariantTanh,
    WeightSpaceActivation,
    activation_for_group,
)
from magep_nfn.nn.magep import MAGEPInvariant, MAGEPLinear, StableTerms, spatial_matrices, stable_terms
from magep_nfn.nn.monomial import MonomialInvariantPool, MonomialLinear
from magep_nfn.nn.np_hnp import HNPLinear, HNPPool, NPLinear, NPPool
from magep_nfn.nn.stats import FlatMLP, StatFeatures, mlp

__all__ = [
    "FlatMLP",
    "HNPLinear",
    "HNPPool",
    "MAGEPInvariant",
    "MAGEPLinear",
    "MonomialInvariantPool",
    "MonomialLinear",
    "NPLinear",
    "NPPool",
    "ScaleEquivariantReLU",
    "SignEquivariantTanh",
    "StableTerms",
    "StatFeatures",
    "WeightSpaceActivation",
    "activation_for_group",
    "mlp",
    "spatial_matrices",
    "stable_terms",
]
