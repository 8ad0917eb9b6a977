"""magep_nfn (see the package README)."""

__version__ = "0.1.0"

from magep_nfn import models, nn

__all__ = ["__version__", "models", "nn"]
