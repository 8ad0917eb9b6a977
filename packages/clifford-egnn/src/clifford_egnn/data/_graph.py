"""Graph helpers shared by the motion-capture and MD17 loaders: hop-distance edges and fixed-graph batching.

Both data sets have one graph for every sample (the skeleton, or the molecule's bonds at its first frame): the
data set stores the node tensors of all samples and the one graph, and hands out
:class:`~clifford_egnn.data.graphs.GraphSample` objects that :func:`~clifford_egnn.data.graphs.collate_graphs`
batches.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from clifford_egnn.data.graphs import GraphSample, collate_graphs

__all__ = ["FixedGraphDataset", "hop_edges"]


def hop_edges(bonds: torch.Tensor, num_nodes: int, max_hops: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Directed edges between every pair of nodes ``1 <= d(i, j) <= max_hops`` bonds apart, with their distance.

    ``d`` is the shortest-path distance on the undirected graph of ``bonds``. With ``max_hops=2`` this is the GMN
    graph: bonds (attribute 1) plus pairs that share a neighbour and are not bonded (attribute 2). GMN builds the
    second set as the non-zero entries of ``A @ A`` and asserts they never coincide with a bond; the shortest-path
    definition agrees with it wherever that assertion holds (no 3-rings) and stays well defined on triangles.

    Parameters
    ----------
    bonds : LongTensor (B, 2)
        Undirected bonds ``(i, j)``, each listed once or twice; self loops are not allowed.
    num_nodes : int
        Number of nodes N; bond indices lie in ``[0, N)``.
    max_hops : int
        Largest hop distance kept (>= 1).

    Returns
    -------
    edge_index : LongTensor (2, E)
        ``edge_index[0]`` the receiving node i, ``edge_index[1]`` the sending node j, both directions present,
        ordered row-major by ``(i, j)`` (the order of GMN's double loop).
    hops : LongTensor (E,)
        The hop distance ``d(i, j)`` of each edge, in ``1..max_hops``.

    Examples
    --------
    >>> edge_index, hops = hop_edges(torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    >>> edge_index.tolist(), hops.tolist()
    ([[0, 0, 1, 1, 2, 2], [1, 2, 0, 2, 0, 1]], [1, 2, 1, 1, 2, 1])
    """
    if max_hops < 1:
        raise ValueError(f"max_hops: expected an integer >= 1, found {max_hops}")
    bonds = torch.as_tensor(bonds, dtype=torch.long)
    if bonds.ndim != 2 or bonds.shape[1] != 2:
        raise ValueError(f"bonds: expected an integer array of shape (B, 2), found shape {tuple(bonds.shape)}")
    if bonds.numel() and (int(bonds.min()) < 0 or int(bonds.max()) >= num_nodes):
        raise ValueError(
            f"bonds: expected node indices in [0, {num_nodes}), found range [{int(bonds.min())}, {int(bonds.max())}]"
        )
    if bool((bonds[:, 0] == bonds[:, 1]).any()):
        raise ValueError("bonds: expected pairs of distinct nodes, found a self loop")
    adjacency = torch.zeros(num_nodes, num_nodes, dtype=torch.bool)
    adjacency[bonds[:, 0], bonds[:, 1]] = True
    adjacency[bonds[:, 1], bonds[:, 0]] = True
    distance = torch.zeros(num_nodes, num_nodes, dtype=torch.long)
    reached = torch.eye(num_nodes, dtype=torch.bool)
    frontier = reached.clone()
    step = adjacency.to(torch.float32)
    for d in range(1, max_hops + 1):
        frontier = (frontier.to(torch.float32) @ step > 0) & ~reached
        distance[frontier] = d
        reached |= frontier
    edge_index = torch.nonzero(distance > 0).T.contiguous()
    return edge_index, distance[edge_index[0], edge_index[1]]


class FixedGraphDataset(Dataset[GraphSample]):
    """Samples of node tensors on one shared graph, handed out as :class:`~clifford_egnn.data.graphs.GraphSample`.

    Parameters
    ----------
    x : (S, N, 3) input positions of S samples with N nodes.
    v : (S, N, C_v, 3) vector features.
    h : (S, N, C_h) invariant node features.
    target : (S, N, 3) or (S, N, F, 3) positions to predict.
    edge_index : LongTensor (2, E) the shared graph.
    edge_attr : (E, C_e) its edge scalars.

    Examples
    --------
    >>> data = FixedGraphDataset(
    ...     torch.zeros(4, 3, 3), torch.zeros(4, 3, 1, 3), torch.zeros(4, 3, 2), torch.zeros(4, 3, 3),
    ...     torch.tensor([[0, 1], [1, 0]]), torch.ones(2, 1))
    >>> batch = FixedGraphDataset.collate([data[0], data[3]])
    >>> batch.x.shape, batch.edge_index.tolist(), batch.batch.tolist()
    (torch.Size([6, 3]), [[0, 1, 3, 4], [1, 0, 4, 3]], [0, 0, 0, 1, 1, 1])
    """

    def __init__(
        self,
        x: torch.Tensor,
        v: torch.Tensor,
        h: torch.Tensor,
        target: torch.Tensor,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor,
    ) -> None:
        num_samples, num_nodes = x.shape[:2]
        for name, tensor in (("v", v), ("h", h), ("target", target)):
            if tensor.shape[:2] != (num_samples, num_nodes):
                raise ValueError(
                    f"{name}: expected leading shape ({num_samples}, {num_nodes}) like x, found {tuple(tensor.shape)}"
                )
        if edge_index.ndim != 2 or edge_index.shape[0] != 2 or edge_attr.shape[0] != edge_index.shape[1]:
            raise ValueError(
                f"edge_index/edge_attr: expected shapes (2, E) and (E, C), found {tuple(edge_index.shape)} and "
                f"{tuple(edge_attr.shape)}"
            )
        self.x, self.v, self.h, self.target = x, v, h, target
        self.edge_index = edge_index.long()
        self.edge_attr = edge_attr
        self.num_nodes = int(num_nodes)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __getitem__(self, index: int) -> GraphSample:
        return GraphSample(
            self.x[index], self.v[index], self.h[index], self.edge_index, self.edge_attr, self.target[index]
        )

    #: batches samples into one :class:`~clifford_egnn.data.graphs.GraphBatch` (the target in ``y``)
    collate = staticmethod(collate_graphs)
