"""Clifford-group-equivariant layers on multivector features ``(..., channels, dim)`` (CGENN, Ruhe et al. 2023).

Every layer takes the :class:`~clifford_egnn.CliffordAlgebra` first, then channel counts, and satisfies
``layer(rho(w) x) = rho(w) layer(x)`` for every versor ``w`` of the algebra (rotations and reflections).
"""

from clifford_egnn.nn.activation import MVSiLU
from clifford_egnn.nn.linear import MVLinear
from clifford_egnn.nn.mlp import CEMLP
from clifford_egnn.nn.normalization import MVGradeNorm, MVLayerNorm
from clifford_egnn.nn.product import FullyConnectedSteerableGeometricProduct, SteerableGeometricProduct

__all__ = [
    "CEMLP",
    "FullyConnectedSteerableGeometricProduct",
    "MVGradeNorm",
    "MVLayerNorm",
    "MVLinear",
    "MVSiLU",
    "SteerableGeometricProduct",
]
