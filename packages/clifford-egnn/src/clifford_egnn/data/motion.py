"""CMU motion capture (subject 35, walking) under the GMN protocol.

The file is GMN's ``motion.pkl``: a pickle of the pair ``(edges, X)`` where ``edges`` lists the 30 bones of the
31-joint CMU skeleton as joint pairs and ``X`` is a list of 23 trials, each an array ``(T, 31, 3)`` of joint
positions. The raw recordings are the CMU Graphics Lab Motion Capture Database, subject 35
(http://mocap.cs.cmu.edu/search.php?subjectnumber=35); the preprocessed ``motion.pkl`` (and its ``split.pkl``)
are published with GMN at https://github.com/hanjq17/GMN in ``spatial_graph/motion/``.

Protocol (Huang et al., "Equivariant Graph Mechanics Networks with Constraints", ICLR 2022, and their code):

- velocity ``v(t) = x(t + 1) - x(t)``; the last frame of each trial is dropped so every frame has one;
- trials 20, 1, 17, 13, 14, 9, 4, 2, 7, 5, 16 train, 3, 8, 11, 12, 15, 18 validate, 6, 19, 21, 0, 22, 10 test;
- per trial 100 distinct start frames are drawn from ``[0, 300)`` by ``numpy.random.seed(100)`` then
  ``choice(300, 100, replace=False)`` for every train, then val, then test trial, in the order above; a split of
  ``max_samples`` keeps the first ``max_samples // len(trials)`` of each trial: 18 x 11 = 198 for train
  (``max_samples=200``), 100 x 6 = 600 for val and test (``max_samples=600``);
- input ``x(t), v(t)``; target ``x(t + 30)``; graph: bones (edge attribute 1) plus 2-hop pairs (attribute 2);
- metric: MSE over coordinates (GMN reports it x 10^-2).
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from clifford_egnn.data._files import missing_file_error, safe_unpickle
from clifford_egnn.data._graph import FixedGraphDataset, hop_edges

__all__ = [
    "MOTION_FILE",
    "MOTION_SOURCE",
    "MOTION_SPLIT_TRIALS",
    "MotionCapture",
    "MotionCaptureDataset",
    "load_motion_pickle",
    "motion_start_frames",
]

MOTION_FILE = "motion.pkl"
MOTION_FORMAT = "a pickle of the pair (edges, X): edges a list of (i, j) bone pairs, X a list of (T, 31, 3) arrays"
MOTION_SOURCE = (
    "https://github.com/hanjq17/GMN (spatial_graph/motion/motion.pkl, preprocessed from the CMU Graphics Lab "
    "Motion Capture Database, subject 35: http://mocap.cs.cmu.edu/search.php?subjectnumber=35)"
)
MOTION_SPLIT_TRIALS: dict[str, tuple[int, ...]] = {
    "train": (20, 1, 17, 13, 14, 9, 4, 2, 7, 5, 16),
    "val": (3, 8, 11, 12, 15, 18),
    "test": (6, 19, 21, 0, 22, 10),
}
_DEFAULT_MAX_SAMPLES = {"train": 200, "val": 600, "test": 600}


class MotionCapture(NamedTuple):
    """Content of a ``motion.pkl``: ``bones`` LongTensor (B, 2) and ``trials``, a list of float64 (T, J, 3) arrays."""

    bones: torch.Tensor
    trials: list[np.ndarray]


def _resolve(path: str | Path, file_name: str) -> Path:
    path = Path(path)
    return path / file_name if path.is_dir() else path


def load_motion_pickle(path: str | Path) -> MotionCapture:
    """Read and validate a GMN ``motion.pkl`` (a folder holding one, or the file itself).

    Only numpy arrays and plain containers are unpickled (a data file cannot run code).

    Returns
    -------
    MotionCapture
        ``bones`` (B, 2) joint pairs and ``trials``, a list of (T_k, J, 3) float64 position arrays.

    Raises
    ------
    FileNotFoundError
        The file is missing (the message names the file, its format and where it is published).
    ValueError
        The file is not a pickle of ``(edges, X)`` with consistent shapes and finite positions.
    """
    file = _resolve(path, MOTION_FILE)
    if not file.is_file():
        raise missing_file_error(file, "CMU motion capture", MOTION_FORMAT, MOTION_SOURCE)

    def malformed(found: str) -> ValueError:
        return ValueError(
            f"CMU motion capture file {file}: expected {MOTION_FORMAT} (as published at {MOTION_SOURCE}), found {found}"
        )

    try:
        content = safe_unpickle(file.read_bytes())
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise malformed(f"a file that does not unpickle ({error})") from error
    if not isinstance(content, (tuple, list)) or len(content) != 2:
        raise malformed(f"an object of type {type(content).__name__}")
    edges, trials = content
    try:
        bones = np.asarray(edges, dtype=np.int64)
    except (TypeError, ValueError) as error:
        raise malformed(f"edges that are not integer pairs ({error})") from error
    if bones.ndim != 2 or bones.shape[1] != 2:
        raise malformed(f"edges of shape {bones.shape}")
    if not isinstance(trials, (list, tuple)) or len(trials) == 0:
        raise malformed(
            f"X of type {type(trials).__name__} (length {len(trials) if hasattr(trials, '__len__') else '?'})"
        )
    arrays = [np.asarray(trial, dtype=np.float64) for trial in trials]
    num_joints = arrays[0].shape[1] if arrays[0].ndim == 3 else -1
    for k, trial in enumerate(arrays):
        if trial.ndim != 3 or trial.shape[1:] != (num_joints, 3):
            raise malformed(f"trial {k} of shape {trial.shape} (trial 0 has {num_joints} joints)")
        if not np.isfinite(trial).all():
            raise malformed(f"non-finite positions in trial {k}")
    if bones.size and (bones.min() < 0 or bones.max() >= num_joints):
        raise malformed(f"bone indices in [{bones.min()}, {bones.max()}] for {num_joints} joints")
    return MotionCapture(torch.from_numpy(bones), arrays)


def motion_start_frames(
    trials: dict[str, Sequence[int]] = MOTION_SPLIT_TRIALS,
    seed: int = 100,
    window: int = 300,
    per_trial: int = 100,
) -> dict[str, dict[int, np.ndarray]]:
    """GMN's seeded start frames: for each split, for each trial, ``per_trial`` distinct frames in ``[0, window)``.

    Reproduces ``np.random.seed(seed)`` followed by ``np.random.choice(np.arange(window), size=per_trial,
    replace=False)`` for the train, val and test trials in that order (``numpy.random.RandomState`` is the same
    legacy generator). GMN's published ``split.pkl`` was made by that code path; it has not been compared with
    this function here (pass it as ``split_file`` to :class:`MotionCaptureDataset` to use it directly).

    Examples
    --------
    >>> starts = motion_start_frames()
    >>> sorted(starts), len(starts["train"]), starts["train"][20].shape
    (['test', 'train', 'val'], 11, (100,))
    """
    rng = np.random.RandomState(seed)
    return {
        split: {int(t): rng.choice(np.arange(window), size=per_trial, replace=False) for t in trials[split]}
        for split in ("train", "val", "test")
    }


class MotionCaptureDataset(FixedGraphDataset):
    """GMN motion capture samples: ``x(t), v(t) -> x(t + delta_frame)`` on the skeleton plus its 2-hop pairs.

    Parameters
    ----------
    path : folder holding ``motion.pkl``, or the file itself.
    split : ``"train"``, ``"val"`` or ``"test"``.
    max_samples : samples of the split before the per-trial cut (GMN: 200 train, 600 val and test, the defaults);
        each trial keeps its first ``max_samples // len(trials)`` start frames.
    delta_frame : frames ahead of the target (GMN: 30).
    max_hops : hop distance of the graph (GMN: 2, bones plus 2-hop pairs).
    seed, window, per_trial : start-frame sampling (GMN: 100, 300, 100).
    split_file : optional GMN ``split.pkl`` (a pickle of three dicts ``{trial: start frames}``) used instead of
        regenerating the start frames from the seed.

    Attributes (per sample, N = 31 joints; see :class:`~clifford_egnn.data._graph.GraphBatch`)
    ---------------------------------------------------------------------------------------
    x : (S, N, 3) positions x(t); v : (S, N, 1, 3) velocity x(t + 1) - x(t); h : (S, N, 2) node scalars
    ``[|v|, 1]`` (GMN's ``[|v|, Z / max Z]`` with Z = 1 for every joint); target : (S, N, 3) x(t + delta_frame);
    edge_index : (2, E) bones and 2-hop pairs, both directions; edge_attr : (E, 1) hop distance (1 or 2);
    bones : (B, 2); trial, start : (S,) the trial and start frame of each sample.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from clifford_egnn.data.synthetic import write_synthetic_motion
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_synthetic_motion(folder / "motion.pkl", seed=0)
    >>> [len(MotionCaptureDataset(folder, split)) for split in ("train", "val", "test")]
    [198, 600, 600]
    """

    def __init__(
        self,
        path: str | Path,
        split: str = "train",
        max_samples: int | None = None,
        delta_frame: int = 30,
        max_hops: int = 2,
        seed: int = 100,
        window: int = 300,
        per_trial: int = 100,
        split_file: str | Path | None = None,
    ) -> None:
        if split not in MOTION_SPLIT_TRIALS:
            raise ValueError(f"split: expected one of {sorted(MOTION_SPLIT_TRIALS)}, found {split!r}")
        data = load_motion_pickle(path)
        needed = max(max(ids) for ids in MOTION_SPLIT_TRIALS.values()) + 1
        if len(data.trials) < needed:
            raise ValueError(
                f"CMU motion capture file: expected at least {needed} trials for the GMN splits, found "
                f"{len(data.trials)}"
            )
        if split_file is not None:
            starts = self._read_split_file(Path(split_file))
        else:
            starts = motion_start_frames(seed=seed, window=window, per_trial=per_trial)
        mapping = starts[split]
        max_samples = _DEFAULT_MAX_SAMPLES[split] if max_samples is None else max_samples
        each = max_samples // len(mapping)
        xs, vs, targets, trial_ids, start_ids = [], [], [], [], []
        for trial, frames in mapping.items():
            positions = data.trials[trial]
            velocity = positions[1:] - positions[:-1]
            positions = positions[:-1]
            chosen = np.asarray(frames[:each], dtype=np.int64)
            if chosen.size and chosen.max() + delta_frame >= len(positions):
                raise ValueError(
                    f"CMU motion capture trial {trial}: expected more than {chosen.max() + delta_frame + 1} frames "
                    f"for start frame {chosen.max()} and delta_frame {delta_frame}, found {len(positions) + 1}"
                )
            xs.append(positions[chosen])
            vs.append(velocity[chosen])
            targets.append(positions[chosen + delta_frame])
            trial_ids.append(np.full(chosen.size, trial))
            start_ids.append(chosen)
        x = torch.from_numpy(np.concatenate(xs)).float()
        v = torch.from_numpy(np.concatenate(vs)).float().unsqueeze(2)
        speed = v.norm(dim=-1)
        h = torch.cat([speed, torch.ones_like(speed)], dim=-1)
        edge_index, hops = hop_edges(data.bones, x.shape[1], max_hops)
        super().__init__(x, v, h, torch.from_numpy(np.concatenate(targets)).float(), edge_index, hops[:, None].float())
        self.bones = data.bones
        self.trial = torch.from_numpy(np.concatenate(trial_ids))
        self.start = torch.from_numpy(np.concatenate(start_ids))
        self.split = split

    @staticmethod
    def _read_split_file(file: Path) -> dict[str, dict[int, np.ndarray]]:
        if not file.is_file():
            raise missing_file_error(file, "GMN motion split", "a pickle of three dicts {trial: frames}", MOTION_SOURCE)
        try:
            content = safe_unpickle(file.read_bytes())
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
            raise ValueError(f"GMN motion split {file}: expected a pickle of three dicts, found ({error})") from error
        if not isinstance(content, (tuple, list)) or len(content) != 3 or not all(isinstance(m, dict) for m in content):
            raise ValueError(
                f"GMN motion split {file}: expected a tuple of three dicts, found {type(content).__name__}"
            )
        return {
            split: {int(k): np.asarray(v, dtype=np.int64) for k, v in mapping.items()}
            for split, mapping in zip(("train", "val", "test"), content)
        }
