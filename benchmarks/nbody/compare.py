"""Equal-budget n-body comparison of CG-EGNN (K = 2, path features), CGENN and EGNN on this CPU.

``python -m benchmarks.nbody.compare --max-steps 800`` generates the data set once (3000 / 2000 / 2000
simulations, seed 0), then trains the three configs of ``benchmarks/configs/nbody`` for the same number of
optimizer steps on the same data and batch size (each with its own published optimizer settings), CONCURRENTLY,
one process and one torch thread each, so that load on the shared machine hits all three alike. Each run tests
at its best validation checkpoint. Test MSE, best validation MSE and training throughput (graphs per second,
:class:`benchmarks.nbody.ThroughputMeter`) go to ``benchmarks/results/nbody.json`` (``--name``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import write_results
from benchmarks.nbody import NBodyDataModule

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "benchmarks" / "configs" / "nbody"
MODELS = ("cgegnn", "cgenn", "egnn")


def _read_metrics(path: Path) -> dict[str, Any]:
    with open(path) as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, Any] = {}
    val = [float(r["val/mse"]) for r in rows if r.get("val/mse")]
    throughput = [float(r["train/graphs_per_s_total"]) for r in rows if r.get("train/graphs_per_s_total")]
    test = [float(r["test/mse"]) for r in rows if r.get("test/mse")]
    out["best_val_mse"] = min(val) if val else None
    out["val_mse_curve"] = val
    out["train_graphs_per_s"] = throughput[-1] if throughput else None
    out["test_mse"] = test[-1] if test else None
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=800, help="optimizer steps per model (equal budget)")
    parser.add_argument("--val-every", type=int, default=5, help="validate every this many epochs")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--root", default="benchmarks/data/nbody")
    parser.add_argument("--num-train", type=int, default=3000)
    parser.add_argument("--num-eval", type=int, default=2000, help="validation and test simulations each")
    parser.add_argument("--name", default="nbody", help="results file name")
    parser.add_argument("--label", default="", help="free text stored in the results (e.g. why a budget was cut)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    NBodyDataModule(args.root, num_train=args.num_train, num_val=args.num_eval, num_test=args.num_eval).prepare_data()
    generation_s = time.perf_counter() - start

    tag = f"steps{args.max_steps}_{time.strftime('%Y%m%d_%H%M%S')}"
    log_dir = ROOT / "benchmarks" / "logs" / "nbody_compare"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    log_dir.mkdir(parents=True, exist_ok=True)
    commands = {}
    for name in args.models:
        command = [
            sys.executable,
            "-m",
            "benchmarks.nbody",
            "fit",
            "--config",
            str(CONFIGS / f"{name}.yaml"),
            "--data.root",
            args.root,
            "--data.num_train",
            str(args.num_train),
            "--data.num_val",
            str(args.num_eval),
            "--data.num_test",
            str(args.num_eval),
            "--trainer.max_steps",
            str(args.max_steps),
            "--trainer.check_val_every_n_epoch",
            str(args.val_every),
            "--trainer.enable_progress_bar",
            "false",
            "--trainer.logger.init_args.save_dir",
            str(log_dir),
            "--trainer.logger.init_args.version",
            tag,
            "--trainer.default_root_dir",
            str(log_dir),
        ]
        schedule = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())["model"]
        if schedule.get("warmup_steps") or schedule.get("decay_steps"):
            # CGENN's recipe (warm-up 1/64, cosine decay over the last quarter) scaled to this budget.
            command += [
                "--model.warmup_steps",
                str(args.max_steps // 64),
                "--model.decay_steps",
                str(args.max_steps // 4),
            ]
        commands[name] = command
    results: dict[str, Any] = {}
    exits: dict[str, tuple[int, float]] = {}
    with contextlib.ExitStack() as stack:
        procs = {}
        for name, command in commands.items():
            log_file = stack.enter_context((log_dir.parent / f"nbody_compare_{name}_{tag}.log").open("w"))
            procs[name] = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        t0 = time.time()
        while len(exits) < len(procs):
            for name, proc in procs.items():
                if name not in exits and proc.poll() is not None:
                    exits[name] = (proc.returncode, time.time() - t0)
            time.sleep(1.0)
    for name, (code, wall) in exits.items():
        config = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
        metrics_file = log_dir / name / tag / "metrics.csv"
        results[name] = {
            "exit_code": code,
            "wall_s": round(wall, 1),
            "config": f"benchmarks/configs/nbody/{name}.yaml",
            "model": config["model"]["model"],
            "optimizer": {k: v for k, v in config["model"].items() if k != "model"},
            **(_read_metrics(metrics_file) if metrics_file.exists() else {"error": f"no {metrics_file}"}),
        }
        print(f"[nbody] {name}: {results[name]}", flush=True)
    write_results(
        args.name,
        {
            "task": "n-body charged particles, 5 particles in 3-d: frame 30 -> positions at frame 40, MSE",
            "data": {
                "splits": [args.num_train, args.num_eval, args.num_eval],
                "seed": 0,
                "generation_s_this_run": round(generation_s, 1),
            },
            "budget": {
                "optimizer_steps_per_model": args.max_steps,
                "batch_size": 100,
                "validation_every_epochs": args.val_every,
                "test_at": "best validation checkpoint",
            },
            "conditions": "the three models trained concurrently, one process and one torch thread each, on a 2-core "
            "machine shared with other engineers' jobs: throughput numbers are noisy but measured under the same "
            "conditions",
            "label": args.label,
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
