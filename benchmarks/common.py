"""Helpers shared by every benchmark: timing side by side, peak memory, and writing results JSON atomically."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parent.parent


def command_line(argv: list[str] | None = None) -> str:
    """The command that produced a result, as someone would retype it from the repository root.

    A script inside the repository run with ``python -m pkg.mod`` shows up in ``sys.argv[0]`` as its file path;
    it is written back as ``python -m pkg.mod`` so the recorded command does not depend on where the clone lives.
    """
    argv = list(sys.argv if argv is None else argv)
    script = Path(argv[0]).resolve() if argv and argv[0] else None
    if script is not None and script.suffix == ".py" and script.is_relative_to(REPO_ROOT):
        parts = list(script.relative_to(REPO_ROOT).with_suffix("").parts)
        if parts[-1] == "__main__":
            parts.pop()
        return shlex.join(["python", "-m", ".".join(parts), *argv[1:]])
    return shlex.join(["python", *argv])


def environment() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }


def write_results(name: str, payload: dict[str, Any], results_dir: Path | None = None) -> Path:
    """Write ``payload`` plus the command line and environment to ``results/<name>.json`` atomically.

    The file is written under a temporary name in the same folder and renamed, so a reader never sees half of
    it.
    """
    folder = RESULTS_DIR if results_dir is None else Path(results_dir)
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "name": name,
        "command": command_line(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "environment": environment(),
        **payload,
    }
    target = folder / f"{name}.json"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(record, fh, indent=2, sort_keys=False, default=float)
        fh.write("\n")
    os.replace(tmp, target)
    return target


def time_call(fn: Callable[[], Any], repeats: int = 20, warmup: int = 3) -> dict[str, float]:
    """Wall time of ``fn()`` in milliseconds: median, min and interquartile spread over ``repeats`` calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        samples.append((time.perf_counter() - start) * 1e3)
    quartiles = statistics.quantiles(samples, n=4) if len(samples) > 1 else [samples[0]] * 3
    return {
        "median_ms": statistics.median(samples),
        "min_ms": min(samples),
        "iqr_ms": quartiles[2] - quartiles[0],
        "repeats": repeats,
    }


def time_interleaved(
    fns: dict[str, Callable[[], Any]], repeats: int = 20, warmup: int = 3
) -> dict[str, dict[str, float]]:
    """Time several candidates side by side, interleaving their calls so drift in machine load hits all alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[key].append((time.perf_counter() - start) * 1e3)
    out = {}
    for key, s in samples.items():
        q = statistics.quantiles(s, n=4) if len(s) > 1 else [s[0]] * 3
        out[key] = {"median_ms": statistics.median(s), "min_ms": min(s), "iqr_ms": q[2] - q[0], "repeats": repeats}
    return out


def peak_memory_mb(fn: Callable[[], Any]) -> float:
    """Peak memory allocated during one call of ``fn``, in MiB, above what was live before it.

    On CUDA this is the caching allocator's peak. On CPU it replays torch's profiler memory records: every
    operator's own (self) allocations and frees in time order, whose running sum's maximum is the peak (an
    operator's internal temporaries that it frees before returning are not seen).
    """
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted(prof.events(), key=lambda e: e.time_range.start)
    current = peak = 0
    for e in events:
        current += e.self_cpu_memory_usage
        peak = max(peak, current)
    return peak / 2**20


def forward_backward(module: torch.nn.Module, *inputs: Any) -> Callable[[], None]:
    """A closure running forward, a sum of every output tensor, and backward."""

    def step() -> None:
        out = module(*inputs)
        leaves = out.tensors() if hasattr(out, "tensors") else (out if isinstance(out, (tuple, list)) else (out,))
        total = sum(t.float().sum() for t in leaves if isinstance(t, torch.Tensor))
        total.backward()
        module.zero_grad(set_to_none=True)

    return step


__all__ = [
    "RESULTS_DIR",
    "command_line",
    "environment",
    "forward_backward",
    "peak_memory_mb",
    "time_call",
    "time_interleaved",
    "write_results",
]
