"""MD17 benchmark (GMN and EqMotion/CSMPN protocols): data module and ``python -m benchmarks.md17`` LightningCLI.

Real data: download ``{molecule}_dft.npz`` from http://quantum-machine.org/gdml/#datasets into a folder and pass
it as ``--data.data_dir`` with ``--data.molecule``. Offline: ``--data.synthetic true`` writes a SYNTHETIC
molecular-dynamics stand-in (``synthetic_dft.npz``, see :mod:`clifford_egnn.data.synthetic`) first; its numbers
are not comparable with any paper.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
from torch.utils.data import DataLoader

from clifford_egnn.data._graph import FixedGraphDataset
from clifford_egnn.data.md17 import MD17EqMotionDataset, MD17GMNDataset, md17_file
from clifford_egnn.data.synthetic import write_synthetic_md17

__all__ = ["MD17DataModule"]


class MD17DataModule(L.LightningDataModule):
    """MD17 splits of one molecule under the ``"gmn"`` or the ``"eqmotion"`` protocol.

    Parameters
    ----------
    data_dir, molecule : the file ``{data_dir}/{molecule}_dft.npz``.
    protocol : ``"gmn"`` (single frame, target ``x(t + delta_frame)``, caps 500 / 2000 / 2000) or ``"eqmotion"``
        (``past_frames`` in, ``future_frames`` out, windows ``frame_gap`` raw frames apart, caps 5000 / 2000 / 2000).
    synthetic : write the SYNTHETIC stand-in (``synthetic_frames`` frames) when the file is missing.
    max_train_samples : overrides the protocol's training cap (``None``: the protocol's).
    """

    def __init__(
        self,
        data_dir: str = "benchmarks/data/md17",
        molecule: str = "aspirin",
        protocol: str = "gmn",
        synthetic: bool = False,
        synthetic_frames: int = 30000,
        synthetic_seed: int = 0,
        batch_size: int = 100,
        max_train_samples: int | None = None,
        delta_frame: int = 3000,
        past_frames: int = 10,
        future_frames: int = 10,
        frame_gap: int = 20,
        max_hops: int = 2,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        if protocol not in ("gmn", "eqmotion"):
            raise ValueError(f"protocol: expected 'gmn' or 'eqmotion', found {protocol!r}")
        self.save_hyperparameters()
        self.datasets: dict[str, FixedGraphDataset] = {}

    @property
    def velocity_steps(self) -> int:
        """Raw frames between the input and a single-frame target, in units of the input velocity."""
        return int(self.hparams["delta_frame"])

    def prepare_data(self) -> None:
        file = md17_file(self.hparams["data_dir"], self.hparams["molecule"])
        if self.hparams["synthetic"] and not Path(file).is_file():
            write_synthetic_md17(file, num_frames=self.hparams["synthetic_frames"], seed=self.hparams["synthetic_seed"])

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        hp = self.hparams
        for split in ("train", "val", "test"):
            cap = hp["max_train_samples"] if split == "train" else None
            if hp["protocol"] == "gmn":
                self.datasets[split] = MD17GMNDataset(
                    hp["data_dir"], hp["molecule"], split, cap, delta_frame=hp["delta_frame"], max_hops=hp["max_hops"]
                )
            else:
                self.datasets[split] = MD17EqMotionDataset(
                    hp["data_dir"],
                    hp["molecule"],
                    split,
                    past_frames=hp["past_frames"],
                    future_frames=hp["future_frames"],
                    frame_gap=hp["frame_gap"],
                    stride=hp["frame_gap"],
                    max_samples=cap,
                    max_hops=hp["max_hops"],
                )

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        dataset = self.datasets[split]
        return DataLoader(
            dataset,
            batch_size=self.hparams["batch_size"],
            shuffle=shuffle,
            collate_fn=dataset.collate,
            num_workers=self.hparams["num_workers"],
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
