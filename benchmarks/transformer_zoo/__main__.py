"""``python -m benchmarks.transformer_zoo fit --config benchmarks/configs/transformer_zoo/transformer_nfn.yaml``."""

from __future__ import annotations

from lightning.pytorch.cli import LightningCLI

from benchmarks.transformer_zoo.data import TransformerZooDataModule
from benchmarks.transformer_zoo.module import AccuracyPrediction


def main(args: list[str] | None = None) -> LightningCLI:
    """LightningCLI over :class:`AccuracyPrediction` and :class:`TransformerZooDataModule` (seed 0 by default)."""
    return LightningCLI(
        AccuracyPrediction,
        TransformerZooDataModule,
        seed_everything_default=0,
        args=args,
        save_config_kwargs={"overwrite": True},
    )


if __name__ == "__main__":
    main()
