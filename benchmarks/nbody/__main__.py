"""``python -m benchmarks.nbody fit --config benchmarks/configs/nbody/cgegnn.yaml`` (LightningCLI)."""

from __future__ import annotations

from benchmarks.nbody import NBodyCLI, NBodyDataModule, NBodyRegression


def main(args: list[str] | None = None) -> NBodyCLI:
    """The n-body LightningCLI (seed 0 unless configured); returns the CLI object (trainer, model, data)."""
    return NBodyCLI(
        NBodyRegression,
        NBodyDataModule,
        seed_everything_default=0,
        args=args,
        save_config_kwargs={"overwrite": True},
    )


if __name__ == "__main__":
    main()
