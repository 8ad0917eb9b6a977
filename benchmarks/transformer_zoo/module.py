"""LightningModule: predict a transformer's test accuracy from its weights (BCE, Kendall's tau)."""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from transformer_nfn import TransformerWeightSpace
from transformer_nfn.models import FlatMLPPredictor, STATNNPredictor, TransformerNFN, statnn_features

__all__ = ["PREDICTORS", "AccuracyPrediction", "build_predictor", "kendall_tau"]

PREDICTORS = ("transformer_nfn", "flat_mlp", "statnn")


def kendall_tau(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Kendall's tau-b between predictions and true accuracies (scipy); NaN when either is constant."""
    from scipy.stats import kendalltau

    return float(kendalltau(pred.detach().cpu().double().numpy(), target.detach().cpu().double().numpy()).statistic)


def build_predictor(name: str, example: TransformerWeightSpace, **kwargs: Any) -> nn.Module:
    """A predictor of ``transformer_nfn.models`` sized for the networks of ``example``.

    ``transformer_nfn``: :class:`TransformerNFN` (kwargs: ``hidden_dim``, ``hidden_channels``,
    ``invariant_features``, ``qk_rank``, ``classifier``, ``embedding``); ``flat_mlp``: :class:`FlatMLPPredictor`
    on every trainable weight; ``statnn``: :class:`STATNNPredictor` (kwargs of both: ``hidden``).
    """
    if name == "transformer_nfn":
        return TransformerNFN.for_weight_space(example, **kwargs)
    if name == "flat_mlp":
        return FlatMLPPredictor(example.flatten().shape[1], **kwargs)
    if name == "statnn":
        return STATNNPredictor(statnn_features(example).shape[1], **kwargs)
    raise ValueError(f"predictor: expected one of {PREDICTORS}, found {name!r}")


class AccuracyPrediction(L.LightningModule):
    """Train a weight-space predictor with BCE against test accuracy; log Kendall's tau on val and test.

    Parameters
    ----------
    predictor, predictor_kwargs:
        which model (:data:`PREDICTORS`) and its keyword arguments; it is built in :meth:`setup` from the data
        module's networks, so one config fits any zoo.
    lr, min_lr, warmup_epochs, weight_decay:
        Adam at ``lr``, linear warm-up over ``warmup_epochs`` then cosine decay to ``min_lr`` (the paper:
        1e-3, 1e-5, 10 of 100 epochs), stepped per batch.

    The module keeps the test predictions of its last test run in ``test_predictions`` / ``test_targets``.
    """

    def __init__(
        self,
        predictor: str = "transformer_nfn",
        predictor_kwargs: dict[str, Any] | None = None,
        lr: float = 1e-3,
        min_lr: float = 1e-5,
        warmup_epochs: int = 10,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__()
        if predictor not in PREDICTORS:
            raise ValueError(f"predictor: expected one of {PREDICTORS}, found {predictor!r}")
        self.save_hyperparameters()
        self.model: nn.Module | None = None
        self._outputs: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {"val": [], "test": []}
        self.test_predictions = torch.empty(0)
        self.test_targets = torch.empty(0)

    def setup(self, stage: str) -> None:
        if self.model is None:
            dm = self.trainer.datamodule  # type: ignore[attr-defined]
            self.model = build_predictor(self.hparams.predictor, dm.example(), **(self.hparams.predictor_kwargs or {}))

    def forward(self, ws: TransformerWeightSpace) -> torch.Tensor:
        if self.model is None:
            raise ValueError("AccuracyPrediction: the predictor is built in setup(); attach a datamodule first")
        return self.model(ws)

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        ws, acc = batch
        return ws.to(device), acc.to(device)

    def training_step(self, batch: tuple[TransformerWeightSpace, torch.Tensor], batch_idx: int) -> torch.Tensor:
        ws, acc = batch
        pred = self(ws).clamp(1e-6, 1 - 1e-6)
        loss = F.binary_cross_entropy(pred, acc)
        self.log("train_loss", loss, batch_size=len(acc), prog_bar=True)
        return loss

    def _eval_step(self, split: str, batch: tuple[TransformerWeightSpace, torch.Tensor]) -> None:
        ws, acc = batch
        pred = self(ws)
        self.log(f"{split}_loss", F.binary_cross_entropy(pred.clamp(1e-6, 1 - 1e-6), acc), batch_size=len(acc))
        self._outputs[split].append((pred.detach().cpu(), acc.detach().cpu()))

    def _eval_end(self, split: str) -> None:
        if not self._outputs[split]:
            return
        pred = torch.cat([p for p, _ in self._outputs[split]])
        target = torch.cat([t for _, t in self._outputs[split]])
        self._outputs[split] = []
        tau = kendall_tau(pred, target) if len(pred) > 1 else float("nan")
        self.log(f"{split}_tau", tau if math.isfinite(tau) else 0.0, prog_bar=True)
        if split == "test":
            self.test_predictions, self.test_targets = pred, target

    def validation_step(self, batch: tuple[TransformerWeightSpace, torch.Tensor], batch_idx: int) -> None:
        self._eval_step("val", batch)

    def on_validation_epoch_end(self) -> None:
        self._eval_end("val")

    def test_step(self, batch: tuple[TransformerWeightSpace, torch.Tensor], batch_idx: int) -> None:
        self._eval_step("test", batch)

    def on_test_epoch_end(self) -> None:
        self._eval_end("test")

    def configure_optimizers(self) -> Any:
        if self.model is None:
            raise ValueError("AccuracyPrediction: the predictor is built in setup(); attach a datamodule first")
        hp = self.hparams
        opt = torch.optim.Adam(self.model.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        epochs = max(1, self.trainer.max_epochs or 1)
        warmup = min(total - 1, round(total * hp.warmup_epochs / epochs)) if hp.warmup_epochs else 0
        floor = hp.min_lr / hp.lr

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = min(1.0, (step - warmup) / max(1, total - warmup))
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

        scheduler = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
