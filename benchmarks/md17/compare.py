"""Equal-budget comparison of CG-EGNN, CGENN and EGNN on the SYNTHETIC MD17 stand-in, both protocols.

``python -m benchmarks.md17.compare [--protocols gmn eqmotion] [--max-steps N]`` reads the model sections of
``benchmarks/configs/md17/{protocol}_{cgegnn,cgenn,egnn}.yaml``, trains each for the same number of optimizer
steps on the same synthetic trajectory (``synthetic_dft.npz``, 30,000 frames of a 16-atom ring molecule, 8 heavy
atoms), tests at the best validation MSE, and writes ``benchmarks/results/md17_synthetic.json``: MSE for the GMN
protocol, MSE, ADE and FDE for the EqMotion protocol. The data are SYNTHETIC (see ``clifford_egnn.data.synthetic``):
the numbers say how the models compare on this stand-in, not on MD17.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from benchmarks.clifford_common import build_class, read_config, run_comparison, static_baselines
from benchmarks.common import write_results
from benchmarks.md17 import MD17DataModule

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "md17"
MODELS = ("cgegnn", "cgenn", "egnn")
PROTOCOLS = {
    "gmn": "GMN: start frames from R[10000:-10000], 500 train / 499 val / 499 test (10/5/5 % capped), "
    "x(t), v(t) -> x(t + 3000), bonds < 1.6 A + 2-hop graph, MSE",
    "eqmotion": "EqMotion/CSMPN: contiguous 5:1:2 time split, windows of 20 frames 20 raw frames apart, "
    "10 in -> 10 out, ADE/FDE (input: last frame + 9 past displacements; output: 10 vector channels added to "
    "the last frame, our design)",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=list(PROTOCOLS))
    parser.add_argument("--max-steps", type=int, default=300, help="optimizer steps per model (equal budget)")
    parser.add_argument("--val-every", type=int, default=5, help="validate every this many epochs")
    parser.add_argument("--data-dir", default="benchmarks/data/md17_synthetic")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="md17_synthetic", help="results file name")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    payload: dict[str, object] = {
        "data": "SYNTHETIC molecular-dynamics stand-in for MD17 (clifford_egnn.data.synthetic: springs + "
        "repulsion, velocity Verlet, 30,000 frames 0.5 fs apart); not comparable with published MD17 numbers",
        "synthetic": True,
    }
    for protocol in args.protocols:
        configs = {name: read_config(CONFIGS / f"{protocol}_{name}.yaml") for name in args.models}
        first = configs[args.models[0]]
        data_args = {
            **first.get("data", {}),
            "data_dir": args.data_dir,
            "molecule": "synthetic",
            "synthetic": True,
        }

        def make_datamodule(data_args: dict[str, object] = data_args) -> MD17DataModule:
            return MD17DataModule(**data_args)  # type: ignore[arg-type]

        module_kwargs = {k: v for k, v in first["model"].items() if k != "model"}
        results = run_comparison(
            {name: (lambda c=c: build_class(c["model"]["model"])) for name, c in configs.items()},
            make_datamodule,
            max_steps=args.max_steps,
            val_every_n_epochs=args.val_every,
            module_kwargs=module_kwargs,
            log_name=f"{args.name}_{protocol}",
        )
        payload[protocol] = {
            "protocol": PROTOCOLS[protocol],
            "budget": {
                "optimizer_steps": args.max_steps,
                "batch_size": data_args.get("batch_size", 100),
                **module_kwargs,
            },
            "configs": {name: f"benchmarks/configs/md17/{protocol}_{name}.yaml" for name in configs},
            "models": {name: configs[name]["model"]["model"] for name in configs},
            "results": results,
            "learning_free_baselines": static_baselines(make_datamodule()),
        }
        write_results(args.name, payload)


if __name__ == "__main__":
    main()
