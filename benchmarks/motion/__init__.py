"""CMU motion capture (GMN protocol) benchmark: data module and ``python -m benchmarks.motion`` LightningCLI.

Real data: put GMN's ``motion.pkl`` (https://github.com/hanjq17/GMN, ``spatial_graph/motion/``) in a folder and
pass it as ``--data.data_dir``. Offline: ``--data.synthetic true`` writes a SYNTHETIC walking-skeleton stand-in in
the same format to ``data_dir`` first (see :mod:`clifford_egnn.data.synthetic`); its numbers are not comparable
with any paper.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
from torch.utils.data import DataLoader

from clifford_egnn.data.motion import MOTION_FILE, MotionCaptureDataset
from clifford_egnn.data.synthetic import write_synthetic_motion

__all__ = ["MotionDataModule"]


class MotionDataModule(L.LightningDataModule):
    """GMN motion capture splits (198 / 600 / 600 samples), target ``x(t + delta_frame)``.

    Parameters
    ----------
    data_dir : folder holding ``motion.pkl``.
    synthetic : write the SYNTHETIC stand-in to ``data_dir`` when ``motion.pkl`` is missing (never overwrites).
    synthetic_seed : seed of the stand-in generator.
    batch_size : GMN: 100. max_train_samples : GMN: 200 (18 per trial, 198 in all).
    delta_frame : GMN: 30. max_hops : GMN: 2 (bones plus 2-hop pairs).
    """

    def __init__(
        self,
        data_dir: str = "benchmarks/data/motion",
        synthetic: bool = False,
        synthetic_seed: int = 0,
        batch_size: int = 100,
        max_train_samples: int = 200,
        delta_frame: int = 30,
        max_hops: int = 2,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.datasets: dict[str, MotionCaptureDataset] = {}

    @property
    def velocity_steps(self) -> int:
        """Frames between the input and the target, in units of the input velocity (for the baselines)."""
        return int(self.hparams["delta_frame"])

    def prepare_data(self) -> None:
        file = Path(self.hparams["data_dir"]) / MOTION_FILE
        if self.hparams["synthetic"] and not file.is_file():
            write_synthetic_motion(file, seed=self.hparams["synthetic_seed"])

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        caps = {"train": self.hparams["max_train_samples"], "val": 600, "test": 600}
        for split, cap in caps.items():
            self.datasets[split] = MotionCaptureDataset(
                self.hparams["data_dir"],
                split,
                max_samples=cap,
                delta_frame=self.hparams["delta_frame"],
                max_hops=self.hparams["max_hops"],
            )

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        dataset = self.datasets[split]
        return DataLoader(
            dataset,
            batch_size=self.hparams["batch_size"],
            shuffle=shuffle,
            drop_last=False,
            collate_fn=dataset.collate,
            num_workers=self.hparams["num_workers"],
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
