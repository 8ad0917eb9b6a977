"""Graph models: CG-EGNN (k-hop, path-aware, multivector), and the EGNN and CGENN baselines.

Every model has the forward ``model(x, v, h, edge_index=None, batch=None, edge_attr=None)`` returning a
:class:`GraphOutput` ``(positions, scalars)``. CGENN is ``CGEGNN(hops=1, path_features=False)``.
"""

from clifford_egnn.models.cgegnn import CGEGNN, CGEGNNLayer
from clifford_egnn.models.egnn import EGNN, EGNNLayer, GraphOutput
from clifford_egnn.models.structure import HopStructure, StructureCache, hop_structure, validate_graph_inputs

__all__ = [
    "CGEGNN",
    "EGNN",
    "CGEGNNLayer",
    "EGNNLayer",
    "GraphOutput",
    "HopStructure",
    "StructureCache",
    "hop_structure",
    "validate_graph_inputs",
]
