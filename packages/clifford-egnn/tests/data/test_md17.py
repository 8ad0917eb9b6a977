"""MD17 loaders (GMN and EqMotion protocols) on small {molecule}_dft.npz files written by the tests."""

# The oracles below replay GMN's own code, which uses numpy's legacy global generator on purpose.
# ruff: noqa: NPY002

from __future__ import annotations

import numpy as np
import pytest
import torch

from clifford_egnn.data._graph import hop_edges
from clifford_egnn.data.md17 import (
    MD17EqMotionDataset,
    MD17GMNDataset,
    ade_fde,
    bond_edges,
    eqmotion_window_starts,
    gmn_start_frames,
    load_md17,
)
from clifford_egnn.data.synthetic import write_md17_npz
from weightspace_core.groups import Euclidean

# A bent 4-heavy-atom chain C-C-O-C with 3 hydrogens interleaved (hydrogens must be dropped, order kept).
HEAVY = np.array([[0.0, 0.0, 0.0], [1.5, 0.0, 0.0], [2.2, 1.3, 0.0], [3.6, 1.3, 0.2]])
Z = np.array([6, 1, 6, 1, 8, 6, 1])
HEAVY_Z = [6, 6, 8, 6]


def write_trajectory(path, num_frames, seed=0):
    """Frame k = equilibrium + k-dependent drift + noise, so every frame is distinguishable."""
    rng = np.random.default_rng(seed)
    hydrogens = np.array([[0.0, 1.0, 0.0], [1.5, -1.0, 0.0], [4.0, 2.2, 0.0]])
    base = np.concatenate([HEAVY[:1], hydrogens[:1], HEAVY[1:2], hydrogens[1:2], HEAVY[2:], hydrogens[2:]])
    frames = np.arange(num_frames)[:, None, None]
    R = base + 1e-5 * frames * np.array([1.0, 0.5, -0.3]) + 0.01 * rng.normal(size=(num_frames, len(Z), 3))
    write_md17_npz(path, R, Z, E=np.zeros((num_frames, 1)), F=np.zeros_like(R), name="toy", theory="test")
    return R[:, Z > 1]


@pytest.fixture(scope="module")
def gmn_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("md17_gmn")
    heavy = write_trajectory(folder / "toy_dft.npz", 20401)
    return folder, heavy


def gmn_reference_split(num_frames):
    """GMN's own code path (md17/dataset.py) with the global legacy generator and Python lists."""
    state = np.random.get_state()
    try:
        np.random.seed(100)
        count = num_frames - 20000
        train = np.random.choice(np.arange(count), size=int(0.1 * count), replace=False)
        flag = np.zeros(count)
        flag[train] = 1
        rest = [k for k in range(count) if not flag[k]]
        val = np.random.choice(rest, size=int(0.05 * count), replace=False)
        flag[val] = 1
        rest = [k for k in range(count) if not flag[k]]
        test = np.random.choice(rest, size=int(0.05 * count), replace=False)
        return train + 10000, val + 10000, test + 10000
    finally:
        np.random.set_state(state)


def test_load_removes_hydrogens_and_keeps_order(gmn_file):
    folder, heavy = gmn_file
    trajectory = load_md17(folder / "toy_dft.npz")
    assert trajectory.z.tolist() == HEAVY_Z
    np.testing.assert_allclose(trajectory.positions, heavy)
    assert load_md17(folder / "toy_dft.npz", remove_hydrogens=False).positions.shape == (20401, 7, 3)


def test_gmn_start_frames_reproduce_reference():
    ours = gmn_start_frames(20400 + 333)
    for split, reference in zip(("train", "val", "test"), gmn_reference_split(20400 + 333)):
        np.testing.assert_array_equal(ours[split], reference)
    assert not set(ours["train"]) & set(ours["val"])
    assert not set(ours["val"]) & set(ours["test"])


def test_gmn_dataset_frames_velocity_target_and_caps(gmn_file):
    folder, heavy = gmn_file
    data = MD17GMNDataset(folder, "toy", "train")
    starts = gmn_start_frames(20400)["train"]  # the loader drops the last frame: 20401 -> 20400
    assert len(data) == len(starts) == 40
    np.testing.assert_array_equal(data.start.numpy(), starts)
    for k in (0, 13, 39):
        t = int(data.start[k])
        torch.testing.assert_close(data.x[k], torch.tensor(heavy[t]).float())
        torch.testing.assert_close(data.v[k, :, 0], torch.tensor(heavy[t + 1] - heavy[t]).float())
        torch.testing.assert_close(data.target[k], torch.tensor(heavy[t + 3000]).float())
    torch.testing.assert_close(data.h[..., 0], data.v[:, :, 0].norm(dim=-1))
    torch.testing.assert_close(data.h[0, :, 1], torch.tensor(HEAVY_Z) / 8.0)
    assert len(MD17GMNDataset(folder, "toy", "val", max_samples=7)) == 7
    assert len(MD17GMNDataset(folder, "toy", "test")) == 20


def test_gmn_graph_is_bonds_under_cutoff_plus_two_hops(gmn_file):
    folder, _ = gmn_file
    data = MD17GMNDataset(folder, "toy", "val")
    # chain 0-1-2-3: bonded pairs are 1.5, 1.48 and 1.41 Angstrom apart, the others farther than 1.6.
    assert data.bonds.tolist() == [[0, 1], [1, 2], [2, 3]]
    edges = {(i, j): int(a) for i, j, a in zip(*data.edge_index.tolist(), data.edge_attr[:, 0].tolist())}
    assert edges == {
        (0, 1): 1, (1, 0): 1, (1, 2): 1, (2, 1): 1, (2, 3): 1, (3, 2): 1,
        (0, 2): 2, (2, 0): 2, (1, 3): 2, (3, 1): 2,
    }  # fmt: skip


def test_hop_edges_shortest_path_on_a_triangle():
    edge_index, hops = hop_edges(torch.tensor([[0, 1], [1, 2], [2, 0], [2, 3]]), num_nodes=4, max_hops=3)
    table = dict(zip(map(tuple, edge_index.T.tolist()), hops.tolist()))
    assert table[(0, 1)] == 1
    assert table[(0, 3)] == 2
    assert table[(3, 1)] == 2
    assert len(table) == 12
    with pytest.raises(ValueError, match="self loop"):
        hop_edges(torch.tensor([[1, 1]]), 2)
    with pytest.raises(ValueError, match="node indices"):
        hop_edges(torch.tensor([[0, 5]]), 2)


def test_bond_edges_follow_the_cutoff():
    bonds, _, _ = bond_edges(HEAVY, cutoff=1.45)
    assert bonds.tolist() == [[2, 3]]


@pytest.fixture(scope="module")
def eqmotion_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("md17_eq")
    heavy = write_trajectory(folder / "toy_dft.npz", 8001, seed=1)
    return folder, heavy


def test_eqmotion_windows_split_counts_and_contents(eqmotion_file):
    folder, heavy = eqmotion_file
    starts = eqmotion_window_starts(8000)
    assert [len(starts[s]) for s in ("train", "val", "test")] == [230, 30, 80]
    assert starts["train"][-1] + 19 * 20 < 5000 <= starts["val"][0]
    assert starts["val"][-1] + 19 * 20 < 6000 <= starts["test"][0]
    data = MD17EqMotionDataset(folder, "toy", "val")
    assert len(data) == 30
    assert data.x.shape == (30, 4, 3)
    assert data.v.shape == (30, 4, 9, 3)
    assert data.target.shape == (30, 4, 10, 3)
    assert data.h.shape == (30, 4, 10)
    k = 11
    start = int(data.start[k])
    window = torch.tensor(heavy[start : start + 400 : 20]).float().transpose(0, 1)
    torch.testing.assert_close(data.past[k], window[:, :10])
    torch.testing.assert_close(data.target[k], window[:, 10:])
    torch.testing.assert_close(data.x[k], window[:, 9])
    torch.testing.assert_close(data.v[k], window[:, 1:10] - window[:, :9])
    torch.testing.assert_close(data.h[k, :, :9], data.v[k].norm(dim=-1))
    batch = data.collate([data[0], data[1]])
    assert batch.y.shape == (8, 10, 3)
    assert batch.v.shape == (8, 9, 3)


def test_eqmotion_caps_and_too_short_trajectory(eqmotion_file, tmp_path):
    folder, _ = eqmotion_file
    assert len(MD17EqMotionDataset(folder, "toy", "train", max_samples=50)) == 50
    write_trajectory(tmp_path / "tiny_dft.npz", 600)
    with pytest.raises(ValueError, match="long enough"):
        MD17EqMotionDataset(tmp_path, "tiny", "val")


def test_ade_fde_values_and_rigid_motion_invariance():
    generator = torch.Generator().manual_seed(0)
    prediction = torch.randn(5, 4, 10, 3, generator=generator, dtype=torch.float64)
    target = torch.randn(5, 4, 10, 3, generator=generator, dtype=torch.float64)
    ade, fde = ade_fde(prediction, target)
    distance = ((prediction - target) ** 2).sum(-1).sqrt()
    assert torch.isclose(ade, distance.mean())
    assert torch.isclose(fde, distance[..., -1].mean())
    g = Euclidean.sample(3, generator=generator)
    moved = ade_fde(g.apply(prediction), g.apply(target))
    torch.testing.assert_close(torch.stack(moved), torch.stack([ade, fde]))
    with pytest.raises(ValueError, match="equal shapes"):
        ade_fde(prediction, target[..., :5, :])


def test_missing_file_names_file_format_and_source(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        MD17GMNDataset(tmp_path, "aspirin", "train")
    message = str(error.value)
    assert "aspirin_dft.npz" in message
    assert "R (T, N, 3)" in message
    assert "quantum-machine.org" in message
    with pytest.raises(FileNotFoundError, match="aspirin_dft.npz"):
        MD17EqMotionDataset(tmp_path, "aspirin", "train")


def test_malformed_files_name_expected_format_and_source(tmp_path):
    (tmp_path / "junk_dft.npz").write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match="readable .npz") as error:
        load_md17(tmp_path / "junk_dft.npz")
    assert "quantum-machine.org" in str(error.value)
    np.savez(tmp_path / "nokeys_dft.npz", positions=np.zeros((3, 2, 3)))
    with pytest.raises(ValueError, match=r"the keys \['positions'\]"):
        load_md17(tmp_path / "nokeys_dft.npz")
    np.savez(tmp_path / "shape_dft.npz", R=np.zeros((3, 2, 3)), z=np.array([6, 6, 6]))
    with pytest.raises(ValueError, match="R of shape"):
        load_md17(tmp_path / "shape_dft.npz")
    np.savez(tmp_path / "nan_dft.npz", R=np.full((3, 2, 3), np.nan), z=np.array([6, 6]))
    with pytest.raises(ValueError, match="non-finite"):
        load_md17(tmp_path / "nan_dft.npz")
    np.savez(tmp_path / "h_dft.npz", R=np.zeros((3, 2, 3)), z=np.array([1, 1]))
    with pytest.raises(ValueError, match="no heavy atoms"):
        load_md17(tmp_path / "h_dft.npz")


def test_bad_arguments(gmn_file):
    folder, _ = gmn_file
    with pytest.raises(ValueError, match="split"):
        MD17GMNDataset(folder, "toy", "dev")
    with pytest.raises(ValueError, match="delta_frame"):
        MD17GMNDataset(folder, "toy", "train", delta_frame=20000)
    with pytest.raises(ValueError, match="more than 20000 frames"):
        gmn_start_frames(15000)
