"""``python -m benchmarks.md17 fit --config benchmarks/configs/md17/gmn_cgegnn.yaml`` (LightningCLI)."""

from __future__ import annotations

from benchmarks.clifford_common import cli_main
from benchmarks.md17 import MD17DataModule


def main(args: list[str] | None = None) -> None:
    cli_main(MD17DataModule, args)


if __name__ == "__main__":
    main()
