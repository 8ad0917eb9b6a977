"""MD17 molecular dynamics trajectories under the GMN and the EqMotion/CSMPN protocols.

The files are the original MD17 archives ``{molecule}_dft.npz`` (Chmiela et al. 2017), published at
http://quantum-machine.org/gdml/#datasets (also http://www.sgdml.org), holding ``R`` (T, N, 3) positions in
Angstrom, ``z`` (N,) atomic numbers, and energies ``E`` and forces ``F`` that these protocols do not use.
Consecutive frames are 0.5 fs apart. Hydrogens (``z == 1``) are removed in both protocols.

GMN protocol (Huang et al., ICLR 2022, ``spatial_graph/md17/dataset.py``), :class:`MD17GMNDataset`:

- velocity ``v(t) = x(t + 1) - x(t)``, the last frame dropped; start frames drawn from ``R[10000:-10000]`` with
  ``numpy.random.seed(100)``: 10 % train, then 5 % val and 5 % test from the frames left, capped at 500 / 2000 /
  2000; target ``x(t + 3000)``;
- graph: heavy-atom pairs closer than 1.6 Angstrom at the first frame (attribute 1) plus 2-hop pairs
  (attribute 2); node scalars ``[|v|, z / max z]``; metric MSE.

EqMotion/CSMPN protocol (Xu et al., CVPR 2023, ``md17/preprocess.py``), :class:`MD17EqMotionDataset`:

- the trajectory (last frame dropped, hydrogens removed) is cut in time into contiguous train / val / test
  periods of proportions 5 : 1 : 2; each period gives windows of 20 frames spaced 20 raw frames apart, one
  window starting every 20 raw frames; the first 10 frames are the input, the last 10 the target;
- metrics ADE (mean Euclidean error over atoms and the 10 future frames) and FDE (the same at the last frame),
  see :func:`ade_fde`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from clifford_egnn.data._files import missing_file_error
from clifford_egnn.data._graph import FixedGraphDataset, hop_edges

__all__ = [
    "MD17_FORMAT",
    "MD17_SOURCE",
    "MD17_GMN_MOLECULES",
    "MD17_EQMOTION_MOLECULES",
    "MD17EqMotionDataset",
    "MD17GMNDataset",
    "MD17Trajectory",
    "ade_fde",
    "bond_edges",
    "eqmotion_window_starts",
    "gmn_start_frames",
    "load_md17",
    "md17_file",
]

MD17_SOURCE = "http://quantum-machine.org/gdml/#datasets (MD17, also http://www.sgdml.org)"
MD17_FORMAT = "a numpy .npz archive with R (T, N, 3) positions in Angstrom and z (N,) atomic numbers"
MD17_GMN_MOLECULES = (
    "aspirin",
    "benzene_old",
    "ethanol",
    "malonaldehyde",
    "naphthalene",
    "salicylic",
    "toluene",
    "uracil",
)
MD17_EQMOTION_MOLECULES = ("aspirin", "benzene", "ethanol", "malonaldehyde")
_SPLITS = ("train", "val", "test")


class MD17Trajectory(NamedTuple):
    """One molecule's trajectory: ``positions`` float64 (T, N, 3) in Angstrom and ``z`` int64 (N,)."""

    positions: np.ndarray
    z: np.ndarray


def md17_file(root: str | Path, molecule: str) -> Path:
    """The path of ``{molecule}_dft.npz`` under ``root`` (or ``root`` itself when it is a file)."""
    root = Path(root)
    return root if root.is_file() else root / f"{molecule}_dft.npz"


def load_md17(path: str | Path, remove_hydrogens: bool = True) -> MD17Trajectory:
    """Read ``R`` and ``z`` from an MD17 ``{molecule}_dft.npz`` (no pickled objects are loaded).

    Parameters
    ----------
    path : the ``.npz`` file.
    remove_hydrogens : drop the atoms with ``z == 1`` (both protocols do).

    Raises
    ------
    FileNotFoundError
        The file is missing (the message names it, its format and where MD17 is published).
    ValueError
        The archive is unreadable, lacks ``R`` or ``z``, has inconsistent shapes or non-finite positions.
    """
    path = Path(path)
    if not path.is_file():
        raise missing_file_error(path, "MD17", MD17_FORMAT, MD17_SOURCE)

    def malformed(found: str) -> ValueError:
        return ValueError(f"MD17 file {path}: expected {MD17_FORMAT} (as published at {MD17_SOURCE}), found {found}")

    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise malformed(f"a file that is not a readable .npz archive ({error})") from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise malformed("a single .npy array instead of an .npz archive")
    with archive:
        keys = set(archive.files)
        if not {"R", "z"} <= keys:
            raise malformed(f"the keys {sorted(keys)}")
        try:
            positions = np.asarray(archive["R"], dtype=np.float64)
            z = np.asarray(archive["z"]).astype(np.int64).reshape(-1)
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            raise malformed(f"R or z that cannot be read as numbers ({error})") from error
    if positions.ndim != 3 or positions.shape[1:] != (z.shape[0], 3) or positions.shape[0] < 2:
        raise malformed(f"R of shape {positions.shape} with z of shape {z.shape}")
    if not np.isfinite(positions).all():
        raise malformed("non-finite positions in R")
    if remove_hydrogens:
        heavy = z > 1
        if not heavy.any():
            raise malformed("no heavy atoms (every z is 1)")
        positions, z = positions[:, heavy], z[heavy]
    return MD17Trajectory(positions, z)


def bond_edges(
    positions: np.ndarray | torch.Tensor, cutoff: float = 1.6, max_hops: int = 2
) -> tuple[torch.Tensor, ...]:
    """Bonds = atom pairs closer than ``cutoff`` (Angstrom) in one frame; edges up to ``max_hops`` bonds apart.

    Parameters
    ----------
    positions : (N, 3) one frame.

    Returns
    -------
    bonds : LongTensor (B, 2) with ``i < j``; edge_index : LongTensor (2, E); hops : LongTensor (E,).

    Examples
    --------
    >>> bonds, edge_index, hops = bond_edges(np.array([[0.0, 0, 0], [1.5, 0, 0], [3.0, 0, 0]]))
    >>> bonds.tolist(), hops.tolist()
    ([[0, 1], [1, 2]], [1, 2, 1, 1, 2, 1])
    """
    frame = torch.as_tensor(np.asarray(positions), dtype=torch.float64)
    close = torch.cdist(frame, frame) < cutoff
    bonds = torch.nonzero(torch.triu(close, diagonal=1))
    edge_index, hops = hop_edges(bonds, frame.shape[0], max_hops)
    return bonds, edge_index, hops


def gmn_start_frames(
    num_frames: int,
    seed: int = 100,
    margin: int = 10000,
    fractions: tuple[float, float, float] = (0.1, 0.05, 0.05),
) -> dict[str, np.ndarray]:
    """GMN's MD17 start frames for a trajectory of ``num_frames`` frames (after dropping the last one).

    Reproduces ``np.random.seed(seed)``; candidates ``margin .. num_frames - margin - 1``; train: ``choice`` of
    ``int(0.1 L)`` without replacement, val: ``int(0.05 L)`` from the candidates left (ascending), test: the same
    again, where L is the number of candidates. Returns absolute frame indices, uncapped.

    Examples
    --------
    >>> starts = gmn_start_frames(30000)
    >>> [len(starts[s]) for s in ("train", "val", "test")], int(starts["train"].min()) >= 10000
    ([1000, 500, 500], True)
    """
    candidates = num_frames - 2 * margin
    if candidates <= 0:
        raise ValueError(f"num_frames: expected more than {2 * margin} frames for margin {margin}, found {num_frames}")
    rng = np.random.RandomState(seed)
    taken = np.zeros(candidates, dtype=bool)
    starts = {}
    for split, fraction in zip(_SPLITS, fractions):
        pool = np.arange(candidates) if split == "train" else np.flatnonzero(~taken)
        chosen = rng.choice(pool, size=int(fraction * candidates), replace=False)
        taken[chosen] = True
        starts[split] = chosen + margin
    return starts


def eqmotion_window_starts(
    num_frames: int,
    proportions: tuple[int, int, int] = (5, 1, 2),
    window_frames: int = 20,
    frame_gap: int = 20,
    stride: int = 20,
) -> dict[str, np.ndarray]:
    """First raw frame of every EqMotion window, per split (absolute indices into the trajectory).

    The trajectory is cut into contiguous periods of lengths ``int(T p_k / sum p)``; a window spans
    ``window_frames * frame_gap`` raw frames, and period k yields ``int((len_k - span) / stride)`` windows
    starting every ``stride`` frames (EqMotion's ``md17/preprocess.py``).

    Examples
    --------
    >>> starts = eqmotion_window_starts(8000)
    >>> [len(starts[s]) for s in ("train", "val", "test")], starts["val"][:2].tolist()
    ([230, 30, 80], [5000, 5020])
    """
    total = sum(proportions)
    lengths = [int(num_frames * p / total) for p in proportions]
    span = window_frames * frame_gap
    starts, offset = {}, 0
    for split, length in zip(_SPLITS, lengths):
        count = max(int((length - span) / stride), 0)
        starts[split] = offset + stride * np.arange(count, dtype=np.int64)
        offset += length
    return starts


def ade_fde(prediction: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Average and final displacement errors of trajectories ``(..., N, F, 3)``.

    ``ADE = mean_{nodes, frames} |pred - target|``; ``FDE = mean_{nodes} |pred_F - target_F|`` (last frame).
    Both are E(3)-invariant: the same rigid motion applied to prediction and target leaves them unchanged.

    Examples
    --------
    >>> ade, fde = ade_fde(torch.zeros(2, 3, 3), torch.tensor([[[0.0, 0, 0], [0, 3, 4], [0, 0, 6]]] * 2))
    >>> round(float(ade), 4), float(fde)
    (3.6667, 6.0)
    """
    if prediction.shape != target.shape or prediction.ndim < 3:
        raise ValueError(
            f"prediction/target: expected equal shapes (..., N, F, 3), found {tuple(prediction.shape)} and "
            f"{tuple(target.shape)}"
        )
    distance = (prediction - target).norm(dim=-1)
    return distance.mean(), distance[..., -1].mean()


def _node_scalars(velocities: torch.Tensor, z: np.ndarray) -> torch.Tensor:
    """``[|v_1|, ..., |v_C|, z / max z]`` per node from velocities (S, N, C, 3)."""
    charge = torch.as_tensor(z / z.max(), dtype=velocities.dtype)
    charge = charge.expand(*velocities.shape[:2])[..., None]
    return torch.cat([velocities.norm(dim=-1), charge], dim=-1)


class MD17GMNDataset(FixedGraphDataset):
    """GMN MD17 samples: ``x(t), v(t) -> x(t + delta_frame)`` of the heavy atoms on the 1.6 Angstrom bond graph.

    Parameters
    ----------
    root : folder holding ``{molecule}_dft.npz``, or the file itself.
    molecule : name in the file name (GMN's eight: :data:`MD17_GMN_MOLECULES`).
    split : ``"train"``, ``"val"`` or ``"test"``.
    max_samples : cap on the split (GMN: 500 train, 2000 val and test, the defaults).
    delta_frame : frames ahead of the target (GMN: 3000).
    cutoff, max_hops : bond cutoff in Angstrom and hop distance of the graph (GMN: 1.6, 2).
    seed, margin : start-frame sampling (GMN: 100, 10000 frames excluded at each end).

    Attributes
    ----------
    x : (S, N, 3); v : (S, N, 1, 3) velocity x(t + 1) - x(t); h : (S, N, 2) ``[|v|, z / max z]``;
    target : (S, N, 3); edge_index : (2, E); edge_attr : (E, 1) hop distance; z : (N,); bonds : (B, 2);
    start : (S,) start frames.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from clifford_egnn.data.synthetic import write_synthetic_md17
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_synthetic_md17(folder / "synthetic_dft.npz", num_frames=600, seed=0)
    >>> data = MD17GMNDataset(folder, "synthetic", "train", delta_frame=30, margin=100)
    >>> len(data), data.x.shape[1:], data.v.shape[2:], data.h.shape[2:]
    (39, torch.Size([8, 3]), torch.Size([1, 3]), torch.Size([2]))
    """

    def __init__(
        self,
        root: str | Path,
        molecule: str,
        split: str = "train",
        max_samples: int | None = None,
        delta_frame: int = 3000,
        cutoff: float = 1.6,
        max_hops: int = 2,
        seed: int = 100,
        margin: int = 10000,
    ) -> None:
        if split not in _SPLITS:
            raise ValueError(f"split: expected one of {list(_SPLITS)}, found {split!r}")
        if delta_frame >= margin:
            raise ValueError(f"delta_frame: expected fewer than margin={margin} frames, found {delta_frame}")
        trajectory = load_md17(md17_file(root, molecule))
        positions = trajectory.positions
        velocity = positions[1:] - positions[:-1]
        positions = positions[:-1]
        default_cap = 500 if split == "train" else 2000
        starts = gmn_start_frames(len(positions), seed=seed, margin=margin)[split]
        starts = starts[: default_cap if max_samples is None else max_samples]
        x = torch.from_numpy(positions[starts]).float()
        v = torch.from_numpy(velocity[starts]).float().unsqueeze(2)
        bonds, edge_index, hops = bond_edges(positions[0], cutoff, max_hops)
        target = torch.from_numpy(positions[starts + delta_frame]).float()
        super().__init__(x, v, _node_scalars(v, trajectory.z), target, edge_index, hops[:, None].float())
        self.z = torch.from_numpy(trajectory.z)
        self.bonds = bonds
        self.start = torch.from_numpy(starts)
        self.molecule, self.split = molecule, split


class MD17EqMotionDataset(FixedGraphDataset):
    """EqMotion/CSMPN MD17 windows: 10 past frames of the heavy atoms -> their 10 next frames.

    How the models consume several frames is our design (the source papers use architectures with a time axis):
    the input positions ``x`` are the last past frame, the vector features ``v`` are the ``P - 1`` frame-to-frame
    displacements ``x_k - x_{k-1}`` of the past window (oldest first), and the node scalars are their norms plus
    ``z / max z``. Models output ``F`` vector channels that are added to the last position, one per future frame.

    Parameters
    ----------
    root, molecule, split : as :class:`MD17GMNDataset` (EqMotion's four: :data:`MD17_EQMOTION_MOLECULES`).
    past_frames, future_frames : window halves (EqMotion: 10 and 10).
    frame_gap, stride : raw frames between window frames and between window starts (EqMotion: 20, 20).
    max_samples : cap on the split (EqMotion: 5000 train, 2000 val and test, the defaults).
    cutoff, max_hops : graph (bonds under 1.6 Angstrom at the first frame; 2 hops, as the GMN protocol).

    Attributes
    ----------
    x : (S, N, 3) last past frame; v : (S, N, P - 1, 3); h : (S, N, P); target : (S, N, F, 3) future frames;
    past : (S, N, P, 3) the whole past window; edge_index, edge_attr, z, bonds as :class:`MD17GMNDataset`;
    start : (S,) first raw frame of each window.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from clifford_egnn.data.synthetic import write_synthetic_md17
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_synthetic_md17(folder / "synthetic_dft.npz", num_frames=1000, seed=0)
    >>> data = MD17EqMotionDataset(folder, "synthetic", "train", frame_gap=2, stride=5)
    >>> len(data), data.v.shape[2:], data.target.shape[2:]
    (116, torch.Size([9, 3]), torch.Size([10, 3]))
    """

    def __init__(
        self,
        root: str | Path,
        molecule: str,
        split: str = "train",
        past_frames: int = 10,
        future_frames: int = 10,
        frame_gap: int = 20,
        stride: int = 20,
        max_samples: int | None = None,
        cutoff: float = 1.6,
        max_hops: int = 2,
    ) -> None:
        if split not in _SPLITS:
            raise ValueError(f"split: expected one of {list(_SPLITS)}, found {split!r}")
        if past_frames < 2 or future_frames < 1:
            raise ValueError(
                f"past_frames/future_frames: expected >= 2 and >= 1, found {past_frames} and {future_frames}"
            )
        trajectory = load_md17(md17_file(root, molecule))
        positions = trajectory.positions[:-1]
        window = past_frames + future_frames
        starts = eqmotion_window_starts(len(positions), window_frames=window, frame_gap=frame_gap, stride=stride)
        starts = starts[split][: (5000 if split == "train" else 2000) if max_samples is None else max_samples]
        if starts.size == 0:
            raise ValueError(
                f"MD17 {molecule}: expected a trajectory long enough for one {split} window of {window} frames "
                f"{frame_gap} apart, found {len(positions) + 1} frames"
            )
        frames = starts[:, None] + frame_gap * np.arange(window)
        windows = torch.from_numpy(positions[frames]).float().transpose(1, 2)  # (S, N, window, 3)
        past, future = windows[:, :, :past_frames], windows[:, :, past_frames:]
        v = past[:, :, 1:] - past[:, :, :-1]
        bonds, edge_index, hops = bond_edges(positions[0], cutoff, max_hops)
        super().__init__(
            past[:, :, -1].contiguous(),
            v.contiguous(),
            _node_scalars(v, trajectory.z),
            future.contiguous(),
            edge_index,
            hops[:, None].float(),
        )
        self.past = past
        self.z = torch.from_numpy(trajectory.z)
        self.bonds = bonds
        self.start = torch.from_numpy(starts)
        self.molecule, self.split = molecule, split
