"""``python -m benchmarks.magep <task> {fit,validate,test} --config benchmarks/configs/magep/<task>.yaml``.

Tasks: ``generalization`` (CNN weights -> test accuracy), ``inr_classification`` (SIREN weights -> digit),
``editing`` (SIREN weights -> weights rendering the dilated digit). The backbone is ``--model.backbone``.
"""

from __future__ import annotations

import sys
from typing import Any

from lightning.pytorch.cli import LightningCLI

from benchmarks.magep.data import GeneralizationDataModule, INRDataModule
from benchmarks.magep.modules import EditingModule, GeneralizationModule, INRClassificationModule

TASKS: dict[str, tuple[type, type]] = {
    "generalization": (GeneralizationModule, GeneralizationDataModule),
    "inr_classification": (INRClassificationModule, INRDataModule),
    "editing": (EditingModule, INRDataModule),
}


class _GeneralizationCLI(LightningCLI):
    def add_arguments_to_parser(self, parser: Any) -> None:
        parser.link_arguments("data.activation", "model.activation")


def main(args: list[str] | None = None) -> LightningCLI:
    """Run the LightningCLI of ``args[0]`` (a task name) on the remaining arguments."""
    args = list(sys.argv[1:] if args is None else args)
    if not args or args[0] not in TASKS:
        raise SystemExit(f"usage: python -m benchmarks.magep {{{','.join(TASKS)}}} fit --config FILE [...]")
    module, datamodule = TASKS[args[0]]
    cli_class = _GeneralizationCLI if args[0] == "generalization" else LightningCLI
    return cli_class(
        module, datamodule, args=args[1:], seed_everything_default=0, save_config_kwargs={"overwrite": True}
    )


if __name__ == "__main__":
    main()
