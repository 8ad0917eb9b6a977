"""Graph structure for high-order message passing: hop neighbourhoods and length-2 paths, computed once per graph.

For a batch of graphs (a disjoint union with graph ids ``batch``) and its edges ``edge_index`` (receiver
``edge_index[0] = i``, sender ``edge_index[1] = j``):

- hop neighbourhoods ``N_d(i) = {j : dist(i, j) = d}`` for ``d = 1..K``, ``dist`` the shortest-path distance on
  the directed graph of messages ``j -> i``. Hop 1 is the input edge list itself (kept in its order, so edge
  scalars stay aligned); hops ``d >= 2`` come from a breadth-first search run on all graphs at once as batched
  boolean matrix products on per-graph padded adjacency matrices ``(B, M, M)`` (``M`` the largest graph):
  ``K`` products, no loop over nodes or graphs;
- paths ``i - u - j`` with ``u in N_1(i)``, ``j in N_1(u)``, ``j != i`` (triplets), enumerated from the
  deduplicated hop-1 adjacency with ``repeat_interleave``, and for each triplet the slot of its end pair
  ``(i, j)``, so that per-pair aggregates can be gathered for the messages of every hop.

The structure depends on the topology only, never on positions, so :class:`StructureCache` keeps it across
steps: a model recomputes it only when it meets a batch topology it has not seen recently.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import torch

from clifford_egnn.data.graphs import complete_edge_index

__all__ = ["HopStructure", "StructureCache", "hop_structure", "validate_graph_inputs"]


class HopStructure(NamedTuple):
    """Hop neighbourhoods and length-2 paths of a batch of graphs (all int64 tensors on the graph's device).

    Attributes
    ----------
    hop_edges:
        ``K`` tensors ``(2, E_d)``: pairs ``(i, j)`` with ``j in N_d(i)``; ``hop_edges[0]`` is the input edge list.
    triplets:
        ``(3, T)``: rows ``i, u, j`` of every path ``i - u - j`` (``u in N_1(i)``, ``j in N_1(u)``, ``j != i``).
    triplet_pair:
        ``(T,)``: slot in ``[0, S)`` of the end pair ``(i, j)`` of each triplet (``S`` distinct pairs).
    hop_pair:
        ``K`` tensors ``(E_d,)``: the slot of each hop-``d`` pair, or ``S`` when no path joins it.
    num_pairs:
        ``S``.
    """

    hop_edges: list[torch.Tensor]
    triplets: torch.Tensor
    triplet_pair: torch.Tensor
    hop_pair: list[torch.Tensor]
    num_pairs: int


def validate_graph_inputs(
    x: torch.Tensor,
    dim: int,
    v: torch.Tensor | None = None,
    h: torch.Tensor | None = None,
    edge_index: torch.Tensor | None = None,
    batch: torch.Tensor | None = None,
    edge_attr: torch.Tensor | None = None,
    in_vectors: int | None = None,
    in_scalars: int | None = None,
    edge_features: int | None = None,
) -> torch.Tensor:
    """Raise ``ValueError`` naming the tensor and the shapes when graph inputs do not fit together.

    Checks: ``x (N, dim)``; ``v (N, in_vectors, dim)``; ``h (N, in_scalars)``; ``batch (N,)`` int64,
    non-decreasing; ``edge_index (2, E)`` int64 with values in ``[0, N)``, both ends in the same graph;
    ``edge_attr (E, edge_features)``, required when ``edge_features`` is positive. ``None`` for an expected count
    skips that check.

    Returns
    -------
    torch.Tensor
        ``batch``, or all zeros ``(N,)`` (one graph) when it is ``None``.
    """
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"x: expected positions of shape (N, {dim}) for this {dim}-d model, found {tuple(x.shape)}")
    num_nodes = x.shape[0]
    if v is not None and (
        v.ndim != 3
        or v.shape[0] != num_nodes
        or v.shape[2] != dim
        or (in_vectors is not None and v.shape[1] != in_vectors)
    ):
        channels = "C_v" if in_vectors is None else in_vectors
        raise ValueError(
            f"v: expected vector features of shape ({num_nodes}, {channels}, {dim}), found {tuple(v.shape)}"
        )
    if h is not None and (
        h.ndim != 2 or h.shape[0] != num_nodes or (in_scalars is not None and h.shape[1] != in_scalars)
    ):
        channels = "C_s" if in_scalars is None else in_scalars
        raise ValueError(f"h: expected scalar features of shape ({num_nodes}, {channels}), found {tuple(h.shape)}")
    if batch is not None:
        if batch.dtype != torch.long:
            raise ValueError(f"batch: expected dtype torch.int64, found {batch.dtype}")
        if batch.shape != (num_nodes,):
            raise ValueError(
                f"batch: expected shape ({num_nodes},) to match x {tuple(x.shape)}, found {tuple(batch.shape)}"
            )
        if num_nodes > 1 and bool((batch[1:] < batch[:-1]).any()):
            raise ValueError("batch: expected non-decreasing graph ids (the nodes of each graph stored contiguously)")
        if num_nodes and int(batch[0]) < 0:
            raise ValueError(f"batch: expected non-negative graph ids, found {int(batch[0])}")
    if edge_index is not None:
        if edge_index.dtype != torch.long:
            raise ValueError(f"edge_index: expected dtype torch.int64, found {edge_index.dtype}")
        if edge_index.ndim != 2 or edge_index.shape[0] != 2:
            raise ValueError(f"edge_index: expected shape (2, E), found {tuple(edge_index.shape)}")
        if edge_index.numel():
            low, high = int(edge_index.min()), int(edge_index.max())
            if low < 0 or high >= num_nodes:
                raise ValueError(
                    f"edge_index: expected node indices in [0, {num_nodes}) for x {tuple(x.shape)}, "
                    f"found range [{low}, {high}]"
                )
            if batch is not None and bool((batch[edge_index[0]] != batch[edge_index[1]]).any()):
                raise ValueError("edge_index: found edges joining nodes of different graphs of batch")
    if edge_attr is not None:
        if edge_index is not None:
            num_edges = edge_index.shape[1]
        else:
            sizes = torch.bincount(batch) if batch is not None and num_nodes else torch.tensor([num_nodes])
            num_edges = int((sizes * (sizes - 1)).sum())
        shape_ok = edge_attr.ndim == 2 and edge_attr.shape[0] == num_edges
        if not shape_ok or (edge_features is not None and edge_attr.shape[1] != edge_features):
            channels = "C_e" if edge_features is None else edge_features
            raise ValueError(f"edge_attr: expected shape ({num_edges}, {channels}), found {tuple(edge_attr.shape)}")
    elif edge_features:
        raise ValueError(f"edge_attr: expected shape (E, {edge_features}), found None")
    return batch if batch is not None else torch.zeros(num_nodes, dtype=torch.long, device=x.device)


def _padded_layout(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    sizes = torch.bincount(batch)
    starts = torch.cumsum(sizes, 0) - sizes
    local = torch.arange(batch.numel(), device=batch.device) - starts[batch]
    return starts, local, sizes.numel(), int(sizes.max()) if sizes.numel() else 0


def hop_structure(edge_index: torch.Tensor | None, batch: torch.Tensor, hops: int, paths: bool = True) -> HopStructure:
    """Hop neighbourhoods ``N_1..N_K`` and (if ``paths``) the length-2 paths of a batch of graphs.

    Parameters
    ----------
    edge_index:
        ``(2, E)`` int64, receiver first; ``None`` for the complete graph of each graph
        (:func:`~clifford_egnn.data.graphs.complete_edge_index`).
    batch:
        ``(N,)`` non-decreasing graph ids.
    hops:
        ``K >= 1``.
    paths:
        enumerate the triplets ``i - u - j`` (otherwise they are empty).

    Returns
    -------
    HopStructure

    Examples
    --------
    >>> import torch
    >>> path_graph = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    >>> s = hop_structure(path_graph, torch.zeros(3, dtype=torch.long), hops=2)
    >>> s.hop_edges[1].tolist()
    [[0, 2], [2, 0]]
    >>> s.triplets.tolist()
    [[0, 2], [1, 1], [2, 0]]
    """
    if hops < 1:
        raise ValueError(f"hops: expected K >= 1, found {hops}")
    device = batch.device
    if edge_index is None:
        edge_index = complete_edge_index(batch)
    starts, local, num_graphs, width = _padded_layout(batch)
    graph_of_edge = batch[edge_index[0]]
    flat = (graph_of_edge * width + local[edge_index[0]]) * width + local[edge_index[1]]
    adjacency = torch.zeros(num_graphs * width * width, dtype=torch.bool, device=device)
    adjacency[flat] = True
    adjacency = adjacency.view(num_graphs, width, width)

    hop_edges = [edge_index]
    if hops > 1:
        reached = torch.eye(width, dtype=torch.bool, device=device).expand(num_graphs, width, width).clone()
        frontier = reached.clone()
        step = adjacency.to(torch.float32)
        valid = torch.zeros(num_graphs, width, dtype=torch.bool, device=device)
        valid[batch, local] = True
        valid_pairs = valid.unsqueeze(2) & valid.unsqueeze(1)
        for d in range(1, hops + 1):
            # i reaches j in d steps when some u reached in d - 1 steps has an edge (u <- j): frontier @ A.
            frontier = (torch.bmm(frontier.to(torch.float32), step) > 0) & ~reached & valid_pairs
            reached |= frontier
            if d >= 2:
                g, a, b = frontier.nonzero(as_tuple=True)
                hop_edges.append(torch.stack([starts[g] + a, starts[g] + b]))

    empty = torch.zeros(0, dtype=torch.long, device=device)
    if not paths:
        return HopStructure(hop_edges, torch.zeros(3, 0, dtype=torch.long, device=device), empty, [empty] * hops, 0)

    # Deduplicated hop-1 adjacency, sorted by receiver: row pointers give every node's outgoing list.
    g, a, b = adjacency.nonzero(as_tuple=True)
    first, second = starts[g] + a, starts[g] + b
    num_nodes = batch.numel()
    degree = torch.bincount(first, minlength=num_nodes)
    row_start = torch.cumsum(degree, 0) - degree
    per_edge = degree[second]
    edge_rep = torch.repeat_interleave(torch.arange(first.numel(), device=device), per_edge)
    block_start = torch.cumsum(per_edge, 0) - per_edge
    offset = torch.arange(edge_rep.numel(), device=device) - torch.repeat_interleave(block_start, per_edge)
    i, u = first[edge_rep], second[edge_rep]
    j = second[row_start[u] + offset]
    keep = j != i
    triplets = torch.stack([i[keep], u[keep], j[keep]])

    # Slots of end pairs: a dense (B, M, M) table maps each pair touched by a path to a compact id.
    pair_key = (batch[triplets[0]] * width + local[triplets[0]]) * width + local[triplets[2]]
    unique_keys, triplet_pair = torch.unique(pair_key, return_inverse=True)
    num_pairs = unique_keys.numel()
    table = torch.full((num_graphs * width * width,), num_pairs, dtype=torch.long, device=device)
    table[unique_keys] = torch.arange(num_pairs, device=device)
    hop_pair = []
    for pairs in hop_edges:
        key = (batch[pairs[0]] * width + local[pairs[0]]) * width + local[pairs[1]]
        hop_pair.append(table[key])
    return HopStructure(hop_edges, triplets, triplet_pair, hop_pair, num_pairs)


class StructureCache:
    """A small least-recently-used cache of :class:`HopStructure` keyed by the batch topology.

    The key is the graph sizes for the complete graph (``edge_index=None``), or the bytes of ``edge_index`` and
    ``batch`` otherwise (one host copy of two index tensors per step, instead of a breadth-first search and a
    path enumeration). For data sets whose batches all share one topology, such as n-body (complete graphs of
    5 nodes), the structure is computed once for the whole training run.

    Examples
    --------
    >>> import torch
    >>> cache = StructureCache(capacity=4)
    >>> batch = torch.zeros(3, dtype=torch.long)
    >>> s1 = cache.get(None, batch, hops=2, paths=True)
    >>> s2 = cache.get(None, batch.clone(), hops=2, paths=True)
    >>> s1 is s2, cache.misses
    (True, 1)
    """

    def __init__(self, capacity: int = 32) -> None:
        self.capacity = capacity
        self._store: OrderedDict[tuple[object, ...], HopStructure] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, edge_index: torch.Tensor | None, batch: torch.Tensor, hops: int, paths: bool) -> HopStructure:
        """The structure of ``(edge_index, batch)``, computed by :func:`hop_structure` on a miss."""
        if edge_index is None:
            topology: tuple[object, ...] = ("complete", tuple(torch.bincount(batch).tolist()))
        else:
            topology = (
                "edges",
                batch.numel(),
                edge_index.detach().cpu().numpy().tobytes(),
                batch.detach().cpu().numpy().tobytes(),
            )
        key = (*topology, hops, paths, str(batch.device))
        found = self._store.get(key)
        if found is not None:
            self._store.move_to_end(key)
            self.hits += 1
            return found
        self.misses += 1
        structure = hop_structure(edge_index, batch, hops, paths)
        self._store[key] = structure
        if len(self._store) > self.capacity:
            self._store.popitem(last=False)
        return structure
