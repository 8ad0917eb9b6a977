"""Small Transformer Zoo data sets: the protocol (epoch filter, accuracy cut-off, 70/15/15 split) and the loader
for the zoos this package generates (:mod:`transformer_nfn.zoo`).

Both this loader and :func:`transformer_nfn.data.load_release_zoo` return a :class:`TransformerZooDataset`:
stacked state-dict tensors plus the accuracy to predict, one entry per network.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["SPLITS", "TransformerZooDataset", "load_small_transformer_zoo", "protocol_indices"]

SPLITS = ("train", "val", "test")


def protocol_indices(
    accuracy: Sequence[float] | np.ndarray | torch.Tensor,
    cutoff: float = 0.0,
    split: str | None = None,
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
) -> np.ndarray:
    """Indices of the networks in ``split`` under the zoo protocol.

    The networks with ``accuracy >= cutoff`` are kept first, then shuffled with ``seed`` and cut into
    ``floor(0.7 n)`` train, ``floor(0.15 n)`` validation and the rest test. ``split=None`` returns all kept
    indices in the shuffled order. ``cutoff`` is a fraction in [0, 1] (0.2 for "20 percent").

    Examples
    --------
    >>> acc = np.linspace(0, 1, 20)
    >>> [len(protocol_indices(acc, 0.0, s)) for s in ("train", "val", "test")]
    [14, 3, 3]
    >>> bool((acc[protocol_indices(acc, 0.5)] >= 0.5).all()), len(protocol_indices(acc, 0.5))
    (True, 10)
    """
    acc = np.asarray(accuracy, dtype=np.float64)
    if not 0.0 <= cutoff <= 1.0:
        raise ValueError(f"cutoff: expected an accuracy fraction in [0, 1] (0.2 = 20 percent), found {cutoff}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS} or None, found {split!r}")
    if abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"fractions: expected three non-negative numbers summing to 1, found {fractions}")
    kept = np.nonzero(acc >= cutoff)[0]
    rng = np.random.default_rng(seed)
    kept = kept[rng.permutation(len(kept))]
    if split is None:
        return kept
    n = len(kept)
    n_train, n_val = math.floor(fractions[0] * n), math.floor(fractions[1] * n)
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, n)}
    lo, hi = bounds[split]
    return kept[lo:hi]


class TransformerZooDataset(Dataset[tuple[dict[str, torch.Tensor], torch.Tensor]]):
    """Networks of a transformer zoo: stacked state-dict tensors and their test accuracies.

    Parameters
    ----------
    params:
        ``{state-dict key: (N, *shape)}`` (torch layout, the release's key names).
    accuracy:
        ``(N,)`` test accuracies in [0, 1] (the regression target).
    metadata:
        one dict per network (the run configuration, checkpoint epoch, file name, ...).

    ``ds[i]`` returns ``(state_dict, accuracy)``, a dict of tensors and a 0-d float tensor; the default
    ``DataLoader`` collation stacks these into ``({key: (B, *shape)}, (B,))``. :meth:`subset` selects networks.

    Examples
    --------
    >>> ds = TransformerZooDataset({"w": torch.zeros(3, 2, 2)}, torch.tensor([0.1, 0.5, 0.9]))
    >>> len(ds), ds[1][0]["w"].shape, float(ds[1][1])
    (3, torch.Size([2, 2]), 0.5)
    """

    def __init__(
        self,
        params: Mapping[str, torch.Tensor],
        accuracy: torch.Tensor,
        metadata: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        n = accuracy.shape[0]
        for key, value in params.items():
            if value.shape[0] != n:
                raise ValueError(f"params[{key!r}]: expected {n} networks along dim 0, found {value.shape[0]}")
        self.params = dict(params)
        self.accuracy = accuracy.to(torch.float32)
        self.metadata = list(metadata) if metadata is not None else [{} for _ in range(n)]
        if len(self.metadata) != n:
            raise ValueError(f"metadata: expected {n} entries, found {len(self.metadata)}")

    def __len__(self) -> int:
        return self.accuracy.shape[0]

    def __getitem__(self, index: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        return {k: v[index] for k, v in self.params.items()}, self.accuracy[index]

    def state_dict(self, index: int) -> dict[str, torch.Tensor]:
        """The ``index``-th network's state dict (loadable into the module it came from)."""
        return {k: v[index].clone() for k, v in self.params.items()}

    def subset(self, indices: Sequence[int] | np.ndarray | torch.Tensor) -> TransformerZooDataset:
        idx = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        return TransformerZooDataset(
            {k: v[idx] for k, v in self.params.items()},
            self.accuracy[idx],
            [self.metadata[i] for i in idx.tolist()],
        )

    def apply_protocol(self, cutoff: float = 0.0, split: str | None = None, seed: int = 0) -> TransformerZooDataset:
        """The networks of ``split`` after the accuracy cut-off (see :func:`protocol_indices`)."""
        return self.subset(protocol_indices(self.accuracy.numpy(), cutoff, split, seed))


def _select_epoch(ckpt_percent: np.ndarray, ckpt_epoch: np.ndarray, epoch: int | str, available: str) -> np.ndarray:
    if epoch == "last":
        return np.asarray(ckpt_percent == ckpt_percent.max(), dtype=bool)
    if isinstance(epoch, str) and epoch.startswith("epoch:"):
        return np.asarray(ckpt_epoch == int(epoch.split(":", 1)[1]), dtype=bool)
    mask = np.asarray(ckpt_percent == int(epoch), dtype=bool)
    if not mask.any():
        raise ValueError(f"epoch: expected one of the checkpoint percents {available}, found {epoch!r}")
    return mask


def load_small_transformer_zoo(
    root: str | Path,
    name: str = "mnist",
    epoch: int | str = 75,
    cutoff: float = 0.0,
    split: str | None = None,
    seed: int = 0,
    drop_nonfinite: bool = True,
) -> TransformerZooDataset:
    """Load a zoo generated by ``python -m transformer_nfn.zoo generate`` under the zoo protocol.

    Parameters
    ----------
    root, name:
        the zoo lives in ``<root>/<name>`` (``zoo_info.json`` and ``dataset/``; a zoo whose generation is
        still running is read from its finished ``chunks/``).
    epoch:
        which checkpoint, as a percentage of the training schedule on the spec's 100-epoch scale: ``75`` is the
        epoch-75-equivalent checkpoint (epoch 3 of the default 4). ``"last"`` takes the final one and
        ``"epoch:K"`` the checkpoint of epoch ``K`` of the shortened schedule.
    cutoff:
        keep networks with ``test_top1_accuracy >= cutoff`` (a fraction), applied before splitting.
    split:
        ``"train"``, ``"val"``, ``"test"`` (70/15/15 of the kept networks, shuffled with ``seed``) or ``None``.
    drop_nonfinite:
        drop networks whose weights diverged to inf/NaN (kept otherwise; they break most predictors).

    Returns
    -------
    TransformerZooDataset
        ``params`` hold every trainable tensor and the fixed ``embedding.pos_embedding`` buffer (so that
        ``ZooTransformer().load_state_dict(ds.state_dict(i))`` works); ``accuracy`` is ``test_top1_accuracy``.
    """
    import datasets

    from transformer_nfn.zoo.generate import INFO_FILE, iter_chunk_dirs, unflatten_params
    from transformer_nfn.zoo.model import sinusoidal_position_encoding
    from transformer_nfn.zoo.train import ZooArchitecture

    zoo_dir = Path(root) / name
    info_path = zoo_dir / INFO_FILE
    if not info_path.exists():
        raise FileNotFoundError(f"{info_path}: expected a zoo generated by `python -m transformer_nfn.zoo`")
    info = json.loads(info_path.read_text())
    arch = ZooArchitecture(**info["architecture"])
    datasets.disable_progress_bars()
    if (zoo_dir / "dataset").exists():
        ds = datasets.load_from_disk(str(zoo_dir / "dataset"))
    else:
        parts = [datasets.load_from_disk(str(p)) for p in iter_chunk_dirs(zoo_dir)]
        if not parts:
            raise FileNotFoundError(f"{zoo_dir}: expected dataset/ or chunks/chunk_*, found neither")
        ds = datasets.concatenate_datasets(parts)
    meta_cols = [c for c in ds.column_names if c != "params"]
    table = ds.select_columns(meta_cols).with_format("numpy")[:]
    percents = sorted({int(p) for p in table["ckpt_percent"]})
    mask = _select_epoch(table["ckpt_percent"], table["ckpt_epoch"], epoch, str(percents))
    if drop_nonfinite:
        mask &= table["finite"].astype(bool)
    rows = np.nonzero(mask)[0]
    if len(rows) == 0:
        raise ValueError(f"{zoo_dir}: no network matches epoch={epoch!r}")
    accuracy = np.asarray(table["test_top1_accuracy"], dtype=np.float64)[rows]
    chosen = protocol_indices(accuracy, cutoff, split, seed)
    rows = rows[chosen]
    flat = ds.select_columns(["params"]).select(rows.tolist()).with_format("numpy")["params"]
    flat = np.ascontiguousarray(flat, dtype=np.float32).reshape(len(rows), arch.num_params)
    params = unflatten_params(torch.as_tensor(flat), arch)
    pe = sinusoidal_position_encoding(arch.num_tokens, arch.embed_dim)
    params["embedding.pos_embedding"] = pe.expand(len(rows), *pe.shape)
    metadata = [
        {c: table[c][r].item() if hasattr(table[c][r], "item") else table[c][r] for c in meta_cols} for r in rows
    ]
    return TransformerZooDataset(params, torch.as_tensor(accuracy[chosen], dtype=torch.float32), metadata)
