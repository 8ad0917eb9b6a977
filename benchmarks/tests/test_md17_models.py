"""MultiFrameEGNN (the EqMotion-protocol EGNN head): E(3) and permutation equivariance, and a broken variant."""

from __future__ import annotations

import torch

from benchmarks.clifford_common import MultiFrameEGNN
from weightspace_core.groups import Euclidean
from weightspace_core.testing import assert_equivariant, assert_sensitive

GENERATOR = torch.Generator().manual_seed(0)
EDGES = torch.tensor([[0, 1, 1, 2, 2, 3, 0, 2], [1, 0, 2, 1, 3, 2, 2, 0]])
INPUTS = (
    torch.randn(4, 3, generator=GENERATOR),
    torch.randn(4, 2, 3, generator=GENERATOR),
    torch.randn(4, 1, generator=GENERATOR),
)


def model() -> MultiFrameEGNN:
    torch.manual_seed(0)
    net = MultiFrameEGNN(in_scalars=1, in_vectors=2, hidden=8, layers=2, out_vectors=3, edge_features=0)
    for p in net.parameters():  # the 0.001 init of the gates would make every test pass trivially
        torch.nn.init.normal_(p, std=0.5)
    return net.double()


def test_positions_are_e3_equivariant():
    g = Euclidean.sample(3, generator=GENERATOR)
    net = model()

    def fn(inputs):
        x, v, h = inputs
        return net(x, v, h, edge_index=EDGES).positions

    def act_in(inputs):
        x, v, h = inputs
        return g.apply(x), g.apply_to_vectors(v), h

    assert_equivariant(fn, INPUTS, act_in, g.apply, rtol=1e-10)


def test_positions_are_permutation_equivariant():
    inputs = tuple(t.double() for t in INPUTS)
    perm = torch.tensor([2, 0, 3, 1])
    inverse = torch.argsort(perm)
    net = model()

    def fn(inputs):
        x, v, h = inputs
        return net(x, v, h, edge_index=EDGES).positions

    def act_in(inputs):
        x, v, h = inputs
        return x[perm], v[perm], h[perm]

    relabelled = inverse[EDGES]

    def fn_relabelled(inputs):
        x, v, h = inputs
        return net(x, v, h, edge_index=relabelled).positions

    with torch.no_grad():
        torch.testing.assert_close(fn_relabelled(act_in(inputs)), fn(inputs)[perm])


def test_absolute_coordinates_break_translation_equivariance():
    g = Euclidean.sample(3, generator=GENERATOR)
    torch.manual_seed(0)
    net = MultiFrameEGNN(in_scalars=2, in_vectors=2, hidden=8, layers=2, out_vectors=3).double()

    def leaky(inputs):
        x, v, h = inputs
        return net(x, v, torch.cat([h, x[:, :1]], dim=1), edge_index=EDGES).positions

    def act_in(inputs):
        x, v, h = inputs
        return g.apply(x), g.apply_to_vectors(v), h

    assert_sensitive(leaky, INPUTS, act_in, g.apply, min_error=1e-6)
