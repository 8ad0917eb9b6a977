"""n-body data generation: the vectorised simulator against per-simulation loops, and the integrator's energy drift.

``python -m benchmarks.bench nbody_data`` generates the 7,000 simulations of the benchmark (3000 / 2000 / 2000,
5 particles, 5000 leapfrog steps) in one vectorised call, times two per-simulation loops on a subset in the same
run (our simulator called once per simulation, and a NumPy port of the reference generator's loop), extrapolates
them to 7,000, and reports the speed-ups and the energy drift between the first and the last recorded frame.
Writes ``benchmarks/results/nbody_data.json``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.common import write_results
from clifford_egnn.data.nbody import simulate, total_energy


def reference_numpy_simulation(rng: np.random.Generator, n: int = 5, steps: int = 5000, every: int = 100) -> np.ndarray:
    """One simulation as the reference ``ChargedParticlesSim.sample_trajectory`` loop does it (NumPy, (3, n))."""
    charges = rng.choice([-1.0, 1.0], size=(n, 1))
    edges = charges @ charges.T
    loc = rng.standard_normal((3, n))
    vel = rng.standard_normal((3, n))
    vel = vel * 0.5 / np.sqrt((vel**2).sum(0, keepdims=True))
    frames = []

    def force(x: np.ndarray) -> np.ndarray:
        diff = x[:, :, None] - x[:, None, :]
        dist3 = np.power((diff**2).sum(0), 1.5)
        np.fill_diagonal(dist3, 1.0)
        size = edges / dist3
        np.fill_diagonal(size, 0.0)
        return np.clip((size[None] * diff).sum(-1), -100.0, 100.0)

    vel = vel + 1e-3 * force(loc)
    for i in range(1, steps):
        loc = loc + 1e-3 * vel
        if i % every == 0:
            frames.append(loc.copy())
        vel = vel + 1e-3 * force(loc)
    return np.stack(frames)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-sims", type=int, default=7000)
    parser.add_argument("--loop-sims", type=int, default=20, help="simulations timed in each per-simulation loop")
    args = parser.parse_args(argv)

    start, cpu_start = time.perf_counter(), time.process_time()
    traj = simulate(args.num_sims, seed=0)
    vectorised_s, vectorised_cpu_s = time.perf_counter() - start, time.process_time() - cpu_start

    start = time.perf_counter()
    for s in range(args.loop_sims):
        simulate(1, seed=s)
    torch_loop_per_sim = (time.perf_counter() - start) / args.loop_sims

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(args.loop_sims):
        reference_numpy_simulation(rng)
    numpy_loop_per_sim = (time.perf_counter() - start) / args.loop_sims

    energy = total_energy(traj.positions, traj.velocities, traj.charges.unsqueeze(1))
    kinetic0 = 0.5 * (traj.velocities[:, 0] ** 2).sum((-1, -2))
    scale = kinetic0 + (energy[:, 0] - kinetic0).abs()
    relative = ((energy[:, -1] - energy[:, 0]).abs() / scale).numpy()
    payload = {
        "num_sims": args.num_sims,
        "setup": "5 particles, 3-d, 5000 leapfrog steps (dt 0.001), 49 frames, float64, one torch thread "
        "(simulate's default), 2-core machine shared with other jobs",
        "vectorised_s": round(vectorised_s, 2),
        "vectorised_cpu_s": round(vectorised_cpu_s, 2),
        "vectorised_ms_per_sim": 1e3 * vectorised_s / args.num_sims,
        "per_sim_loop": {
            "sims_timed": args.loop_sims,
            "torch_simulate_one_at_a_time_s_per_sim": torch_loop_per_sim,
            "numpy_reference_loop_s_per_sim": numpy_loop_per_sim,
            "extrapolated_torch_loop_s": torch_loop_per_sim * args.num_sims,
            "extrapolated_numpy_loop_s": numpy_loop_per_sim * args.num_sims,
        },
        "speedup_vs_torch_loop": torch_loop_per_sim * args.num_sims / vectorised_s,
        "speedup_vs_numpy_reference_loop": numpy_loop_per_sim * args.num_sims / vectorised_s,
        "under_2_minutes_wall": vectorised_s < 120,
        "energy_drift": {
            "definition": "|E(last frame) - E(first frame)| / (KE + |PE|)(first frame); velocities are half a step "
            "behind positions (leapfrog), and force clipping at +-100 is not conservative",
            "median": float(np.median(relative)),
            "p90": float(np.quantile(relative, 0.9)),
            "p99": float(np.quantile(relative, 0.99)),
            "max": float(relative.max()),
        },
    }
    path = write_results("nbody_data", payload)
    print(
        f"vectorised {vectorised_s:.1f} s for {args.num_sims} sims; per-sim loops {torch_loop_per_sim:.3f} s (torch), "
        f"{numpy_loop_per_sim:.3f} s (numpy reference); speed-ups {payload['speedup_vs_torch_loop']:.0f}x, "
        f"{payload['speedup_vs_numpy_reference_loop']:.0f}x; median relative energy drift "
        f"{payload['energy_drift']['median']:.2e}; wrote {path}"
    )


if __name__ == "__main__":
    main()
