"""LightningDataModule for transformer zoos under the zoo protocol."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader

from transformer_nfn import TransformerWeightSpace
from transformer_nfn.data import TransformerZooDataset, load_release_zoo, load_small_transformer_zoo

__all__ = ["TransformerZooDataModule", "WeightSpaceBatches"]


class WeightSpaceBatches:
    """Index collation: a list of network indices -> ``(TransformerWeightSpace batch, accuracies (B,))``."""

    def __init__(self, ws: TransformerWeightSpace, accuracy: torch.Tensor) -> None:
        self.ws, self.accuracy = ws, accuracy

    def __call__(self, indices: list[int]) -> tuple[TransformerWeightSpace, torch.Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return self.ws[idx], self.accuracy[idx]


def to_weight_space(ds: TransformerZooDataset, num_heads: int = 2) -> TransformerWeightSpace:
    """All networks of ``ds`` as one batched weight space (extras: embedding and classifier tensors)."""
    return TransformerWeightSpace.from_state_dicts([ds.state_dict(i) for i in range(len(ds))], num_heads=num_heads)


class TransformerZooDataModule(L.LightningDataModule):
    """Train/val/test splits of a transformer zoo as weight-space batches.

    Parameters
    ----------
    root, name:
        where the zoo is: ``<root>/<name>`` for a generated zoo (``source="generated"``), or the release layout
        ``<root>/metadata/<name>.csv`` + ``<root>/<name>/*.pt`` (``source="release"``).
    epoch:
        the checkpoint (75: the protocol's epoch-75 checkpoint; for generated zoos, 75 percent of the schedule).
    cutoff:
        keep networks with test accuracy ``>= cutoff`` (a fraction), before the 70/15/15 split.
    batch_size, seed, num_heads:
        batch size (the paper: 16), the split's shuffling seed, heads per attention layer.
    """

    def __init__(
        self,
        root: str = "benchmarks/data/transformer_zoo",
        name: str = "mnist",
        source: str = "generated",
        epoch: int = 75,
        cutoff: float = 0.0,
        batch_size: int = 16,
        seed: int = 0,
        num_heads: int = 2,
    ) -> None:
        super().__init__()
        if source not in ("generated", "release"):
            raise ValueError(f"source: expected 'generated' or 'release', found {source!r}")
        self.save_hyperparameters()
        self.splits: dict[str, tuple[TransformerWeightSpace, torch.Tensor]] = {}

    def _load(self, split: str) -> TransformerZooDataset:
        hp = self.hparams
        loader = load_small_transformer_zoo if hp.source == "generated" else load_release_zoo
        return loader(Path(hp.root), hp.name, epoch=hp.epoch, cutoff=hp.cutoff, split=split, seed=hp.seed)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        for split in ("train", "val", "test"):
            ds = self._load(split)
            if len(ds) == 0:
                raise ValueError(
                    f"{self.hparams.root}/{self.hparams.name}: the {split} split is empty at cutoff "
                    f"{self.hparams.cutoff}; expected at least one network"
                )
            self.splits[split] = (to_weight_space(ds, self.hparams.num_heads), ds.accuracy)

    def example(self) -> TransformerWeightSpace:
        """A few training networks, to size the predictors."""
        self.setup()
        return self.splits["train"][0][torch.arange(min(2, len(self.splits["train"][1])))]

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        ws, acc = self.splits[split]
        generator = torch.Generator().manual_seed(self.hparams.seed)
        return DataLoader(
            list(range(len(acc))),
            batch_size=self.hparams.batch_size,
            shuffle=shuffle,
            collate_fn=WeightSpaceBatches(ws, acc),
            generator=generator if shuffle else None,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
