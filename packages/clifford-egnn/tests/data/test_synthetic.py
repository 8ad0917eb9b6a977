"""SYNTHETIC stand-in generators: physics sanity and that their files load through the real-format loaders."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from clifford_egnn.data.md17 import MD17GMNDataset, load_md17
from clifford_egnn.data.motion import load_motion_pickle
from clifford_egnn.data.synthetic import (
    CMU_JOINT_NAMES,
    CMU_JOINT_PARENTS,
    simulate_synthetic_md,
    synthetic_walk,
    write_synthetic_md17,
    write_synthetic_motion,
)

MASS = {1: 1.008, 6: 12.011, 8: 15.999}


@pytest.fixture(scope="module")
def motion_file(tmp_path_factory):
    return write_synthetic_motion(tmp_path_factory.mktemp("synthetic_motion") / "motion.pkl", seed=3)


def test_motion_file_has_the_gmn_format(motion_file):
    edges, trials = pickle.loads(motion_file.read_bytes())
    assert isinstance(edges, list)
    assert len(edges) == 30
    assert len(CMU_JOINT_NAMES) == 31
    assert isinstance(trials, list)
    assert len(trials) == 23
    assert all(t.shape[1:] == (31, 3) and 400 <= t.shape[0] <= 500 for t in trials)
    assert load_motion_pickle(motion_file).bones.shape == (30, 2)


def test_walk_keeps_bone_lengths_and_moves_forward():
    positions = synthetic_walk(300, np.random.default_rng(0))
    parents = np.array(CMU_JOINT_PARENTS[1:])
    lengths = np.linalg.norm(positions[:, 1:] - positions[:, parents], axis=-1)  # (T, 30)
    assert lengths.std(axis=0).max() < 0.1  # rigid bones up to the 0.02 observation noise
    assert lengths.mean(axis=0).min() > 0.4
    travelled = np.linalg.norm(positions[-1, 0, [0, 2]] - positions[0, 0, [0, 2]])
    assert travelled > 20.0
    # legs swing: the ankles' height above the root changes periodically
    assert np.ptp(positions[:, 4, 1] - positions[:, 0, 1]) > 1.0


def test_motion_generator_is_seeded(tmp_path):
    a = write_synthetic_motion(tmp_path / "a.pkl", num_trials=2, seed=1).read_bytes()
    b = write_synthetic_motion(tmp_path / "b.pkl", num_trials=2, seed=1).read_bytes()
    c = write_synthetic_motion(tmp_path / "c.pkl", num_trials=2, seed=2).read_bytes()
    assert a == b
    assert a != c


def test_md_conserves_energy_and_momentum():
    R, z, E, F = simulate_synthetic_md(4000, seed=1)
    mass = np.array([MASS[int(k)] for k in z])[:, None]
    velocity = (R[2:] - R[:-2]) / (2 * 0.5)  # Angstrom per fs, central differences
    kinetic = 0.5 * (mass * velocity**2).sum(axis=(1, 2)) / 4.184e-4  # kcal/mol
    total = kinetic + E[1:-1, 0]
    assert np.abs(total - total.mean()).max() < 0.02 * np.ptp(E)
    centre = (mass * R).sum(axis=1) / mass.sum()
    assert np.abs(centre - centre[0]).max() < 1e-8
    assert np.isfinite(F).all()
    assert F.shape == R.shape


def test_md_forces_are_minus_the_energy_gradient():
    R, _, E, F = simulate_synthetic_md(50, seed=2, substeps=8)
    # energy change between frames ~ -F . dx (trapezoid rule on the path)
    work = -0.5 * ((F[1:] + F[:-1]) * (R[1:] - R[:-1])).sum(axis=(1, 2))
    np.testing.assert_allclose(E[1:, 0] - E[:-1, 0], work, atol=2e-3 * np.abs(work).max())


def test_md_file_has_the_md17_format_and_bond_graph(tmp_path):
    path = write_synthetic_md17(tmp_path / "synthetic_dft.npz", num_frames=700, seed=0)
    with np.load(path) as archive:
        assert {"R", "z", "E", "F", "name", "theory"} <= set(archive.files)
        assert archive["R"].shape == (700, 16, 3)
        assert archive["E"].shape == (700, 1)
    trajectory = load_md17(path)
    assert trajectory.z.tolist() == [6, 6, 6, 6, 6, 6, 6, 8]
    data = MD17GMNDataset(tmp_path, "synthetic", "val", delta_frame=50, margin=100)
    ring = [[k, (k + 1) % 6] for k in range(6)]
    expected = sorted([sorted(b) for b in ring] + [[0, 6], [3, 7]])
    assert data.bonds.tolist() == expected
