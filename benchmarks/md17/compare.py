"""Equal-budget comparison of CG-EGNN, CGENN and EGNN on the SYNTHETIC MD17 stand-in, both protocols.

``python -m benchmarks.md17.compare`` reads ``benchmarks/configs/md17/{gmn,eqmotion}_{cgegnn,cgenn,egnn}.yaml``,
trains each model for the same number of optimizer steps with the same batch size, optimizer and data (the
synthetic trajectory ``synthetic_dft.npz``: 30,000 frames of a 16-atom ring molecule, 8 heavy atoms), tests at
the best validation MSE (GMN protocol) or FDE (EqMotion protocol), and writes
``benchmarks/results/md17_synthetic.json``. To fit the shared CPUs the budget is far below the papers' recipes
(recorded in the file). The data are SYNTHETIC (``clifford_egnn.data.synthetic``): the numbers compare the models
on this stand-in, not on MD17.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from benchmarks.clifford_common import compare_configs, static_baselines
from benchmarks.common import write_results
from benchmarks.md17 import MD17DataModule

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "md17"
MODELS = ("cgegnn", "cgenn", "egnn")
PROTOCOLS = {
    "gmn": (
        "GMN: start frames from R[10000:-10000] (seed 100), 500 train / 499 val / 499 test, x(t), v(t) -> "
        "x(t + 3000), bonds < 1.6 A + 2-hop pairs, MSE (test at best validation MSE)",
        "val/mse",
    ),
    "eqmotion": (
        "EqMotion/CSMPN: contiguous 5:1:2 time split, windows of 20 frames 20 raw frames apart, 10 in -> 10 out, "
        "loss ADE, ADE/FDE (test at best validation FDE); input = last frame + 9 past displacements, output = "
        "10 vector channels added to the last frame (our design)",
        "val/fde",
    ),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=list(PROTOCOLS))
    parser.add_argument("--max-steps", type=int, default=300, help="optimizer steps per model (equal budget)")
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--clifford-hidden", type=int, default=16, help="multivector channels of CG-EGNN/CGENN")
    parser.add_argument("--val-every", type=int, default=2, help="validate every this many epochs")
    parser.add_argument("--data-dir", default="benchmarks/data/md17_synthetic")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--name", default="md17_synthetic", help="results file name")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    payload: dict[str, object] = {
        "data": "SYNTHETIC molecular-dynamics stand-in for MD17 (clifford_egnn.data.synthetic: harmonic bonds and "
        "1-3 springs, soft repulsion, velocity Verlet, 30,000 frames 0.5 fs apart); not comparable with published "
        "MD17 numbers",
        "synthetic": True,
        "budget": {
            "optimizer_steps": args.max_steps,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "clifford_hidden": args.clifford_hidden,
            "validate_every_epochs": args.val_every,
            "torch_threads": args.threads,
        },
    }
    data_overrides = {
        "data_dir": args.data_dir,
        "molecule": "synthetic",
        "synthetic": True,
        "batch_size": args.batch_size,
    }
    for protocol in args.protocols:
        description, monitor = PROTOCOLS[protocol]
        outcome = compare_configs(
            {name: CONFIGS / f"{protocol}_{name}.yaml" for name in args.models},
            MD17DataModule,
            max_steps=args.max_steps,
            val_every_n_epochs=args.val_every,
            data_overrides=data_overrides,
            module_overrides={"lr": args.lr},
            clifford_hidden=args.clifford_hidden,
            log_name=f"{args.name}_{protocol}",
            monitor=monitor,
        )
        baseline_data = {**data_overrides, "protocol": protocol}
        payload[protocol] = {
            "protocol": description,
            **outcome,
            "learning_free_baselines": static_baselines(MD17DataModule(**baseline_data)),  # type: ignore[arg-type]
        }
        write_results(args.name, payload)


if __name__ == "__main__":
    main()
