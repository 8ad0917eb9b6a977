"""Charged-particle n-body simulation (the EGNN / CGENN benchmark), vectorised over simulations.

The physics is that of the reference generator of Kipf et al. (``ChargedParticlesSim``) as used by EGNN and
CGENN: ``P`` particles in ``R^n`` with charges ``q_i = +-1`` (probability 1/2 each), initial positions
``N(0, 1)``, initial velocities ``N(0, 1)`` rescaled to norm 0.5 per particle, reflected into the box
``[-5, 5]^n`` once at initialisation. The Coulomb-like force

    F_i = sum_{j != i} q_i q_j (x_i - x_j) / |x_i - x_j|^3,

clipped elementwise to ``[-100, 100]``, is integrated with unit masses by leapfrog (``dt = 0.001``):
``v += dt F(x)``, then ``num_steps - 1`` times ``x += dt v`` (recorded every ``sample_every`` steps) and
``v += dt F(x)``. With the defaults (5000 steps, every 100) a trajectory has 49 frames, frame ``k`` being the
state after ``100 (k + 1)`` position updates; recorded velocities lie half a step behind the positions, as in
the reference.

All simulations are stepped together as one ``(S, P, n)`` tensor (in chunks of ``chunk_size``), instead of
one Python loop per simulation. The task (:class:`NBodyDataset`): from frame 30 (positions, velocities,
charges) predict the positions at frame 40, on the complete graph with edge scalar ``q_i q_j``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import NamedTuple

import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from clifford_egnn.data.graphs import GraphBatch, GraphSample, collate_graphs, complete_edge_index

__all__ = [
    "NBodyDataset",
    "NBodyTrajectories",
    "SPLITS",
    "build_dataset",
    "charged_forces",
    "dataset_path",
    "nbody_collate",
    "simulate",
    "total_energy",
]

SPLITS = ("train", "val", "test")
_FORMAT_VERSION = 1


class NBodyTrajectories(NamedTuple):
    """Recorded trajectories: ``positions`` and ``velocities`` ``(S, T, P, n)``, ``charges`` ``(S, P)`` (+-1)."""

    positions: torch.Tensor
    velocities: torch.Tensor
    charges: torch.Tensor


def charged_forces(x: torch.Tensor, charges: torch.Tensor, max_force: float = 100.0) -> torch.Tensor:
    """``F_i = sum_{j != i} q_i q_j (x_i - x_j) / |x_i - x_j|^3`` clipped to ``[-max_force, max_force]``.

    Takes positions ``(..., P, n)`` and charges ``(..., P)``; returns forces ``(..., P, n)``.
    """
    diff = x.unsqueeze(-2) - x.unsqueeze(-3)
    r2 = (diff * diff).sum(-1)
    num_particles = x.shape[-2]
    off_diagonal = ~torch.eye(num_particles, dtype=torch.bool, device=x.device)
    # A unit distance on the diagonal keeps r^-3 finite there; the mask then zeroes the self-interaction.
    r2 = torch.where(off_diagonal, r2, torch.ones_like(r2))
    coef = charges.unsqueeze(-1) * charges.unsqueeze(-2) * off_diagonal * r2.pow(-1.5)
    # sum_j c_ij (x_i - x_j) = x_i sum_j c_ij - sum_j c_ij x_j: one batched matmul instead of a (P, P, n) product.
    force = x * coef.sum(-1, keepdim=True) - coef @ x
    return force.clamp_(-max_force, max_force)


def total_energy(positions: torch.Tensor, velocities: torch.Tensor, charges: torch.Tensor) -> torch.Tensor:
    """Kinetic plus Coulomb potential energy, ``sum_i |v_i|^2 / 2 + sum_{i<j} q_i q_j / |x_i - x_j|``.

    Takes ``(..., P, n)`` positions and velocities and charges broadcastable to ``(..., P)``; returns ``(...)``.
    The force clipping of the simulator is not conservative, so energy is only approximately conserved.
    """
    kinetic = 0.5 * (velocities * velocities).sum((-1, -2))
    diff = positions.unsqueeze(-2) - positions.unsqueeze(-3)
    r = (diff * diff).sum(-1).sqrt()
    num_particles = positions.shape[-2]
    upper = torch.triu(torch.ones(num_particles, num_particles, dtype=torch.bool, device=positions.device), 1)
    q = charges.unsqueeze(-1) * charges.unsqueeze(-2)
    potential = torch.where(upper, q / torch.where(upper, r, torch.ones_like(r)), torch.zeros_like(r)).sum((-1, -2))
    return kinetic + potential


def _reflect_into_box(x: torch.Tensor, v: torch.Tensor, box_size: float) -> tuple[torch.Tensor, torch.Tensor]:
    over = x > box_size
    x = torch.where(over, 2 * box_size - x, x)
    v = torch.where(over, -v.abs(), v)
    under = x < -box_size
    x = torch.where(under, -2 * box_size - x, x)
    v = torch.where(under, v.abs(), v)
    return x, v


def _pair_incidence(
    num_particles: int, dtype: torch.dtype, device: torch.device | str | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``B (P, pairs)`` with ``+1`` at the first and ``-1`` at the second particle of each pair ``i < j``."""
    first, second = torch.triu_indices(num_particles, num_particles, 1)
    pairs = torch.arange(first.numel())
    incidence = torch.zeros(num_particles, first.numel(), dtype=dtype)
    incidence[first, pairs] = 1.0
    incidence[second, pairs] = -1.0
    incidence = incidence.to(device)
    return incidence, incidence.T.contiguous(), first, second


def _pair_forces(
    x: torch.Tensor, qq: torch.Tensor, incidence: torch.Tensor, incidence_t: torch.Tensor, dim: int, max_force: float
) -> torch.Tensor:
    """:func:`charged_forces` in the simulator's ``(P, n * S)`` layout; ``qq (pairs, S)`` holds ``q_i q_j``."""
    count = qq.shape[1]
    diff = (incidence_t @ x).view(-1, dim, count)
    coef = qq * (diff * diff).sum(1).pow(-1.5)
    pair_force = (diff * coef.unsqueeze(1)).view(-1, dim * count)
    return (incidence @ pair_force).clamp_(-max_force, max_force)


def simulate(
    num_sims: int,
    num_particles: int = 5,
    dim: int = 3,
    seed: int = 0,
    *,
    num_steps: int = 5000,
    sample_every: int = 100,
    dt: float = 1e-3,
    box_size: float = 5.0,
    velocity_norm: float = 0.5,
    max_force: float = 100.0,
    chunk_size: int = 8192,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    progress: bool = False,
    num_threads: int | None = 1,
) -> NBodyTrajectories:
    """Simulate ``num_sims`` independent charged-particle systems, all stepped together.

    Parameters
    ----------
    num_sims, num_particles, dim:
        number of simulations ``S``, particles ``P`` and the dimension ``n`` of space.
    seed:
        seeds the ``torch.Generator`` that draws charges, then positions, then velocities of all simulations at
        once, so the result does not depend on ``chunk_size`` or ``device``.
    num_steps, sample_every, dt, box_size, velocity_norm, max_force:
        the integrator and the initial conditions (module docstring); the defaults are the reference ones.
    chunk_size:
        simulations integrated together (memory and cache use only).
    dtype, device, progress:
        precision and device of the integration; ``progress`` shows a tqdm bar over chunks.
    num_threads:
        torch intra-op threads while integrating on CPU, restored afterwards (``None`` leaves them). One thread
        is the default because each step is a dozen small kernels: on a shared 2-core machine, two threads
        made generation ten times slower, through OpenMP barriers waiting on a busy core.

    Returns
    -------
    NBodyTrajectories
        positions and velocities ``(S, (num_steps - 1) // sample_every, P, n)``, charges ``(S, P)``, in ``dtype``.

    Examples
    --------
    >>> traj = simulate(4, num_particles=5, dim=2, seed=0, num_steps=500)
    >>> tuple(traj.positions.shape), tuple(traj.charges.shape)
    ((4, 4, 5, 2), (4, 5))
    """
    for name, value in (("num_sims", num_sims), ("num_particles", num_particles), ("dim", dim)):
        if value < 1:
            raise ValueError(f"{name}: expected a positive integer, found {value}")
    if num_particles < 2:
        raise ValueError(f"num_particles: expected at least 2 interacting particles, found {num_particles}")
    if sample_every < 1 or num_steps <= sample_every:
        raise ValueError(
            f"num_steps, sample_every: expected 1 <= sample_every < num_steps, found {num_steps}, {sample_every}"
        )
    gen = torch.Generator().manual_seed(seed)
    charges = torch.where(torch.rand(num_sims, num_particles, generator=gen, dtype=torch.float64) < 0.5, 1.0, -1.0)
    x0 = torch.randn(num_sims, num_particles, dim, generator=gen, dtype=torch.float64)
    v0 = torch.randn(num_sims, num_particles, dim, generator=gen, dtype=torch.float64)
    v0 = v0 * (velocity_norm / v0.norm(dim=-1, keepdim=True))
    x0, v0 = _reflect_into_box(x0, v0, box_size)

    num_frames = (num_steps - 1) // sample_every
    out_x = torch.empty(num_sims, num_frames, num_particles, dim, dtype=dtype)
    out_v = torch.empty_like(out_x)
    threads_before = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        _integrate(
            x0, v0, charges, out_x, out_v, num_steps, sample_every, dt, max_force, chunk_size, dtype, device, progress
        )
    finally:
        torch.set_num_threads(threads_before)
    return NBodyTrajectories(out_x, out_v, charges.to(dtype))


def _integrate(
    x0: torch.Tensor,
    v0: torch.Tensor,
    charges: torch.Tensor,
    out_x: torch.Tensor,
    out_v: torch.Tensor,
    num_steps: int,
    sample_every: int,
    dt: float,
    max_force: float,
    chunk_size: int,
    dtype: torch.dtype,
    device: torch.device | str | None,
    progress: bool,
) -> None:
    num_sims, num_particles, dim = x0.shape
    incidence, incidence_t, first, second = _pair_incidence(num_particles, dtype, device)
    starts = range(0, num_sims, chunk_size)
    for start in tqdm(starts, desc="n-body chunks", disable=not progress, leave=False):
        stop = min(start + chunk_size, num_sims)
        count = stop - start
        # Layout (P, n * S): the pair differences and the force sums become two GEMMs with the (pairs, P)
        # incidence matrix, and every elementwise op touches the P (P - 1) / 2 pairs only once.
        x = x0[start:stop].permute(1, 2, 0).reshape(num_particles, dim * count).to(device=device, dtype=dtype)
        v = v0[start:stop].permute(1, 2, 0).reshape(num_particles, dim * count).to(device=device, dtype=dtype)
        q = charges[start:stop].to(device=device, dtype=dtype)
        qq = (q[:, first] * q[:, second]).T.contiguous()
        v.add_(_pair_forces(x, qq, incidence, incidence_t, dim, max_force), alpha=dt)
        frame = 0
        for step in range(1, num_steps):
            x.add_(v, alpha=dt)
            if step % sample_every == 0:
                out_x[start:stop, frame] = x.view(num_particles, dim, count).permute(2, 0, 1).cpu()
                out_v[start:stop, frame] = v.view(num_particles, dim, count).permute(2, 0, 1).cpu()
                frame += 1
            v.add_(_pair_forces(x, qq, incidence, incidence_t, dim, max_force), alpha=dt)


def _split_seed(seed: int, split: str) -> int:
    digest = hashlib.sha256(f"nbody-{seed}-{split}".encode()).digest()
    return int.from_bytes(digest[:7], "little")


def dataset_path(root: str | os.PathLike[str], num_particles: int = 5, dim: int = 3, seed: int = 0) -> Path:
    """The folder holding one generated data set: ``root/charged_p{P}_n{n}_seed{seed}``."""
    return Path(root) / f"charged_p{num_particles}_n{dim}_seed{seed}"


def _split_file(folder: Path, split: str, count: int) -> Path:
    return folder / f"{split}_{count}.pt"


def _save_atomic(payload: dict[str, object], target: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def build_dataset(
    root: str | os.PathLike[str],
    seed: int = 0,
    num_train: int = 3000,
    num_val: int = 2000,
    num_test: int = 2000,
    num_particles: int = 5,
    dim: int = 3,
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Generate the train/val/test splits (3000/2000/2000 by default) and write them under :func:`dataset_path`.

    Each split has its own seed derived from ``seed`` and the split name, so a split is the same whatever the
    sizes of the others. Files ``{split}_{count}.pt`` hold float32 trajectories (all 49 frames), charges and
    the generation parameters; each is written under a temporary name and renamed. Splits already on disk
    are kept unless ``overwrite``. Returns the folder.

    Examples
    --------
    >>> import tempfile
    >>> folder = build_dataset(tempfile.mkdtemp(), num_train=2, num_val=1, num_test=1, progress=False)
    >>> sorted(p.name for p in folder.glob("*.pt"))
    ['test_1.pt', 'train_2.pt', 'val_1.pt']
    """
    folder = dataset_path(root, num_particles, dim, seed)
    folder.mkdir(parents=True, exist_ok=True)
    counts = dict(zip(SPLITS, (num_train, num_val, num_test)))
    todo = {s: c for s, c in counts.items() if overwrite or not _split_file(folder, s, c).exists()}
    bar = tqdm(total=sum(todo.values()), desc="n-body simulations", unit="sim", disable=not progress)
    for split, count in todo.items():
        traj = simulate(count, num_particles, dim, seed=_split_seed(seed, split))
        meta = {
            "format": _FORMAT_VERSION,
            "split": split,
            "seed": seed,
            "num_particles": num_particles,
            "dim": dim,
            "num_sims": count,
        }
        payload = {
            "positions": traj.positions.float(),
            "velocities": traj.velocities.float(),
            "charges": traj.charges.float(),
            "meta": meta,
        }
        _save_atomic(payload, _split_file(folder, split, count))
        bar.update(count)
    bar.close()
    return folder


class NBodyDataset(Dataset[GraphSample]):
    """One split of a generated n-body data set as graph samples (complete graph, edge scalar ``q_i q_j``).

    Item ``k``: ``x`` = positions at ``frame_in`` ``(P, n)``, ``v`` = velocities at ``frame_in`` ``(P, 1, n)``,
    ``h`` = charges ``(P, 1)``, ``edge_index`` = the complete graph ``(2, P (P - 1))``, ``edge_attr`` =
    ``q_i q_j`` ``(P (P - 1), 1)``, ``y`` = positions at ``frame_out`` ``(P, n)``.

    Parameters
    ----------
    root, split, num_sims, num_particles, dim, seed:
        locate the file written by :func:`build_dataset`.
    frame_in, frame_out:
        input and target frames (30 and 40 in the EGNN protocol).

    Raises
    ------
    FileNotFoundError
        when the split has not been generated (the message names the file and the command that writes it).
    ValueError
        for an unknown split, a corrupt file, or frames outside the trajectory.

    Examples
    --------
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> _ = build_dataset(root, num_train=3, num_val=1, num_test=1, progress=False)
    >>> ds = NBodyDataset(root, "train", num_sims=3)
    >>> len(ds), tuple(ds[0].edge_index.shape)
    (3, (2, 20))
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        num_sims: int = 3000,
        num_particles: int = 5,
        dim: int = 3,
        seed: int = 0,
        frame_in: int = 30,
        frame_out: int = 40,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {SPLITS}, found {split!r}")
        path = _split_file(dataset_path(root, num_particles, dim, seed), split, num_sims)
        if not path.exists():
            raise FileNotFoundError(
                f"n-body split not found: expected {path}; generate it with "
                f"clifford_egnn.data.nbody.build_dataset({str(root)!r}, seed={seed}, ...)"
            )
        data = torch.load(path, weights_only=True)
        expected_keys = {"positions", "velocities", "charges", "meta"}
        if not isinstance(data, dict) or set(data) != expected_keys:
            raise ValueError(f"{path}: expected keys {sorted(expected_keys)}, found a corrupt file")
        pos, vel, charges = data["positions"], data["velocities"], data["charges"]
        if pos.shape[0] != num_sims or pos.shape[2:] != (num_particles, dim) or vel.shape != pos.shape:
            raise ValueError(
                f"{path}: expected positions and velocities of shape ({num_sims}, T, {num_particles}, {dim}), "
                f"found {tuple(pos.shape)} and {tuple(vel.shape)}"
            )
        num_frames = pos.shape[1]
        for name, frame in (("frame_in", frame_in), ("frame_out", frame_out)):
            if not 0 <= frame < num_frames:
                raise ValueError(f"{name}: expected a frame in [0, {num_frames}), found {frame}")
        self.x = pos[:, frame_in].contiguous()
        self.v = vel[:, frame_in].unsqueeze(-2).contiguous()
        self.y = pos[:, frame_out].contiguous()
        self.h = charges.unsqueeze(-1).contiguous()
        one_graph = torch.zeros(num_particles, dtype=torch.long)
        self.edge_index = complete_edge_index(one_graph)
        row, col = self.edge_index
        self.edge_attr = (charges[:, row] * charges[:, col]).unsqueeze(-1).contiguous()

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, k: int) -> GraphSample:
        return GraphSample(self.x[k], self.v[k], self.h[k], self.edge_index, self.edge_attr[k], self.y[k])


def nbody_collate(samples: list[GraphSample]) -> GraphBatch:
    """Collate n-body samples into a :class:`~clifford_egnn.data.graphs.GraphBatch` (see :func:`collate_graphs`)."""
    return collate_graphs(samples)
