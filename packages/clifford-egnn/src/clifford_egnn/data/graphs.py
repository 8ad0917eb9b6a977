"""Batching geometric graphs: one disjoint union per mini-batch, with the conventions every model here uses.

A graph sample holds positions ``x (N, n)``, vector features ``v (N, C_v, n)``, scalar features ``h (N, C_s)``,
an optional ``edge_index (2, E)`` (int64) with optional edge scalars ``edge_attr (E, C_e)`` and an optional
target ``y``. Batching concatenates the nodes of the samples, offsets each sample's edge indices by the
number of nodes before it, and records the graph id of every node in ``batch (N_total,)``.

Edge convention (the one of EGNN and CGENN): ``edge_index[0]`` is the receiving node ``i`` and
``edge_index[1]`` the sending node ``j``; message ``m_ij`` is aggregated at ``i``.

The complete graph of a batch (:func:`complete_edge_index`) lists, graph by graph and node by node, every
ordered pair ``(i, j)`` with ``i != j`` in the same graph, sorted by ``i`` then ``j``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import NamedTuple

import torch

__all__ = ["GraphBatch", "GraphSample", "collate_graphs", "complete_edge_index", "graph_sizes"]


class GraphSample(NamedTuple):
    """One geometric graph: ``x (N, n)``, ``v (N, C_v, n)``, ``h (N, C_s)``, optional ``edge_index (2, E)``,
    ``edge_attr (E, C_e)`` and target ``y`` (a tensor whose first axis is the node axis, or any per-graph tensor
    with a leading axis of 1).

    Examples
    --------
    >>> import torch
    >>> s = GraphSample(torch.zeros(4, 3), torch.zeros(4, 1, 3), torch.ones(4, 1))
    >>> s.edge_index is None
    True
    """

    x: torch.Tensor
    v: torch.Tensor
    h: torch.Tensor
    edge_index: torch.Tensor | None = None
    edge_attr: torch.Tensor | None = None
    y: torch.Tensor | None = None


@dataclass
class GraphBatch:
    """A mini-batch of graphs as one disjoint union.

    Attributes
    ----------
    x, v, h:
        node positions ``(N, n)``, vector features ``(N, C_v, n)``, scalar features ``(N, C_s)``.
    batch:
        graph id of every node, ``(N,)`` int64, non-decreasing.
    num_graphs:
        number of graphs in the batch.
    edge_index, edge_attr:
        ``(2, E)`` int64 and ``(E, C_e)``, or ``None`` (the models then use the complete graph of each graph).
    y:
        targets concatenated along the first axis, or ``None``.

    Lightning moves a batch to the accelerator through :meth:`to`.

    Examples
    --------
    >>> import torch
    >>> s = GraphSample(torch.zeros(3, 2), torch.zeros(3, 1, 2), torch.ones(3, 1))
    >>> b = collate_graphs([s, s])
    >>> b.batch.tolist(), b.num_graphs
    ([0, 0, 0, 1, 1, 1], 2)
    """

    x: torch.Tensor
    v: torch.Tensor
    h: torch.Tensor
    batch: torch.Tensor
    num_graphs: int
    edge_index: torch.Tensor | None = None
    edge_attr: torch.Tensor | None = None
    y: torch.Tensor | None = None

    def to(self, *args: object, **kwargs: object) -> GraphBatch:
        """The same batch with every tensor passed through ``Tensor.to(*args, **kwargs)``; indices stay int64."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, torch.Tensor):
                value = value.to(*args, **kwargs) if value.is_floating_point() else _to_device(value, args, kwargs)
            out[f.name] = value
        return GraphBatch(**out)

    def __len__(self) -> int:
        return self.num_graphs


def _to_device(t: torch.Tensor, args: tuple[object, ...], kwargs: dict[str, object]) -> torch.Tensor:
    device = kwargs.get("device")
    for a in args:
        if isinstance(a, (torch.device, str)):
            device = a
    return t if device is None else t.to(device=device)  # type: ignore[arg-type]


def collate_graphs(samples: Sequence[GraphSample]) -> GraphBatch:
    """Batch graph samples into one :class:`GraphBatch` (a disjoint union).

    Either every sample has an ``edge_index`` or none has; the same holds for ``edge_attr`` and ``y``.

    Raises
    ------
    ValueError
        for an empty list, or samples that disagree on which optional fields they carry.
    """
    if len(samples) == 0:
        raise ValueError("collate_graphs: expected at least one sample, found an empty list")
    for name in ("edge_index", "edge_attr", "y"):
        present = [getattr(s, name) is not None for s in samples]
        if any(present) and not all(present):
            raise ValueError(f"collate_graphs: {name} is given for {sum(present)} of {len(samples)} samples, not all")
    sizes = torch.tensor([s.x.shape[0] for s in samples], dtype=torch.long)
    x = torch.cat([s.x for s in samples])
    batch = torch.repeat_interleave(torch.arange(len(samples)), sizes).to(x.device)
    edge_index = None
    if samples[0].edge_index is not None:
        offsets = torch.cumsum(sizes, 0) - sizes
        counts = torch.tensor([s.edge_index.shape[1] for s in samples], dtype=torch.long)  # type: ignore[union-attr]
        shift = torch.repeat_interleave(offsets, counts).to(x.device)
        edge_index = torch.cat([s.edge_index for s in samples], dim=1) + shift  # type: ignore[misc]
    edge_attr = torch.cat([s.edge_attr for s in samples]) if samples[0].edge_attr is not None else None  # type: ignore[misc]
    y = torch.cat([s.y for s in samples]) if samples[0].y is not None else None  # type: ignore[misc]
    return GraphBatch(
        x=x,
        v=torch.cat([s.v for s in samples]),
        h=torch.cat([s.h for s in samples]),
        batch=batch,
        num_graphs=len(samples),
        edge_index=edge_index,
        edge_attr=edge_attr,
        y=y,
    )


def graph_sizes(batch: torch.Tensor, num_graphs: int | None = None) -> torch.Tensor:
    """Number of nodes of each graph, ``(B,)`` int64, from the non-decreasing graph ids ``batch (N,)``."""
    return torch.bincount(batch, minlength=0 if num_graphs is None else num_graphs)


def complete_edge_index(batch: torch.Tensor) -> torch.Tensor:
    """Every ordered pair ``(i, j)``, ``i != j``, of nodes in the same graph: ``(2, sum_g n_g (n_g - 1))`` int64.

    Pairs are sorted by ``i`` then ``j``; ``batch (N,)`` must be non-decreasing (graphs stored contiguously).

    Examples
    --------
    >>> import torch
    >>> complete_edge_index(torch.tensor([0, 0, 0, 1, 1])).tolist()
    [[0, 0, 1, 1, 2, 2, 3, 4], [1, 2, 0, 2, 0, 1, 4, 3]]
    """
    if batch.numel() == 0:
        return torch.zeros(2, 0, dtype=torch.long, device=batch.device)
    sizes = graph_sizes(batch)
    starts = torch.cumsum(sizes, 0) - sizes
    per_node = sizes[batch]
    row = torch.repeat_interleave(torch.arange(batch.numel(), device=batch.device), per_node)
    block_start = torch.cumsum(per_node, 0) - per_node
    k = torch.arange(row.numel(), device=batch.device) - torch.repeat_interleave(block_start, per_node)
    col = starts[batch[row]] + k
    keep = row != col
    return torch.stack([row[keep], col[keep]])
