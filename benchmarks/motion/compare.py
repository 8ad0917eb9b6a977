"""Equal-budget comparison of CG-EGNN, CGENN and EGNN on the SYNTHETIC motion-capture stand-in.

``python -m benchmarks.motion.compare [--max-steps N]`` reads the model sections of
``benchmarks/configs/motion/{cgegnn,cgenn,egnn}.yaml`` (GMN hyperparameters), trains each for the same number of
optimizer steps on the same synthetic data (GMN protocol: 198 / 600 / 600 samples, target x(t + 30)), tests at
the best validation MSE, and writes ``benchmarks/results/motion_synthetic.json``. The data are SYNTHETIC (see
``clifford_egnn.data.synthetic``): the numbers say how the models compare on this stand-in, not on CMU motion
capture.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from benchmarks.clifford_common import build_class, read_config, run_comparison, static_baselines
from benchmarks.common import write_results
from benchmarks.motion import MotionDataModule

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "motion"
MODELS = ("cgegnn", "cgenn", "egnn")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=400, help="optimizer steps per model (equal budget)")
    parser.add_argument("--val-every", type=int, default=5, help="validate every this many epochs")
    parser.add_argument("--data-dir", default="benchmarks/data/motion_synthetic")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="motion_synthetic", help="results file name")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    configs = {name: read_config(CONFIGS / f"{name}.yaml") for name in args.models}
    first = configs[args.models[0]]
    data_args = {**first.get("data", {}), "data_dir": args.data_dir, "synthetic": True}

    def make_datamodule() -> MotionDataModule:
        return MotionDataModule(**data_args)

    module_kwargs = {k: v for k, v in first["model"].items() if k != "model"}
    results = run_comparison(
        {name: (lambda c=c: build_class(c["model"]["model"])) for name, c in configs.items()},
        make_datamodule,
        max_steps=args.max_steps,
        val_every_n_epochs=args.val_every,
        module_kwargs=module_kwargs,
        log_name=args.name,
    )
    write_results(
        args.name,
        {
            "data": "SYNTHETIC walking-skeleton stand-in for CMU motion capture (clifford_egnn.data.synthetic); "
            "not comparable with published CMU numbers",
            "synthetic": True,
            "protocol": "GMN: 198 train / 600 val / 600 test, x(t), v(t) -> x(t + 30), bones + 2-hop graph, MSE",
            "budget": {
                "optimizer_steps": args.max_steps,
                "batch_size": data_args.get("batch_size", 100),
                **module_kwargs,
            },
            "configs": {name: f"benchmarks/configs/motion/{name}.yaml" for name in configs},
            "models": {name: configs[name]["model"]["model"] for name in configs},
            "results": results,
            "learning_free_baselines": static_baselines(make_datamodule()),
        },
    )


if __name__ == "__main__":
    main()
