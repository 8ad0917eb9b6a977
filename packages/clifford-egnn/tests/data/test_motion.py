"""Motion capture loader on small files of GMN's motion.pkl format written by the tests."""

# The oracles below replay GMN's own code, which uses numpy's legacy global generator on purpose.
# ruff: noqa: NPY002

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from clifford_egnn.data.motion import (
    MOTION_SPLIT_TRIALS,
    MotionCaptureDataset,
    load_motion_pickle,
    motion_start_frames,
)
from clifford_egnn.data.synthetic import CMU_JOINT_PARENTS, write_motion_pickle

NUM_JOINTS = 31
BONES = [(parent, joint) for joint, parent in enumerate(CMU_JOINT_PARENTS) if parent >= 0]


@pytest.fixture(scope="module")
def motion_file(tmp_path_factory):
    """23 random trials of 340..360 frames (start frames < 300, target 30 later) in the (edges, X) pickle format."""
    rng = np.random.default_rng(0)
    trials = [rng.normal(size=(int(rng.integers(340, 361)), NUM_JOINTS, 3)) for _ in range(23)]
    path = tmp_path_factory.mktemp("motion") / "motion.pkl"
    write_motion_pickle(path, [list(b) for b in BONES], trials)
    return path, trials


def gmn_reference_starts():
    """GMN's own code path: the global legacy generator, seeded once, then choice per trial."""
    state = np.random.get_state()
    try:
        np.random.seed(100)
        out = []
        for split in ("train", "val", "test"):
            out.append(
                {i: np.random.choice(np.arange(300), size=100, replace=False) for i in MOTION_SPLIT_TRIALS[split]}
            )
        return out
    finally:
        np.random.set_state(state)


def test_start_frames_reproduce_gmn_seeded_sampling():
    ours = motion_start_frames()
    for split, reference in zip(("train", "val", "test"), gmn_reference_starts()):
        assert list(ours[split]) == list(reference)
        for trial in reference:
            np.testing.assert_array_equal(ours[split][trial], reference[trial])


def test_split_sizes_match_documented_counts(motion_file):
    path, _ = motion_file
    sizes = {split: len(MotionCaptureDataset(path, split)) for split in ("train", "val", "test")}
    assert sizes == {"train": 198, "val": 600, "test": 600}


def test_samples_use_the_right_trials_frames_velocity_and_target(motion_file):
    path, trials = motion_file
    data = MotionCaptureDataset(path.parent, "train")
    starts = motion_start_frames()["train"]
    assert data.trial.unique().tolist() == sorted(MOTION_SPLIT_TRIALS["train"])
    expected_trials = np.repeat(MOTION_SPLIT_TRIALS["train"], 18)
    np.testing.assert_array_equal(data.trial.numpy(), expected_trials)
    for k in (0, 17, 18, 100, 197):
        trial, start = int(data.trial[k]), int(data.start[k])
        assert start == starts[trial][k % 18]
        positions = trials[trial]
        torch.testing.assert_close(data.x[k], torch.tensor(positions[start], dtype=torch.float32))
        torch.testing.assert_close(data.v[k, :, 0], torch.tensor(positions[start + 1] - positions[start]).float())
        torch.testing.assert_close(data.target[k], torch.tensor(positions[start + 30], dtype=torch.float32))
        torch.testing.assert_close(data.h[k, :, 0], data.v[k, :, 0].norm(dim=-1))
        assert bool((data.h[k, :, 1] == 1).all())
    assert data.x.shape == (198, NUM_JOINTS, 3)
    assert data.v.shape == (198, NUM_JOINTS, 1, 3)
    assert data.target.shape == (198, NUM_JOINTS, 3)


def test_graph_is_bones_attribute_one_plus_two_hop_pairs_attribute_two(motion_file):
    path, _ = motion_file
    data = MotionCaptureDataset(path, "val")
    adjacency = torch.zeros(NUM_JOINTS, NUM_JOINTS, dtype=torch.long)
    for i, j in BONES:
        adjacency[i, j] = adjacency[j, i] = 1
    two_hop = ((adjacency @ adjacency) > 0) & (adjacency == 0) & ~torch.eye(NUM_JOINTS, dtype=torch.bool)
    # GMN's own double loop over (i, j): bonds get attribute 1, pairs with a common neighbour attribute 2.
    rows, cols, attrs = [], [], []
    for i in range(NUM_JOINTS):
        for j in range(NUM_JOINTS):
            if adjacency[i, j]:
                rows.append(i), cols.append(j), attrs.append(1.0)
            if two_hop[i, j]:
                rows.append(i), cols.append(j), attrs.append(2.0)
    assert data.edge_index.tolist() == [rows, cols]
    assert data.edge_attr[:, 0].tolist() == attrs
    assert (data.edge_attr == 1).sum() == 2 * len(BONES)


def test_collate_offsets_the_shared_graph(motion_file):
    path, _ = motion_file
    data = MotionCaptureDataset(path, "test", max_samples=12)
    batch = data.collate([data[0], data[5], data[7]])
    num_edges = data.edge_index.shape[1]
    assert batch.x.shape == (3 * NUM_JOINTS, 3)
    assert batch.num_graphs == 3
    torch.testing.assert_close(batch.edge_index[:, num_edges : 2 * num_edges], data.edge_index + NUM_JOINTS)
    torch.testing.assert_close(batch.y[NUM_JOINTS : 2 * NUM_JOINTS], data.target[5])


def test_split_file_is_used_when_given(motion_file, tmp_path):
    path, _ = motion_file
    mapping = {t: np.arange(100) for t in MOTION_SPLIT_TRIALS["train"]}
    split_file = tmp_path / "split.pkl"
    split_file.write_bytes(pickle.dumps((mapping, {}, {})))
    data = MotionCaptureDataset(path, "train", split_file=split_file)
    np.testing.assert_array_equal(data.start.numpy(), np.tile(np.arange(18), 11))


def test_missing_file_names_file_format_and_source(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        MotionCaptureDataset(tmp_path, "train")
    message = str(error.value)
    assert "motion.pkl" in message
    assert "pickle of the pair (edges, X)" in message
    assert "github.com/hanjq17/GMN" in message
    assert "mocap.cs.cmu.edu" in message


@pytest.mark.parametrize(
    ("payload", "found"),
    [
        (b"not a pickle at all", "does not unpickle"),
        (pickle.dumps({"edges": [], "X": []}), "object of type dict"),
        (pickle.dumps(([(0, 1)], [np.zeros((10, 31, 2))])), "trial 0 of shape"),
        (pickle.dumps(([(0, 40)], [np.zeros((10, 31, 3))])), "bone indices"),
        (pickle.dumps(([(0, 1)], [np.full((10, 31, 3), np.nan)])), "non-finite"),
        (pickle.dumps(([(0, 1)], [torch.zeros(2)])), "not allowed"),
    ],
)
def test_malformed_file_names_expected_format_and_source(tmp_path, payload, found):
    path = tmp_path / "motion.pkl"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match="pickle of the pair") as error:
        load_motion_pickle(path)
    assert found in str(error.value)
    assert "github.com/hanjq17/GMN" in str(error.value)


def test_too_few_or_too_short_trials_are_rejected(tmp_path):
    short = tmp_path / "short"
    write_motion_pickle(short / "motion.pkl", BONES, [np.zeros((100, NUM_JOINTS, 3))] * 23)
    with pytest.raises(ValueError, match="expected more than"):
        MotionCaptureDataset(short, "train")
    few = tmp_path / "few"
    write_motion_pickle(few / "motion.pkl", BONES, [np.zeros((400, NUM_JOINTS, 3))] * 5)
    with pytest.raises(ValueError, match="at least 23 trials"):
        MotionCaptureDataset(few, "train")
    with pytest.raises(ValueError, match="split"):
        MotionCaptureDataset(few, "validation")
