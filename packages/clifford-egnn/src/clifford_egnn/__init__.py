"""clifford_egnn (see the package README)."""

from clifford_egnn import nn
from clifford_egnn.algebra import CliffordAlgebra

__version__ = "0.1.0"

__all__ = ["CliffordAlgebra", "nn", "__version__"]
