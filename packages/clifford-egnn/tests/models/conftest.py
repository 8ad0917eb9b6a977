"""Random batched graphs and the E(n) x permutation action on model inputs, for the model tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from weightspace_core.groups import Euclidean


def random_graph_batch(
    sizes: list[int], dim: int, in_vectors: int = 1, in_scalars: int = 1, complete: bool = False, seed: int = 0
) -> dict[str, Any]:
    """A batch of random graphs (sparse random symmetric edges, or complete) with float64 features."""
    gen = torch.Generator().manual_seed(seed)
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    n = batch.numel()
    if complete:
        edge_index = None
        from clifford_egnn.data.graphs import complete_edge_index

        num_edges = complete_edge_index(batch).shape[1]
    else:
        same = batch[:, None] == batch[None, :]
        upper = torch.triu(torch.rand(n, n, generator=gen) < 0.45, 1) & same
        # A ring inside each graph keeps graphs connected, so hop 2 and paths are never empty.
        starts = torch.cumsum(torch.tensor(sizes), 0) - torch.tensor(sizes)
        for start, size in zip(starts.tolist(), sizes):
            idx = torch.arange(size) + start
            upper[idx[:-1], idx[1:]] = True
        adj = upper | upper.T
        edge_index = adj.nonzero().T.contiguous()
        num_edges = edge_index.shape[1]
    return {
        "x": torch.randn(n, dim, generator=gen, dtype=torch.float64) * 2,
        "v": torch.randn(n, in_vectors, dim, generator=gen, dtype=torch.float64),
        "h": torch.randn(n, in_scalars, generator=gen, dtype=torch.float64),
        "edge_index": edge_index,
        "batch": batch,
        "edge_attr": torch.randn(num_edges, 1, generator=gen, dtype=torch.float64),
    }


def within_graph_permutation(batch: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A node permutation that keeps every node in its graph (so ``batch`` stays non-decreasing)."""
    gen = torch.Generator().manual_seed(seed)
    keys = batch.to(torch.float64) + torch.rand(batch.numel(), generator=gen, dtype=torch.float64) * 0.5
    return torch.argsort(keys)


def transform_inputs(inputs: dict[str, Any], g: Euclidean, perm: torch.Tensor) -> dict[str, Any]:
    """Apply ``x -> Q x + t``, ``v -> Q v`` and relabel nodes by ``perm`` (new node k is old node perm[k])."""
    inverse = torch.argsort(perm)
    out = dict(inputs)
    out["x"] = g.apply(inputs["x"])[perm]
    out["v"] = g.apply_to_vectors(inputs["v"])[perm]
    out["h"] = inputs["h"][perm]
    out["batch"] = inputs["batch"][perm]
    if inputs["edge_index"] is not None:
        out["edge_index"] = inverse[inputs["edge_index"]]
    elif inputs["edge_attr"] is not None:
        from clifford_egnn.data.graphs import complete_edge_index

        # The complete graph lists pairs in node order: reorder the edge scalars to follow the relabelling.
        old = complete_edge_index(inputs["batch"])
        new = complete_edge_index(out["batch"])
        n = inputs["batch"].numel()
        key_old = old[0] * n + old[1]
        lookup = torch.empty(n * n, dtype=torch.long)
        lookup[key_old] = torch.arange(old.shape[1])
        out["edge_attr"] = inputs["edge_attr"][lookup[perm[new[0]] * n + perm[new[1]]]]
    return out


def output_action(g: Euclidean, perm: torch.Tensor) -> Callable[[Any], Any]:
    def act(out: Any) -> Any:
        return type(out)(g.apply(out.positions)[perm], out.scalars[perm])

    return act


@pytest.fixture
def graph_batch() -> Callable[..., dict[str, Any]]:
    return random_graph_batch


@pytest.fixture
def en_action() -> dict[str, Callable[..., Any]]:
    return {"inputs": transform_inputs, "outputs": output_action, "perm": within_graph_permutation}
