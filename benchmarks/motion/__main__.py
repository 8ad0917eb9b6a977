"""``python -m benchmarks.motion fit --config benchmarks/configs/motion/cgegnn.yaml`` (LightningCLI)."""

from __future__ import annotations

from benchmarks.clifford_common import cli_main
from benchmarks.motion import MotionDataModule


def main(args: list[str] | None = None) -> None:
    cli_main(MotionDataModule, args)


if __name__ == "__main__":
    main()
