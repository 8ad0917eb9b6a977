"""n-body (charged particles) benchmark: data module, LightningModule and the LightningCLI entry point.

``python -m benchmarks.nbody fit --config benchmarks/configs/nbody/cgegnn.yaml`` generates the data set on first
use (3000 / 2000 / 2000 simulations under ``benchmarks/data/nbody``), trains with CSV logs and checkpoints under
``benchmarks/logs/nbody``, and tests at the best validation checkpoint after fitting. The same command with
``--trainer.accelerator gpu --trainer.devices 4 --trainer.strategy ddp`` (or ``--trainer.num_nodes``) runs on
several GPUs or nodes.
"""

from __future__ import annotations

import math
import time
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.cli import LightningCLI
from torch import nn
from torch.utils.data import DataLoader

from clifford_egnn.data.graphs import GraphBatch
from clifford_egnn.data.nbody import NBodyDataset, build_dataset, nbody_collate

__all__ = ["NBodyCLI", "NBodyDataModule", "NBodyRegression", "ThroughputMeter", "warmup_constant_cosine"]


class NBodyDataModule(L.LightningDataModule):
    """The EGNN / CGENN n-body task: frame 30 (positions, velocities, charges) -> positions at frame 40.

    Parameters
    ----------
    root:
        folder of generated data sets (created by :func:`clifford_egnn.data.nbody.build_dataset` in
        ``prepare_data`` when missing; generation is deterministic per ``seed``).
    seed, num_train, num_val, num_test, num_particles, dim:
        which data set (3000 / 2000 / 2000 simulations of 5 particles in 3-d by default).
    batch_size, num_workers:
        loader settings (batch 100 as CGENN).
    frame_in, frame_out:
        input and target frames.
    """

    def __init__(
        self,
        root: str = "benchmarks/data/nbody",
        seed: int = 0,
        num_train: int = 3000,
        num_val: int = 2000,
        num_test: int = 2000,
        num_particles: int = 5,
        dim: int = 3,
        batch_size: int = 100,
        num_workers: int = 0,
        frame_in: int = 30,
        frame_out: int = 40,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.datasets: dict[str, NBodyDataset] = {}

    def prepare_data(self) -> None:
        hp = self.hparams
        build_dataset(
            hp["root"], hp["seed"], hp["num_train"], hp["num_val"], hp["num_test"], hp["num_particles"], hp["dim"]
        )

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        hp = self.hparams
        counts = {"train": hp["num_train"], "val": hp["num_val"], "test": hp["num_test"]}
        for split, count in counts.items():
            self.datasets[split] = NBodyDataset(
                hp["root"], split, count, hp["num_particles"], hp["dim"], hp["seed"], hp["frame_in"], hp["frame_out"]
            )

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return DataLoader(
            self.datasets[split],
            batch_size=self.hparams["batch_size"],
            shuffle=shuffle,
            collate_fn=nbody_collate,
            num_workers=self.hparams["num_workers"],
            persistent_workers=self.hparams["num_workers"] > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)


def warmup_constant_cosine(step: int, total: int, warmup: int, decay: int) -> float:
    """CGENN's learning-rate factor: cosine warm-up from 0 to 1 over ``warmup`` steps, constant 1, then cosine
    decay to 0 over the last ``decay`` of ``total`` steps."""
    if warmup > 0 and step < warmup:
        return 0.5 * (1.0 - math.cos(math.pi * step / warmup))
    start = total - decay
    if decay > 0 and step >= start:
        return 0.5 * (1.0 + math.cos(math.pi * min(step - start, decay) / decay))
    return 1.0


class NBodyRegression(L.LightningModule):
    """Train a ``clifford_egnn`` graph model to predict the frame-40 positions; loss and metric: MSE.

    Parameters
    ----------
    model:
        any module with the forward ``model(x, v, h, edge_index=, batch=, edge_attr=) -> (positions, scalars)``.
    lr, weight_decay:
        Adam (CGENN: 4e-3 and 1e-4).
    warmup_steps, decay_steps:
        :func:`warmup_constant_cosine` over ``trainer.max_steps`` (0 disables either phase).
    """

    def __init__(
        self,
        model: nn.Module,
        lr: float = 4e-3,
        weight_decay: float = 1e-4,
        warmup_steps: int = 0,
        decay_steps: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["model"])
        self.model = model

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        out = self.model(
            batch.x, batch.v, batch.h, edge_index=batch.edge_index, batch=batch.batch, edge_attr=batch.edge_attr
        )
        return out[0]

    def training_step(self, batch: GraphBatch, batch_idx: int) -> torch.Tensor:
        loss = torch.mean((self(batch) - batch.y) ** 2)
        self.log("train/mse", loss, batch_size=batch.num_graphs, prog_bar=True)
        return loss

    def validation_step(self, batch: GraphBatch, batch_idx: int) -> None:
        mse = torch.mean((self(batch) - batch.y) ** 2)
        self.log("val/mse", mse, batch_size=batch.num_graphs, prog_bar=True, sync_dist=True)

    def test_step(self, batch: GraphBatch, batch_idx: int) -> None:
        mse = torch.mean((self(batch) - batch.y) ** 2)
        self.log("test/mse", mse, batch_size=batch.num_graphs, sync_dist=True)

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        optimizer = torch.optim.Adam(self.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])
        if hp["warmup_steps"] == 0 and hp["decay_steps"] == 0:
            return optimizer
        total = max(int(self.trainer.max_steps), 1)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: warmup_constant_cosine(step, total, hp["warmup_steps"], hp["decay_steps"])
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


class ThroughputMeter(Callback):
    """Training throughput in graphs per second: wall time from batch start to batch end (forward, backward,
    optimizer step), summed over training batches after the first ``skip``; logged as ``train/graphs_per_s``."""

    def __init__(self, skip: int = 5) -> None:
        self.skip = skip
        self.graphs = 0
        self.seconds = 0.0
        self._seen = 0
        self._start = 0.0

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._start = time.perf_counter()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._seen += 1
        if self._seen > self.skip:
            self.seconds += time.perf_counter() - self._start
            self.graphs += batch.num_graphs
        if self.seconds > 0:
            pl_module.log("train/graphs_per_s", self.graphs / self.seconds, batch_size=batch.num_graphs)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.logger is not None and self.seconds > 0:
            trainer.logger.log_metrics({"train/graphs_per_s_total": self.graphs_per_second}, step=trainer.global_step)

    @property
    def graphs_per_second(self) -> float:
        return self.graphs / self.seconds if self.seconds > 0 else float("nan")


class NBodyCLI(LightningCLI):
    """LightningCLI that tests at the best validation checkpoint right after ``fit``."""

    def after_fit(self) -> None:
        checkpoint = self.trainer.checkpoint_callback
        best = checkpoint.best_model_path if isinstance(checkpoint, ModelCheckpoint) else ""
        self.trainer.test(self.model, datamodule=self.datamodule, ckpt_path="best" if best else None)
