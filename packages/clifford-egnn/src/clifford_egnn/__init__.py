"""clifford_egnn (see the package README)."""

from clifford_egnn import data, models, nn
from clifford_egnn.algebra import CliffordAlgebra
from clifford_egnn.models import CGEGNN, EGNN

__version__ = "0.1.0"

__all__ = ["CGEGNN", "EGNN", "CliffordAlgebra", "data", "models", "nn", "__version__"]
