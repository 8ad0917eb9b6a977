"""LightningModules for MAGEP-NFN's three tasks; the backbone (``magep``, ``monomial``, ``hnp``, ``np``,
``stat``, ``mlp``, and for the invariant tasks the variants ``magep_pooled`` and ``monomial_normalized``) is one
argument, so every model sees the same data, budget and protocol.

Each test epoch evaluates twice: on the test networks as they are, and on the same networks moved by a random
element of their symmetry group (per network: a random permutation of every hidden layer times random
positive scalings log-uniform in ``[1/augment_scale, augment_scale]`` for ReLU, or random signs for tanh and
sine networks). The networks' functions, hence the targets, are unchanged: an invariant (equivariant) model's
metrics must not move.
"""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import kendalltau

from magep_nfn.models import GeneralizationPredictor, INRClassifier, WeightEditor
from magep_nfn.zoo import siren_spec, small_cnn_spec, stacked_siren
from magep_nfn.zoo.inr import coordinate_grid
from weightspace_core import NetworkSpec, WeightSpace
from weightspace_core.groups import sample_monomial

__all__ = ["EditingModule", "GeneralizationModule", "INRClassificationModule", "augment"]


def augment(ws: WeightSpace, kind: str, scale: float, generator: torch.Generator) -> WeightSpace:
    """``ws`` moved by one random group element per network: ``"scale"`` (permutation x positive scaling in
    ``[1/scale, scale]``) or ``"sign"`` (permutation x signs)."""
    g = sample_monomial(
        ws.spec, kind, scale_range=(1.0 / scale, scale), num_elements=ws.batch_size, generator=generator
    )
    return g.act(ws)


class _WeightSpaceModule(L.LightningModule):
    spec: NetworkSpec
    kind: str

    def __init__(self, lr: float, weight_decay: float, augment_scale: float, seed: int) -> None:
        super().__init__()
        self.lr, self.weight_decay, self.augment_scale, self.seed = lr, weight_decay, augment_scale, seed
        self._outputs: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}

    def _ws(self, flat: torch.Tensor) -> WeightSpace:
        return WeightSpace.unflatten(flat, self.spec)

    def _augmented(self, flat: torch.Tensor, batch_idx: int) -> WeightSpace:
        gen = torch.Generator().manual_seed(self.seed * 100003 + batch_idx)
        return augment(self._ws(flat.double().cpu()), self.kind, self.augment_scale, gen).to(flat.dtype).to(flat.device)

    def _collect(self, key: str, pred: torch.Tensor, target: torch.Tensor) -> None:
        self._outputs.setdefault(key, []).append((pred.detach().cpu(), target.detach().cpu()))

    def _gather(self, key: str) -> tuple[torch.Tensor, torch.Tensor]:
        preds, targets = zip(*self._outputs.pop(key))
        return torch.cat(preds), torch.cat(targets)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        flat, target = batch
        self._collect("val", self.predict(self._ws(flat)), target)

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        flat, target = batch
        self._collect("test", self.predict(self._ws(flat)), target)
        self._collect("test_aug", self.predict(self._augmented(flat, batch_idx)), target)

    def on_validation_epoch_end(self) -> None:
        if "val" in self._outputs:
            for name, value in self.metrics(*self._gather("val")).items():
                self.log(f"val_{name}", value, prog_bar=True)

    def on_test_epoch_end(self) -> None:
        for split in ("test", "test_aug"):
            if split in self._outputs:
                for name, value in self.metrics(*self._gather(split)).items():
                    self.log(f"{split}_{name}", value)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def predict(self, ws: WeightSpace) -> torch.Tensor:
        raise NotImplementedError

    def metrics(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        raise NotImplementedError


class GeneralizationModule(_WeightSpaceModule):
    """Predict a CNN's test accuracy from its weights (:class:`magep_nfn.models.GeneralizationPredictor`).

    Loss: mean squared error of the sigmoid output; metric: Kendall tau (``val_tau``, ``test_tau``,
    ``test_aug_tau``), plus R^2. ``activation`` picks the group: ``"relu"`` -> scale, ``"tanh"`` -> sign.
    """

    def __init__(
        self,
        backbone: str = "magep",
        activation: str = "relu",
        hidden_channels: int = 8,
        num_layers: int = 1,
        invariant_features: int = 32,
        head_hidden: tuple[int, ...] = (64,),
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        augment_scale: float = 1e3,
        seed: int = 0,
    ) -> None:
        super().__init__(lr, weight_decay, augment_scale, seed)
        self.save_hyperparameters()
        if activation not in ("relu", "tanh"):
            raise ValueError(f"GeneralizationModule: expected activation 'relu' or 'tanh', found {activation!r}")
        self.spec = small_cnn_spec()
        self.kind = "scale" if activation == "relu" else "sign"
        self.model = GeneralizationPredictor(
            self.spec,
            backbone,
            hidden_channels=hidden_channels,
            num_layers=num_layers,
            invariant_features=invariant_features,
            head_hidden=tuple(head_hidden),
            group=self.kind,
            generator=torch.Generator().manual_seed(seed),
        )

    def predict(self, ws: WeightSpace) -> torch.Tensor:
        return self.model(ws)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        flat, target = batch
        loss = F.mse_loss(self.predict(self._ws(flat)), target)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def metrics(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        p, t = pred.double().numpy(), target.double().numpy()
        tau = kendalltau(p, t).statistic if np.isfinite(p).all() and p.std() > 0 else 0.0
        r2 = 1.0 - ((p - t) ** 2).sum() / max(((t - t.mean()) ** 2).sum(), 1e-12)
        return {"tau": float(tau), "r2": float(r2)}


class INRClassificationModule(_WeightSpaceModule):
    """Classify MNIST SIRENs from their weights (:class:`magep_nfn.models.INRClassifier`, sign group).

    Loss: cross-entropy; metric: accuracy (``val_acc``, ``test_acc``, ``test_aug_acc``).
    """

    def __init__(
        self,
        backbone: str = "magep",
        hidden_channels: int = 8,
        num_layers: int = 1,
        invariant_features: int = 32,
        head_hidden: tuple[int, ...] = (64,),
        dropout: float = 0.0,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        augment_scale: float = 1e3,
        seed: int = 0,
    ) -> None:
        super().__init__(lr, weight_decay, augment_scale, seed)
        self.save_hyperparameters()
        self.spec, self.kind = siren_spec(), "sign"
        self.model = INRClassifier(
            self.spec,
            10,
            backbone,
            hidden_channels=hidden_channels,
            num_layers=num_layers,
            invariant_features=invariant_features,
            head_hidden=tuple(head_hidden),
            dropout=dropout,
            generator=torch.Generator().manual_seed(seed),
        )

    def predict(self, ws: WeightSpace) -> torch.Tensor:
        return self.model(ws)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        flat, label = batch
        loss = F.cross_entropy(self.predict(self._ws(flat)), label)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def metrics(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        return {"acc": float((pred.argmax(-1) == target).float().mean())}


class EditingModule(_WeightSpaceModule):
    """Edit MNIST SIRENs so that they render the 3x3-dilated digit: ``U' = U + gamma NFN(U)``
    (:class:`magep_nfn.models.WeightEditor`, sign group). Loss and metric: pixel MSE of the rendered edited
    SIREN against the dilated image (``val_mse``, ``test_mse``, ``test_aug_mse``). ``stat`` cannot edit."""

    def __init__(
        self,
        backbone: str = "magep",
        hidden_channels: int = 8,
        num_layers: int = 2,
        gamma_init: float = 0.01,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        augment_scale: float = 1e3,
        image_size: int = 28,
        seed: int = 0,
    ) -> None:
        super().__init__(lr, weight_decay, augment_scale, seed)
        self.save_hyperparameters()
        self.spec, self.kind = siren_spec(), "sign"
        self.model = WeightEditor(
            self.spec,
            backbone,
            hidden_channels=hidden_channels,
            num_layers=num_layers,
            gamma_init=gamma_init,
            generator=torch.Generator().manual_seed(seed),
        )
        self.register_buffer("coords", coordinate_grid(image_size), persistent=False)

    def predict(self, ws: WeightSpace) -> torch.Tensor:
        """Rendered edited images ``(B, H*W)``."""
        edited = self.model(ws)
        params = [t[:, 0] for t in edited.tensors()]
        return stacked_siren(params, self.coords)[..., 0]

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        flat, target = batch
        loss = F.mse_loss(self.predict(self._ws(flat)), target)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def metrics(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        return {"mse": float(((pred - target) ** 2).mean())}
