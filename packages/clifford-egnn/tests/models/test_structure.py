"""Hop neighbourhoods and paths against a per-node breadth-first search written the slow, obvious way."""

from __future__ import annotations

from collections import deque

import pytest
import torch

from clifford_egnn.models.structure import StructureCache, hop_structure


def bfs_distances(n, edges):
    adjacency = {i: set() for i in range(n)}
    for i, j in edges:
        adjacency[i].add(j)
    dist = {}
    for s in range(n):
        seen = {s: 0}
        queue = deque([s])
        while queue:
            u = queue.popleft()
            for w in adjacency[u]:
                if w not in seen:
                    seen[w] = seen[u] + 1
                    queue.append(w)
        dist[s] = seen
    return dist, adjacency


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hops_and_paths_match_a_slow_bfs(seed):
    gen = torch.Generator().manual_seed(seed)
    sizes = [4, 7, 1, 5]
    batch = torch.repeat_interleave(torch.arange(4), torch.tensor(sizes))
    n = batch.numel()
    mask = (torch.rand(n, n, generator=gen) < 0.3) & (batch[:, None] == batch[None, :]) & ~torch.eye(n, dtype=bool)
    edge_index = mask.nonzero().T
    structure = hop_structure(edge_index, batch, hops=3)
    dist, adjacency = bfs_distances(n, edge_index.T.tolist())
    for d in (2, 3):
        expected = sorted((i, j) for i in range(n) for j, dd in dist[i].items() if dd == d)
        assert sorted(map(tuple, structure.hop_edges[d - 1].T.tolist())) == expected
    assert torch.equal(structure.hop_edges[0], edge_index)
    expected_triplets = sorted((i, u, j) for i in range(n) for u in adjacency[i] for j in adjacency[u] if j != i)
    assert sorted(map(tuple, structure.triplets.T.tolist())) == expected_triplets
    # Each hop pair's slot is shared with exactly the triplets that end at that pair.
    i, _, j = structure.triplets
    for d, pairs in enumerate(structure.hop_edges):
        for e in range(pairs.shape[1]):
            slot = int(structure.hop_pair[d][e])
            ends = {(int(a), int(b)) for a, b, t in zip(i, j, structure.triplet_pair) if int(t) == slot}
            if slot == structure.num_pairs:
                assert (int(pairs[0, e]), int(pairs[1, e])) not in {(int(a), int(b)) for a, b in zip(i, j)}
            else:
                assert ends == {(int(pairs[0, e]), int(pairs[1, e]))}


def test_complete_graph_has_no_second_hop():
    batch = torch.zeros(5, dtype=torch.long)
    structure = hop_structure(None, batch, hops=2)
    assert structure.hop_edges[0].shape == (2, 20)
    assert structure.hop_edges[1].shape == (2, 0)
    assert structure.triplets.shape == (3, 60)


def test_cache_recomputes_only_for_new_topologies():
    cache = StructureCache(capacity=2)
    batch = torch.zeros(4, dtype=torch.long)
    edges = torch.tensor([[0, 1], [1, 2]])
    first = cache.get(edges, batch, 2, True)
    assert cache.get(edges.clone(), batch, 2, True) is first
    assert cache.get(edges.flip(0), batch, 2, True) is not first
    assert (cache.hits, cache.misses) == (1, 2)


def test_bad_hops():
    with pytest.raises(ValueError, match="hops"):
        hop_structure(None, torch.zeros(3, dtype=torch.long), hops=0)
