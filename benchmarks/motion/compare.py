"""Equal-budget comparison of CG-EGNN, CGENN and EGNN on the SYNTHETIC motion-capture stand-in.

``python -m benchmarks.motion.compare`` reads ``benchmarks/configs/motion/{cgegnn,cgenn,egnn}.yaml``, trains each
model for the same number of optimizer steps with the same batch size, optimizer and data (GMN protocol: 198 /
600 / 600 samples, x(t), v(t) -> x(t + 30)), tests at the best validation MSE, and writes
``benchmarks/results/motion_synthetic.json``. To fit the shared CPUs the budget is far below GMN's recipe
(``--max-steps``, ``--batch-size``, ``--lr``, ``--clifford-hidden`` are recorded in the file). The data are
SYNTHETIC (``clifford_egnn.data.synthetic``): the numbers compare the models on this stand-in, not on CMU motion
capture.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from benchmarks.clifford_common import compare_configs, static_baselines
from benchmarks.common import write_results
from benchmarks.motion import MotionDataModule

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "motion"
MODELS = ("cgegnn", "cgenn", "egnn")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=300, help="optimizer steps per model (equal budget)")
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--clifford-hidden", type=int, default=16, help="multivector channels of CG-EGNN/CGENN")
    parser.add_argument("--val-every", type=int, default=3, help="validate every this many epochs")
    parser.add_argument("--data-dir", default="benchmarks/data/motion_synthetic")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--name", default="motion_synthetic", help="results file name")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data_overrides = {"data_dir": args.data_dir, "synthetic": True, "batch_size": args.batch_size}
    outcome = compare_configs(
        {name: CONFIGS / f"{name}.yaml" for name in args.models},
        MotionDataModule,
        max_steps=args.max_steps,
        val_every_n_epochs=args.val_every,
        data_overrides=data_overrides,
        module_overrides={"lr": args.lr},
        clifford_hidden=args.clifford_hidden,
        log_name=args.name,
        monitor="val/mse",
    )
    write_results(
        args.name,
        {
            "data": "SYNTHETIC walking-skeleton stand-in for CMU motion capture (clifford_egnn.data.synthetic); "
            "not comparable with published CMU numbers",
            "synthetic": True,
            "protocol": "GMN: 198 train / 600 val / 600 test, x(t), v(t) -> x(t + 30), bones + 2-hop pairs, "
            "MSE (test at best validation MSE)",
            "budget": {
                "optimizer_steps": args.max_steps,
                "batch_size": args.batch_size,
                "lr": args.lr,
                "clifford_hidden": args.clifford_hidden,
                "validate_every_epochs": args.val_every,
                "torch_threads": args.threads,
            },
            **outcome,
            "learning_free_baselines": static_baselines(MotionDataModule(**data_overrides)),
        },
    )


if __name__ == "__main__":
    main()
