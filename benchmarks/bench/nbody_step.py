"""One Adam step at CGENN's n-body size (100 graphs of 5 nodes, hidden 28, 3 layers): CGENN, CG-EGNN, EGNN.

``python -m benchmarks.bench nbody_step`` times forward + backward + Adam step of the three models side by side
(interleaved, so machine load hits all alike), profiles one step of each (time per operator), and writes
``benchmarks/results/nbody_step.json``. The 430 ms of the published CGENN implementation is the figure quoted
by the project's issue for this machine class; it was not re-measured here (that code is not installed).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from torch import nn

from benchmarks.common import time_interleaved, write_results
from clifford_egnn.data.graphs import complete_edge_index
from clifford_egnn.models import CGEGNN, EGNN

PUBLISHED_CGENN_MS = 430.0


def models() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {
        "cgenn (CGEGNN hops=1, no paths)": CGEGNN(1, 1, 28, 3, hops=1, path_features=False, edge_features=1),
        "cgegnn (hops=2, path features)": CGEGNN(1, 1, 28, 3, hops=2, path_features=True, edge_features=1),
        "egnn (hidden 64, 4 layers)": EGNN(1, 1, 64, 4, edge_features=1),
    }


def adam_step(model: nn.Module, graphs: int = 100, nodes: int = 5) -> Callable[[], None]:
    gen = torch.Generator().manual_seed(0)
    n = graphs * nodes
    batch = torch.arange(graphs).repeat_interleave(nodes)
    edge_index = complete_edge_index(batch)
    x, v = torch.randn(n, 3, generator=gen), torch.randn(n, 1, 3, generator=gen)
    h = torch.randn(n, 1, generator=gen).sign()
    edge_attr = h[edge_index[0]] * h[edge_index[1]]
    target = torch.randn(n, 3, generator=gen)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        positions = model(x, v, h, edge_index=edge_index, batch=batch, edge_attr=edge_attr).positions
        torch.mean((positions - target) ** 2).backward()
        optimizer.step()

    return step


def profile_step(step: Callable[[], None], rows: int = 12) -> list[dict[str, float | str | int]]:
    from torch.profiler import ProfilerActivity, profile

    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    return [
        {
            "op": e.key,
            "self_ms": round(e.self_cpu_time_total / 1e3, 2),
            "share": round(e.self_cpu_time_total / total, 3),
            "calls": e.count,
        }
        for e in events[:rows]
    ]


def cpu_time_per_step(step: Callable[[], None], repeats: int) -> float:
    """Process CPU time per step in ms: with one torch thread, close to the wall time of an unloaded core."""
    step()
    start = time.process_time()
    for _ in range(repeats):
        step()
    return 1e3 * (time.process_time() - start) / repeats


CGENN_NAME, CGEGNN_NAME = "cgenn (CGEGNN hops=1, no paths)", "cgegnn (hops=2, path features)"


def measure(threads: int, repeats: int) -> dict[str, object]:
    """Wall and process-CPU time per step of every model with ``threads`` torch threads, and the targets."""
    torch.set_num_threads(threads)
    candidates = models()
    steps = {name: adam_step(model) for name, model in candidates.items()}
    timings = time_interleaved(steps, repeats=repeats, warmup=3)
    cpu_ms = {name: cpu_time_per_step(step, repeats) for name, step in steps.items()}
    cgenn, cgegnn = timings[CGENN_NAME]["median_ms"], timings[CGEGNN_NAME]["median_ms"]
    return {
        "threads": threads,
        "timings_wall": timings,
        "cpu_ms_per_step": cpu_ms,
        "ratios_wall": {
            "cgenn_over_published": cgenn / PUBLISHED_CGENN_MS,
            "cgegnn_over_published": cgegnn / PUBLISHED_CGENN_MS,
            "cgegnn_over_cgenn": cgegnn / cgenn,
        },
        "targets_wall": {
            "cgenn_at_most_half_of_published": cgenn <= PUBLISHED_CGENN_MS / 2,
            "cgegnn_at_most_published": cgegnn <= PUBLISHED_CGENN_MS,
        },
        "profile_top_ops": {name: profile_step(step) for name, step in steps.items()} if threads == 1 else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2], help="torch thread counts to measure (2: both cores)"
    )
    args = parser.parse_args(argv)
    by_threads = {str(t): measure(t, args.repeats) for t in args.threads}
    payload = {
        "setup": "one Adam step (forward, MSE backward, optimizer step), 100 graphs x 5 nodes, complete graphs, "
        "float32, CPU; each thread count measured with the three models interleaved",
        "published_cgenn_ms": PUBLISHED_CGENN_MS,
        "published_cgenn_source": "figure quoted by the project's issue for this machine class, not re-measured; "
        "its thread count is not stated",
        "parameters": {name: sum(p.numel() for p in m.parameters()) for name, m in models().items()},
        "by_threads": by_threads,
        "note": "with one torch thread the process CPU time per step is close to the wall time on an idle core; "
        "check the load average in the environment block before trusting a wall time",
    }
    path = write_results("nbody_step", payload)
    for threads, result in by_threads.items():
        for name, t in result["timings_wall"].items():  # type: ignore[union-attr]
            cpu = result["cpu_ms_per_step"][name]  # type: ignore[index]
            print(
                f"{threads} thread(s) {name:36s} wall median {t['median_ms']:8.1f} ms (min {t['min_ms']:.1f}), "
                f"CPU {cpu:.1f} ms"
            )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
