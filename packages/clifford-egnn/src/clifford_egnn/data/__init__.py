"""Geometric data sets and graph batching.

- :mod:`clifford_egnn.data.graphs`: :class:`GraphSample`, :class:`GraphBatch`, :func:`collate_graphs`,
  :func:`complete_edge_index` (shared by every loader);
- :mod:`clifford_egnn.data.nbody`: the charged-particle n-body simulator and data set.
"""

from clifford_egnn.data.graphs import GraphBatch, GraphSample, collate_graphs, complete_edge_index, graph_sizes
from clifford_egnn.data.nbody import NBodyDataset, build_dataset, nbody_collate, simulate

__all__ = [
    "GraphBatch",
    "GraphSample",
    "NBodyDataset",
    "build_dataset",
    "collate_graphs",
    "complete_edge_index",
    "graph_sizes",
    "nbody_collate",
    "simulate",
]
