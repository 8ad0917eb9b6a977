"""weightspace-core: symmetry groups, their actions on neural-network weight spaces, and equivariance testing.

- :mod:`weightspace_core.groups`: permutations, monomial matrices, O(n), E(n), GL(n), and the monomial group of a
  network's hidden neurons acting on its weights;
- :class:`WeightSpace` and :class:`NetworkSpec`: the weights of MLPs and CNNs with batch and channel axes;
- :mod:`weightspace_core.testing`: float64 equivariance, invariance, sensitivity and function-preservation
  assertions;
- :mod:`weightspace_core.scatter`: ``index_add_``-based scatter/segment sums and means for message passing.
"""

from weightspace_core import groups, scatter, testing
from weightspace_core.weightspace import LayerSpec, NetworkSpec, WeightSpace

__version__ = "0.1.0"

__all__ = ["LayerSpec", "NetworkSpec", "WeightSpace", "__version__", "groups", "scatter", "testing"]
