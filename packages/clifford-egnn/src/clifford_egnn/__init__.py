"""clifford_egnn (see the package README)."""

__version__ = "0.1.0"

__all__ = ["__version__"]
