"""DataModules over weight-space zoos: CNN zoos for generalisation prediction, INR zoos for classification and
editing. Batches are flat weight vectors ``(B, P)``; the LightningModules unflatten them to WeightSpaces."""

from __future__ import annotations

from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from magep_nfn.data import load_cnn_zoo, load_inr_zoo, load_small_cnn_zoo, split_indices
from weightspace_core import WeightSpace

__all__ = ["GeneralizationDataModule", "INRDataModule", "subsample"]


def subsample(n: int, max_networks: int | None, seed: int) -> np.ndarray:
    """A seeded random subset of ``range(n)`` of size ``max_networks`` (all if None), sorted."""
    if max_networks is None or max_networks >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, 11]).choice(n, max_networks, replace=False))


class _ZooDataModule(L.LightningDataModule):
    def __init__(self, batch_size: int, num_workers: int) -> None:
        super().__init__()
        self.batch_size, self.num_workers = batch_size, num_workers
        self.splits: dict[str, TensorDataset] = {}

    def _loader(self, split: str, shuffle: bool) -> DataLoader[Any]:
        if split not in self.splits:
            self.setup()
        return DataLoader(self.splits[split], batch_size=self.batch_size, shuffle=shuffle, num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader[Any]:
        return self._loader("train", True)

    def val_dataloader(self) -> DataLoader[Any]:
        return self._loader("val", False)

    def test_dataloader(self) -> DataLoader[Any]:
        return self._loader("test", False)


class GeneralizationDataModule(_ZooDataModule):
    """CNN weights -> test accuracy, the Small CNN Zoo protocol: one activation, final checkpoint, half of the
    networks for test and the rest 80/20 train/validation (seeded).

    Parameters
    ----------
    root:
        a zoo folder written by ``python -m magep_nfn.zoo cnn`` (``source="own"``) or a Small CNN Zoo release
        folder (``source="small_cnn_zoo"``, step 86).
    activation:
        ``"relu"`` or ``"tanh"``.
    max_networks:
        use a seeded random subset of this many networks (before splitting); None: all.
    allow_incomplete:
        accept an own zoo whose generation has not finished (the chunks present).
    max_abs_weight:
        drop networks with a weight larger than this in magnitude: diverged training runs whose weights reach
        1e19 are finite but overflow the polynomial layers' products in float32 (None keeps all).
    """

    def __init__(
        self,
        root: str = "benchmarks/data/magep/cnn_zoo",
        source: str = "own",
        activation: str = "relu",
        split_seed: int = 0,
        test_fraction: float = 0.5,
        val_fraction: float = 0.2,
        max_networks: int | None = None,
        allow_incomplete: bool = False,
        max_abs_weight: float | None = 1e3,
        batch_size: int = 64,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size, num_workers)
        if source not in ("own", "small_cnn_zoo"):
            raise ValueError(f"GeneralizationDataModule: expected source 'own' or 'small_cnn_zoo', found {source!r}")
        self.save_hyperparameters()
        self.num_networks = self.num_dropped = 0

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        h = self.hparams
        if h.source == "own":
            zoo = load_cnn_zoo(h.root, activation=h.activation, allow_incomplete=h.allow_incomplete)
        else:
            zoo = load_small_cnn_zoo(h.root, activation=h.activation)
        flat = zoo.weights.flatten()
        sane = np.ones(len(zoo), dtype=bool)
        if h.max_abs_weight is not None:
            sane = (flat.abs().amax(dim=1) <= h.max_abs_weight).numpy()
        self.num_dropped = int((~sane).sum())
        accuracy = zoo.metrics["test_accuracy"].to_numpy()[sane]
        flat = flat[torch.as_tensor(sane)]
        keep = subsample(len(flat), h.max_networks, h.split_seed)
        flat = flat[torch.as_tensor(keep)]
        target = torch.tensor(accuracy[keep], dtype=torch.float32)
        self.num_networks = len(keep)
        parts = split_indices(len(keep), h.split_seed, h.test_fraction, h.val_fraction)
        self.splits = {k: TensorDataset(flat[v], target[v]) for k, v in parts.items()}


class INRDataModule(_ZooDataModule):
    """SIREN weights -> class label (``task="classification"``) or -> dilated image (``task="editing"``), from a
    zoo written by ``python -m magep_nfn.zoo inr``; a seeded train/validation/test split of the digits.

    The split is by digit: every SIREN of a digit lies in the digit's split, so no image is seen in training and
    tested. Training uses the first ``train_copies`` SIRENs of each training digit (all the zoo has if None:
    NFN's augmentation by independently initialised copies); validation and test use copy 0 only, one SIREN per
    digit, whatever the zoo holds.

    ``standardize`` (classification only): divide every weight and bias tensor ``W^(i)``, ``b^(i)`` of every
    network by that tensor's root mean square over the training networks (:attr:`scales`). SIREN layers differ in
    scale by more than ten times (hidden weights about 0.02, first-layer weights about 0.3), which leaves the
    polynomial and pooled features of the weight-space models nearly constant across networks. One positive
    constant per tensor commutes with every permutation, scaling and sign, so every backbone keeps its symmetry.
    Editing keeps raw weights: its edited SIRENs are rendered.

    ``max_networks`` caps the number of digits (a seeded subset, each with its copies).
    """

    def __init__(
        self,
        root: str = "benchmarks/data/magep/inr_zoo",
        task: str = "classification",
        split_seed: int = 0,
        test_fraction: float = 0.2,
        val_fraction: float = 0.1,
        max_networks: int | None = None,
        train_copies: int | None = None,
        allow_incomplete: bool = False,
        batch_size: int = 64,
        num_workers: int = 0,
        standardize: bool = True,
    ) -> None:
        super().__init__(batch_size, num_workers)
        if task not in ("classification", "editing"):
            raise ValueError(f"INRDataModule: expected task 'classification' or 'editing', found {task!r}")
        if train_copies is not None and train_copies < 1:
            raise ValueError(f"INRDataModule: expected train_copies >= 1 or None, found {train_copies}")
        self.save_hyperparameters()
        self.num_networks = self.num_digits = self.train_copies_found = 0
        self.scales: list[float] | None = None
        self.scale_vector: torch.Tensor | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        h = self.hparams
        zoo = load_inr_zoo(h.root, allow_incomplete=h.allow_incomplete)
        copy = zoo.metrics["copy"].to_numpy()
        image = zoo.metrics["image_index"].to_numpy()
        digits = image[copy == 0]
        digits = digits[subsample(len(digits), h.max_networks, h.split_seed)]
        n = len(digits)
        perm = np.random.default_rng([h.split_seed, 12]).permutation(n)
        n_test, n_val = round(h.test_fraction * n), round(h.val_fraction * n)
        split_digits = {
            "test": digits[perm[:n_test]],
            "val": digits[perm[n_test : n_test + n_val]],
            "train": digits[perm[n_test + n_val :]],
        }
        max_copy = np.inf if h.train_copies is None else h.train_copies - 1
        rows = {
            k: np.flatnonzero(np.isin(image, v) & (copy <= (max_copy if k == "train" else 0)))
            for k, v in split_digits.items()
        }
        flat = zoo.weights.flatten()
        assert zoo.dilated is not None
        target = zoo.labels if h.task == "classification" else zoo.dilated.reshape(len(zoo), -1)
        self.num_networks = sum(len(r) for r in rows.values())
        self.num_digits = n
        self.train_copies_found = int(copy[rows["train"]].max()) + 1 if len(rows["train"]) else 0
        if h.standardize and h.task == "classification":
            self.scale_vector = self._tensor_scales(WeightSpace.unflatten(flat[rows["train"]], zoo.weights.spec))
            flat = flat / self.scale_vector
        self.splits = {k: TensorDataset(flat[r], target[r]) for k, r in rows.items()}

    def raw_weights(self, split: str) -> torch.Tensor:
        """The flat weights ``(N, P)`` of ``split`` as the zoo stores them (standardisation undone)."""
        flat = self.splits[split].tensors[0]
        return flat if self.scale_vector is None else flat * self.scale_vector

    def _tensor_scales(self, train: WeightSpace) -> torch.Tensor:
        """The root mean square of each weight and bias tensor over ``train``, broadcast to a flat ``(P,)``."""
        tensors = [*train.weights, *train.biases]
        rms = [float(t.double().pow(2).mean().sqrt()) for t in tensors]
        if not all(r > 0 for r in rms):
            raise ValueError(f"INRDataModule: a weight or bias tensor is zero in every training network: rms {rms}")
        self.scales = rms
        ones = train[:1].map(torch.ones_like)
        k = len(train.weights)
        scaled = WeightSpace(
            [w * r for w, r in zip(ones.weights, rms[:k])], [b * r for b, r in zip(ones.biases, rms[k:])]
        )
        return scaled.flatten()[0].to(train.weights[0].dtype)
