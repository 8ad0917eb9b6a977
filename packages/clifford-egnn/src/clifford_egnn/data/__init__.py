"""Geometric data sets and graph batching.

- :mod:`clifford_egnn.data.graphs`: :class:`GraphSample`, :class:`GraphBatch`, :func:`collate_graphs`,
  :func:`complete_edge_index` (shared by every loader);
- :mod:`clifford_egnn.data.nbody`: the charged-particle n-body simulator and data set;
- :mod:`clifford_egnn.data.motion`: CMU motion capture (GMN protocol) from GMN's ``motion.pkl``;
- :mod:`clifford_egnn.data.md17`: MD17 ``{molecule}_dft.npz`` under the GMN and the EqMotion/CSMPN protocols;
- :mod:`clifford_egnn.data.synthetic`: SYNTHETIC stand-ins writing those two formats (offline runs only).
"""

from clifford_egnn.data.graphs import GraphBatch, GraphSample, collate_graphs, complete_edge_index, graph_sizes
from clifford_egnn.data.md17 import MD17EqMotionDataset, MD17GMNDataset, ade_fde, load_md17
from clifford_egnn.data.motion import MotionCaptureDataset, load_motion_pickle
from clifford_egnn.data.nbody import NBodyDataset, build_dataset, nbody_collate, simulate

__all__ = [
    "GraphBatch",
    "GraphSample",
    "MD17EqMotionDataset",
    "MD17GMNDataset",
    "MotionCaptureDataset",
    "NBodyDataset",
    "ade_fde",
    "build_dataset",
    "collate_graphs",
    "complete_edge_index",
    "graph_sizes",
    "load_md17",
    "load_motion_pickle",
    "nbody_collate",
    "simulate",
]
