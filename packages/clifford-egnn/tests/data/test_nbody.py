"""n-body simulator and data set: the vectorised integrator against a per-simulation reference, determinism,
symmetry of the physics, files on disk, and errors."""

from __future__ import annotations

import pytest
import torch

from clifford_egnn.data.nbody import (
    NBodyDataset,
    build_dataset,
    charged_forces,
    dataset_path,
    nbody_collate,
    simulate,
    total_energy,
)
from weightspace_core.groups import Euclidean
from weightspace_core.testing import assert_equivariant, assert_sensitive


def reference_trajectory(x, v, q, num_steps, sample_every, dt=1e-3):
    """The leapfrog of the spec for one simulation, one step at a time, with the readable force."""
    v = v + dt * charged_forces(x, q)
    frames_x, frames_v = [], []
    for step in range(1, num_steps):
        x = x + dt * v
        if step % sample_every == 0:
            frames_x.append(x)
            frames_v.append(v)
        v = v + dt * charged_forces(x, q)
    return torch.stack(frames_x), torch.stack(frames_v)


@pytest.mark.parametrize("dim", [2, 3])
def test_vectorised_integrator_matches_per_simulation_reference(dim):
    traj = simulate(3, num_particles=4, dim=dim, seed=1, num_steps=300, sample_every=50, chunk_size=2)
    first_x = simulate(3, num_particles=4, dim=dim, seed=1, num_steps=51, sample_every=50)
    for s in range(3):
        gen = torch.Generator().manual_seed(1)
        q = torch.where(torch.rand(3, 4, generator=gen, dtype=torch.float64) < 0.5, 1.0, -1.0)[s]
        x0 = torch.randn(3, 4, dim, generator=gen, dtype=torch.float64)[s]
        v0 = torch.randn(3, 4, dim, generator=gen, dtype=torch.float64)
        v0 = (v0 * (0.5 / v0.norm(dim=-1, keepdim=True)))[s]
        ref_x, ref_v = reference_trajectory(x0, v0, q, 300, 50)
        torch.testing.assert_close(traj.positions[s], ref_x, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(traj.velocities[s], ref_v, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(first_x.positions[s, 0], ref_x[0], rtol=1e-10, atol=1e-10)
        assert torch.equal(traj.charges[s], q)


def test_shapes_frames_and_initial_conditions():
    traj = simulate(6, seed=0, num_steps=5000, sample_every=100)
    assert traj.positions.shape == (6, 49, 5, 3)
    assert set(traj.charges.unique().tolist()) <= {-1.0, 1.0}


def test_deterministic_per_seed_and_independent_of_chunks():
    a = simulate(5, seed=3, num_steps=200, sample_every=50, chunk_size=2)
    b = simulate(5, seed=3, num_steps=200, sample_every=50, chunk_size=5)
    c = simulate(5, seed=4, num_steps=200, sample_every=50)
    assert torch.equal(a.positions, b.positions)
    assert not torch.equal(a.positions, c.positions)


def test_forces_are_equivariant_and_energy_is_invariant():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 5, 3, generator=gen, dtype=torch.float64)
    q = torch.where(torch.rand(4, 5, generator=gen) < 0.5, 1.0, -1.0).double()
    g = Euclidean.sample(3, det=-1, generator=gen)
    assert_equivariant(lambda y: charged_forces(y, q), x, g.apply, g.apply_to_vectors)
    v = torch.randn(4, 5, 3, generator=gen, dtype=torch.float64)
    energy = assert_equivariant(
        lambda xv: total_energy(xv[0], xv[1], q),
        (x, v),
        lambda xv: (g.apply(xv[0]), g.apply_to_vectors(xv[1])),
        lambda e: e,
    )
    assert energy < 1e-12
    # Forces depend on absolute orientation only through x: scaling positions is not a symmetry.
    assert_sensitive(lambda y: charged_forces(y, q), x, lambda y: 1.5 * y, lambda f: f)


def test_energy_is_nearly_conserved():
    traj = simulate(20, seed=0, num_steps=2000, sample_every=100)
    energy = total_energy(traj.positions, traj.velocities, traj.charges.unsqueeze(1))
    drift = (energy[:, -1] - energy[:, 0]).abs()
    assert float(drift.median()) < 0.05


def test_build_dataset_and_dataset_items(tmp_path):
    folder = build_dataset(tmp_path, seed=0, num_train=4, num_val=2, num_test=2, progress=False)
    assert folder == dataset_path(tmp_path, seed=0)
    assert not list(folder.glob("*.tmp"))
    ds = NBodyDataset(tmp_path, "train", num_sims=4)
    item = ds[1]
    assert item.x.shape == (5, 3)
    assert item.v.shape == (5, 1, 3)
    assert item.h.shape == (5, 1)
    assert item.edge_index.shape == (2, 20)
    assert item.edge_attr.shape == (20, 1)
    assert item.y.shape == (5, 3)
    row, col = item.edge_index
    torch.testing.assert_close(item.edge_attr[:, 0], item.h[row, 0] * item.h[col, 0])
    batch = nbody_collate([ds[0], ds[1], ds[2]])
    assert batch.x.shape == (15, 3)
    assert batch.edge_index.shape == (2, 60)
    assert int(batch.edge_index.max()) == 14
    test_split = NBodyDataset(tmp_path, "test", num_sims=2)
    build_dataset(tmp_path / "other", seed=0, num_train=1, num_val=1, num_test=2, progress=False)
    torch.testing.assert_close(NBodyDataset(tmp_path / "other", "test", num_sims=2).x, test_split.x)


def test_missing_split_and_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_3000.pt"):
        NBodyDataset(tmp_path, "train")
    with pytest.raises(ValueError, match="split"):
        NBodyDataset(tmp_path, "training")
    with pytest.raises(ValueError, match="num_particles"):
        simulate(2, num_particles=1)
    build_dataset(tmp_path, num_train=1, num_val=1, num_test=1, progress=False)
    with pytest.raises(ValueError, match="frame_out"):
        NBodyDataset(tmp_path, "val", num_sims=1, frame_out=49)
