"""SYNTHETIC stand-ins for the CMU motion capture and MD17 files, written in exactly the published formats.

Neither data set ships with any package registry, so these generators let the whole pipeline (loaders, data
modules, training) run offline. Their numbers are not comparable with any paper: every file and result made from
them is labelled synthetic.

- :func:`synthetic_walk`: a walking 31-joint skeleton with the CMU ASF hierarchy. Joint angles follow a periodic
  gait (hip and shoulder swing in antiphase, knee and elbow flexion, torso twist, vertical bob), the root walks
  along a slowly turning heading; forward kinematics is vectorised over frames and over the joints of each tree
  depth; each trial has its own cadence, stride, amplitudes, phase, heading and small observation noise.
  :func:`write_synthetic_motion` writes GMN's ``motion.pkl`` format: a pickle of ``(edges, X)``.
- :func:`simulate_synthetic_md`: a small planar-ring molecule (methylphenol-like: 8 heavy atoms, 8 hydrogens)
  with harmonic springs on bonds and on 1-3 pairs (an angle proxy) and a soft ``eps (sigma / r)^12`` repulsion
  between atoms 3 or more bonds apart, integrated in the microcanonical ensemble with velocity Verlet (vectorised
  over atoms) from Maxwell-Boltzmann velocities with zero net momentum. Units are MD17's: Angstrom, fs,
  kcal/mol. Recorded frames are 0.5 fs apart like MD17. :func:`write_synthetic_md17` writes MD17's
  ``{molecule}_dft.npz`` format (``R``, ``z``, ``E``, ``F`` plus ``name`` and ``theory`` strings).
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from clifford_egnn.data._files import atomic_write_bytes

__all__ = [
    "CMU_JOINT_NAMES",
    "CMU_JOINT_PARENTS",
    "SYNTHETIC_MOLECULE_Z",
    "simulate_synthetic_md",
    "synthetic_walk",
    "write_motion_pickle",
    "write_md17_npz",
    "write_synthetic_md17",
    "write_synthetic_motion",
]

CMU_JOINT_NAMES = (
    "root", "lhipjoint", "lfemur", "ltibia", "lfoot", "ltoes", "rhipjoint", "rfemur", "rtibia", "rfoot", "rtoes",
    "lowerback", "upperback", "thorax", "lowerneck", "upperneck", "head", "lclavicle", "lhumerus", "lradius",
    "lwrist", "lhand", "lfingers", "lthumb", "rclavicle", "rhumerus", "rradius", "rwrist", "rhand", "rfingers",
    "rthumb",
)  # fmt: skip
CMU_JOINT_PARENTS = (
    -1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 13, 14, 15, 13, 17, 18, 19, 20, 21, 21, 13, 24, 25, 26, 27, 28, 28,
)  # fmt: skip

# Rest-pose bone vectors (parent joint -> joint) in CMU ASF length units (about 5.6 cm): y up, z forward, x left.
_OFFSETS = np.array(
    [
        [0.0, 0.0, 0.0],
        [1.4, -1.8, 0.3], [0.0, -7.2, 0.0], [0.0, -7.4, 0.0], [0.0, -0.5, 2.2], [0.0, 0.0, 1.1],
        [-1.4, -1.8, 0.3], [0.0, -7.2, 0.0], [0.0, -7.4, 0.0], [0.0, -0.5, 2.2], [0.0, 0.0, 1.1],
        [0.0, 2.0, -0.1], [0.0, 2.0, 0.0], [0.0, 2.0, 0.0], [0.0, 1.5, 0.1], [0.0, 1.5, 0.1], [0.0, 1.5, 0.2],
        [3.4, 0.8, 0.0], [0.0, -5.0, 0.0], [0.0, -3.5, 0.0], [0.0, -1.7, 0.0], [0.0, -0.7, 0.0], [0.0, -0.6, 0.0],
        [0.3, -0.6, 0.3],
        [-3.4, 0.8, 0.0], [0.0, -5.0, 0.0], [0.0, -3.5, 0.0], [0.0, -1.7, 0.0], [0.0, -0.7, 0.0], [0.0, -0.6, 0.0],
        [-0.3, -0.6, 0.3],
    ]
)  # fmt: skip


def _rotation(axis: str, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) about a coordinate axis by ``angle`` (...)."""
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(angle), np.zeros_like(angle)
    rows = {
        "x": ((one, zero, zero), (zero, c, -s), (zero, s, c)),
        "y": ((c, zero, s), (zero, one, zero), (-s, zero, c)),
        "z": ((c, -s, zero), (s, c, zero), (zero, zero, one)),
    }[axis]
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


def _depths(parents: tuple[int, ...]) -> list[np.ndarray]:
    depth = [0] * len(parents)
    for joint, parent in enumerate(parents):
        depth[joint] = 0 if parent < 0 else depth[parent] + 1
    levels = np.asarray(depth)
    return [np.flatnonzero(levels == d) for d in range(1, levels.max() + 1)]


def synthetic_walk(num_frames: int, rng: np.random.Generator, fps: float = 120.0) -> np.ndarray:
    """One SYNTHETIC walking trial: joint positions (num_frames, 31, 3) of the CMU skeleton.

    The local rotation of a joint turns the bones below it: the hip joints flex the femurs by
    ``a_hip sin(phi)`` (right leg in antiphase), the femur joints flex the knees by ``a_knee (1 - cos(phi - 0.6)) / 2``
    (never hyper-extended), the clavicles swing the arms opposite to the legs, the humerus joints bend the elbows,
    the lower back twists by ``a_twist sin(phi)``, where ``phi = 2 pi f t / fps + phi_0``. The root rotates to the
    heading, moves ``stride`` per gait cycle along it and bobs twice per cycle.
    """
    t = np.arange(num_frames, dtype=np.float64)
    cadence = rng.uniform(0.85, 1.15)  # gait cycles per second
    phase = 2 * np.pi * cadence * t / fps + rng.uniform(0, 2 * np.pi)
    a_hip, a_knee, a_arm = rng.uniform(0.35, 0.55), rng.uniform(0.7, 1.1), rng.uniform(0.25, 0.45)
    heading = rng.uniform(0, 2 * np.pi) + rng.normal(0, 0.15) * t / fps
    angles: dict[tuple[int, str], np.ndarray] = {
        (0, "y"): heading,
        (11, "y"): rng.uniform(0.05, 0.12) * np.sin(phase),
        (11, "x"): np.full_like(t, rng.uniform(0.0, 0.1)),
        (1, "x"): -a_hip * np.sin(phase),
        (6, "x"): -a_hip * np.sin(phase + np.pi),
        (2, "x"): a_knee * (1 - np.cos(phase - 0.6)) / 2,
        (7, "x"): a_knee * (1 - np.cos(phase + np.pi - 0.6)) / 2,
        (3, "x"): 0.2 * np.sin(phase - 1.0),
        (8, "x"): 0.2 * np.sin(phase + np.pi - 1.0),
        (17, "x"): -a_arm * np.sin(phase + np.pi),
        (24, "x"): -a_arm * np.sin(phase),
        (18, "x"): -0.3 - 0.15 * (1 + np.sin(phase + np.pi)),
        (25, "x"): -0.3 - 0.15 * (1 + np.sin(phase)),
    }
    local = np.broadcast_to(np.eye(3), (num_frames, 31, 3, 3)).copy()
    for (joint, axis), angle in angles.items():
        local[:, joint] = local[:, joint] @ _rotation(axis, angle)
    offsets = _OFFSETS * rng.uniform(0.95, 1.05)
    glob = np.empty_like(local)
    positions = np.zeros((num_frames, 31, 3))
    glob[:, 0] = local[:, 0]
    stride = rng.uniform(25.0, 32.0)
    speed = stride * cadence / fps
    direction = np.stack([np.sin(heading), np.zeros_like(t), np.cos(heading)], axis=-1)
    start = np.array([rng.uniform(-20, 20), 17.0, rng.uniform(-20, 20)])
    bob = 0.3 * np.cos(2 * phase)[:, None] * np.array([0.0, 1.0, 0.0])
    positions[:, 0] = start + np.cumsum(direction * speed, axis=0) + bob
    parents = np.asarray(CMU_JOINT_PARENTS)
    for level in _depths(CMU_JOINT_PARENTS):
        parent = parents[level]
        positions[:, level] = positions[:, parent] + np.einsum("tjab,jb->tja", glob[:, parent], offsets[level])
        glob[:, level] = glob[:, parent] @ local[:, level]
    return positions + rng.normal(0.0, 0.02, positions.shape)


def write_motion_pickle(path: str | Path, edges: list[tuple[int, int]], trials: list[np.ndarray]) -> Path:
    """Write GMN's ``motion.pkl`` format, the pickle of ``(edges, X)``, atomically."""
    buffer = io.BytesIO()
    pickle.dump((list(edges), list(trials)), buffer, protocol=4)
    return atomic_write_bytes(Path(path), buffer.getvalue())


def write_synthetic_motion(
    path: str | Path, num_trials: int = 23, frames: tuple[int, int] = (400, 500), seed: int = 0
) -> Path:
    """Write a SYNTHETIC ``motion.pkl``: ``num_trials`` walking trials of ``frames[0]..frames[1]`` frames.

    The defaults give 23 trials like subject 35, long enough for GMN's start frames (< 300) plus 30 frames.

    Examples
    --------
    >>> import tempfile, pathlib, pickle
    >>> file = write_synthetic_motion(pathlib.Path(tempfile.mkdtemp()) / "motion.pkl", num_trials=2, seed=0)
    >>> edges, X = pickle.loads(file.read_bytes())
    >>> len(edges), len(X), X[0].shape[1:]
    (30, 2, (31, 3))
    """
    rng = np.random.default_rng(seed)
    lengths = rng.integers(frames[0], frames[1] + 1, size=num_trials)
    trials = [synthetic_walk(int(length), rng) for length in lengths]
    edges = [(parent, joint) for joint, parent in enumerate(CMU_JOINT_PARENTS) if parent >= 0]
    return write_motion_pickle(path, edges, trials)


# --- molecular dynamics --------------------------------------------------------------------------------------------

_KCAL_PER_MOL_TO_AMU_A2_PER_FS2 = 4.184e-4
_BOLTZMANN_KCAL_PER_MOL_K = 0.0019872041
_MASS = {1: 1.008, 6: 12.011, 8: 15.999}


def _synthetic_molecule() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equilibrium geometry (N, 3) in Angstrom, atomic numbers (N,), bonds (B, 2) of a methylphenol-like ring."""
    ring = 1.39 * np.stack([np.cos(np.arange(6) * np.pi / 3), np.sin(np.arange(6) * np.pi / 3), np.zeros(6)], -1)
    radial = ring / np.linalg.norm(ring, axis=1, keepdims=True)
    methyl_c = ring[0] + 1.50 * radial[0]
    oxygen = ring[3] + 1.36 * radial[3]
    ring_h = ring[[1, 2, 4, 5]] + 1.09 * radial[[1, 2, 4, 5]]
    up = np.array([0.0, 0.0, 1.0])
    side = np.cross(up, radial[0])
    methyl_h = np.stack(
        [methyl_c + 1.09 * (0.34 * radial[0] + 0.94 * (np.cos(a) * up + np.sin(a) * side)) for a in (0, 2.09, 4.19)]
    )
    hydroxyl_h = oxygen + 0.96 * (0.5 * radial[3] + 0.87 * np.cross(up, radial[3]))
    positions = np.concatenate([ring, methyl_c[None], oxygen[None], ring_h, methyl_h, hydroxyl_h[None]])
    z = np.array([6] * 7 + [8] + [1] * 8)
    bonds = [(k, (k + 1) % 6) for k in range(6)] + [(0, 6), (3, 7), (1, 8), (2, 9), (4, 10), (5, 11)]
    bonds += [(6, 12), (6, 13), (6, 14), (7, 15)]
    return positions, z, np.asarray(bonds)


SYNTHETIC_MOLECULE_Z = tuple(int(k) for k in _synthetic_molecule()[1])


def _pair_tables(num_atoms: int, bonds: np.ndarray) -> np.ndarray:
    """Bond-graph distance between every pair (0 on the diagonal, large when disconnected)."""
    adjacency = np.zeros((num_atoms, num_atoms), dtype=bool)
    adjacency[bonds[:, 0], bonds[:, 1]] = adjacency[bonds[:, 1], bonds[:, 0]] = True
    distance = np.full((num_atoms, num_atoms), num_atoms + 1)
    np.fill_diagonal(distance, 0)
    reach = np.eye(num_atoms, dtype=bool)
    for d in range(1, num_atoms):
        frontier = (reach.astype(np.int64) @ adjacency.astype(np.int64) > 0) & ~reach
        if not frontier.any():
            break
        distance[frontier] = d
        reach |= frontier
    return distance


def simulate_synthetic_md(
    num_frames: int,
    temperature: float = 500.0,
    frame_fs: float = 0.5,
    substeps: int = 2,
    k_bond: float = 600.0,
    k_angle: float = 150.0,
    repulsion: tuple[float, float] = (0.1, 2.5),
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """SYNTHETIC molecular dynamics of the 16-atom ring molecule with velocity Verlet.

    Potential (kcal/mol, Angstrom): ``sum_bonds k_bond/2 (r - r0)^2 + sum_{1-3 pairs} k_angle/2 (r - r0)^2
    + sum_{pairs >= 3 bonds apart} eps (sigma / r)^12`` with ``r0`` the equilibrium distances. Velocity Verlet
    with step ``frame_fs / substeps``; one frame is recorded every ``substeps`` steps.

    Returns
    -------
    R : (num_frames, 16, 3) positions in Angstrom; z : (16,) atomic numbers; E : (num_frames, 1) potential energy
    in kcal/mol; F : (num_frames, 16, 3) forces in kcal/mol/Angstrom.
    """
    rng = np.random.default_rng(seed)
    positions, z, bonds = _synthetic_molecule()
    num_atoms = len(z)
    graph_distance = _pair_tables(num_atoms, bonds)
    rest = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    stiffness = np.where(graph_distance == 1, k_bond, np.where(graph_distance == 2, k_angle, 0.0))
    eps, sigma = repulsion
    repel = np.where(graph_distance >= 3, eps, 0.0)
    mass = np.array([_MASS[int(k)] for k in z])[:, None]

    def energy_forces(x: np.ndarray) -> tuple[float, np.ndarray]:
        delta = x[:, None] - x[None]
        r = np.linalg.norm(delta, axis=-1) + np.eye(num_atoms)
        stretch = r - rest
        energy = 0.25 * np.sum(stiffness * stretch**2) + 0.5 * np.sum(repel * (sigma / r) ** 12)
        # dE/dr per pair; each unordered pair appears twice in the sums above, hence the factors 1/4 and 1/2.
        de_dr = stiffness * stretch - 12 * repel * (sigma / r) ** 12 / r
        forces = -np.sum((de_dr / r)[..., None] * delta, axis=1)
        return energy, forces

    scale = np.sqrt(_BOLTZMANN_KCAL_PER_MOL_K * temperature * _KCAL_PER_MOL_TO_AMU_A2_PER_FS2 / mass)
    velocity = rng.normal(size=(num_atoms, 3)) * scale
    velocity -= np.sum(mass * velocity, axis=0) / mass.sum()
    x = positions + rng.normal(0.0, 0.02, positions.shape)
    dt = frame_fs / substeps
    energy, forces = energy_forces(x)
    R = np.empty((num_frames, num_atoms, 3))
    E = np.empty((num_frames, 1))
    F = np.empty((num_frames, num_atoms, 3))
    to_acceleration = _KCAL_PER_MOL_TO_AMU_A2_PER_FS2 / mass
    for frame in range(num_frames):
        R[frame], E[frame], F[frame] = x, energy, forces
        for _ in range(substeps):
            velocity += 0.5 * dt * forces * to_acceleration
            x = x + dt * velocity
            energy, forces = energy_forces(x)
            velocity += 0.5 * dt * forces * to_acceleration
    return R, z, E, F


def write_md17_npz(
    path: str | Path,
    R: np.ndarray,
    z: np.ndarray,
    E: np.ndarray | None = None,
    F: np.ndarray | None = None,
    name: str = "synthetic",
    theory: str = "synthetic",
) -> Path:
    """Write an MD17-format ``.npz`` (``R``, ``z``, optional ``E`` and ``F``, ``name``, ``theory``) atomically."""
    arrays = {"R": np.asarray(R, dtype=np.float64), "z": np.asarray(z, dtype=np.uint8)}
    if E is not None:
        arrays["E"] = np.asarray(E, dtype=np.float64)
    if F is not None:
        arrays["F"] = np.asarray(F, dtype=np.float64)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, name=np.array(name), theory=np.array(theory))
    return atomic_write_bytes(Path(path), buffer.getvalue())


def write_synthetic_md17(path: str | Path, num_frames: int = 30000, seed: int = 0, **simulation: float) -> Path:
    """Simulate :func:`simulate_synthetic_md` and write it as an MD17 ``{molecule}_dft.npz`` (labelled synthetic).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> file = write_synthetic_md17(pathlib.Path(tempfile.mkdtemp()) / "synthetic_dft.npz", num_frames=10)
    >>> archive = np.load(file)
    >>> archive["R"].shape, archive["z"].tolist().count(1), str(archive["name"])
    ((10, 16, 3), 8, 'synthetic')
    """
    R, z, E, F = simulate_synthetic_md(num_frames, seed=seed, **simulation)  # type: ignore[arg-type]
    return write_md17_npz(path, R, z, E, F, name="synthetic", theory="synthetic: springs + repulsion, velocity Verlet")
