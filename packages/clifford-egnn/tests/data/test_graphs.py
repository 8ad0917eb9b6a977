"""Graph batching: offsets, graph ids, the complete graph, errors."""

from __future__ import annotations

import pytest
import torch

from clifford_egnn.data.graphs import GraphSample, collate_graphs, complete_edge_index


def test_collate_offsets_edges_and_builds_batch():
    a = GraphSample(torch.zeros(2, 3), torch.zeros(2, 1, 3), torch.zeros(2, 1), torch.tensor([[0], [1]]))
    b = GraphSample(torch.ones(3, 3), torch.ones(3, 1, 3), torch.ones(3, 1), torch.tensor([[2, 0], [1, 2]]))
    batch = collate_graphs([a, b])
    assert batch.edge_index.tolist() == [[0, 4, 2], [1, 3, 4]]
    assert batch.batch.tolist() == [0, 0, 1, 1, 1]
    assert batch.num_graphs == 2
    assert len(batch) == 2
    moved = batch.to(torch.float64)
    assert moved.x.dtype == torch.float64
    assert moved.edge_index.dtype == torch.long


def test_complete_graph_matches_a_dense_construction():
    batch = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2, 2])
    same = (batch[:, None] == batch[None, :]) & ~torch.eye(9, dtype=torch.bool)
    assert complete_edge_index(batch).tolist() == same.nonzero().T.tolist()


def test_collate_errors():
    with pytest.raises(ValueError, match="at least one sample"):
        collate_graphs([])
    a = GraphSample(torch.zeros(2, 3), torch.zeros(2, 1, 3), torch.zeros(2, 1), torch.tensor([[0], [1]]))
    b = GraphSample(torch.zeros(2, 3), torch.zeros(2, 1, 3), torch.zeros(2, 1))
    with pytest.raises(ValueError, match="edge_index"):
        collate_graphs([a, b])
