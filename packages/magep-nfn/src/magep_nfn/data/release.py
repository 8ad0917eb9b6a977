"""Loaders for the public release formats: the Small CNN Zoo and the NFN INR (SIREN) release.

Small CNN Zoo (Unterthiner et al. 2020), one folder per data set (e.g. ``mnist/``, ``cifar10/``):

- ``weights.npy``: ``(N, 4970)`` float32, row n the flattened TensorFlow variables of network-checkpoint n;
- ``metrics.csv.gz``: one row per row of ``weights.npy``: ``step``, ``test_accuracy``, ``config.activation``,
  ``config.learning_rate``, ``config.l2reg``, ``config.init_std``, ``config.dropout``,
  ``config.train_fraction``, ``config.optimizer``, ...;
- ``layout.csv``: ``varname, start_idx, end_idx, shape``: where each variable lies in a row, in TensorFlow
  layout (conv kernel ``(h, w, in, out)``, dense kernel ``(in, out)``, bias ``(out,)``).

The conversion to torch layout is ``W_conv = K.permute(3, 2, 0, 1)`` (``(out, in, h, w)``) and
``W_dense = K.T``; TensorFlow's 'valid' stride-2 convolution is then exactly ``torch.nn.Conv2d(stride=2)`` on
NCHW images, so the converted weights loaded into :class:`magep_nfn.zoo.SmallCNN` give the original logits.

NFN INR release (Zhou et al. 2023): a directory tree of SIREN state dicts (``*.pth``/``*.pt``), the image class
in the path (by default the first all-digit folder name below the root, e.g. ``3/1234/model_final.pth``).
"""

from __future__ import annotations

import csv
import gzip
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from weightspace_core import NetworkSpec, WeightSpace

__all__ = [
    "CNNZoo",
    "INRZoo",
    "LayoutEntry",
    "convert_tf_weights",
    "load_nfn_inr_directory",
    "load_small_cnn_zoo",
    "read_layout",
    "split_indices",
]

SMALL_CNN_FINAL_STEP = 86


@dataclass
class CNNZoo:
    """A zoo of CNNs: ``weights`` a WeightSpace ``(N, 1)`` in torch layout and ``metrics`` a pandas DataFrame
    with one row per network (same order), carrying the targets (``test_accuracy``) and the configuration."""

    weights: WeightSpace
    metrics: Any

    def __len__(self) -> int:
        return self.weights.batch_size


@dataclass
class INRZoo:
    """A zoo of INRs: ``weights`` ``(N, 1)``, integer ``labels (N,)``, a ``metrics`` DataFrame (one row per
    network), and for the project's own zoos the fitted ``images`` and editing targets ``dilated`` ``(N, H, W)``."""

    weights: WeightSpace
    labels: torch.Tensor
    metrics: Any
    images: torch.Tensor | None = None
    dilated: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.weights.batch_size


@dataclass(frozen=True)
class LayoutEntry:
    """One TensorFlow variable in a flattened row: ``row[start:end]`` reshaped to ``shape``."""

    varname: str
    start: int
    end: int
    shape: tuple[int, ...]


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the zoo loaders need pandas: pip install 'magep-nfn[zoo]'") from err
    return pandas


def read_layout(path: str | os.PathLike[str]) -> list[LayoutEntry]:
    """Parse a Small CNN Zoo ``layout.csv`` (columns ``varname, start_idx, end_idx, shape``), by start index.

    Raises ``FileNotFoundError`` if missing and ``ValueError`` if a column is missing, a shape does not parse, a
    variable's size disagrees with its index range, or the ranges leave gaps or overlap.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Small CNN Zoo layout: expected {path}")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    needed = {"varname", "start_idx", "end_idx", "shape"}
    found = set(rows[0]) if rows else set()
    if not rows or not needed <= found:
        raise ValueError(f"{path}: expected columns {sorted(needed)}, found {sorted(found)}")
    entries = []
    for row in rows:
        try:
            shape = tuple(int(s) for s in re.findall(r"\d+", row["shape"]))
            start, end = int(row["start_idx"]), int(row["end_idx"])
        except ValueError:
            raise ValueError(
                f"{path}: expected integer indices and a shape like '(3, 3, 1, 16)', found {row}"
            ) from None
        if end - start != int(np.prod(shape)):
            raise ValueError(
                f"{path}: variable {row['varname']!r} has shape {shape} ({int(np.prod(shape))} values) but index "
                f"range [{start}, {end}) ({end - start} values)"
            )
        entries.append(LayoutEntry(row["varname"], start, end, shape))
    entries.sort(key=lambda e: e.start)
    position = 0
    for e in entries:
        if e.start != position:
            raise ValueError(f"{path}: expected variable {e.varname!r} to start at {position}, found {e.start}")
        position = e.end
    return entries


def _layer_pairs(layout: Sequence[LayoutEntry]) -> list[tuple[LayoutEntry, LayoutEntry]]:
    """Pair each kernel with its bias (same name up to 'kernel'/'bias'), in the order of the kernels."""
    kernels: dict[str, LayoutEntry] = {}
    biases: dict[str, LayoutEntry] = {}
    order: list[str] = []
    for e in layout:
        match = re.match(r"^(.*?)(kernel|bias)(:\d+)?$", e.varname)
        if match is None:
            raise ValueError(f"layout: expected variable names ending in 'kernel' or 'bias', found {e.varname!r}")
        key = match.group(1)
        (kernels if match.group(2) == "kernel" else biases)[key] = e
        if key not in order:
            order.append(key)
    pairs = []
    for key in order:
        if key not in kernels or key not in biases:
            raise ValueError(f"layout: expected a kernel and a bias for layer {key!r}, found only one of them")
        pairs.append((kernels[key], biases[key]))
    pairs.sort(key=lambda p: p[0].start)
    return pairs


def convert_tf_weights(rows: np.ndarray | torch.Tensor, layout: Sequence[LayoutEntry]) -> WeightSpace:
    """Rows ``(N, P)`` of flattened TensorFlow variables to a WeightSpace ``(N, 1)`` in torch layout.

    Conv kernels ``(h, w, in, out)`` become ``(out, in, h, w)``; dense kernels ``(in, out)`` become
    ``(out, in)``; biases stay. Layers are ordered by the position of their kernels in a row.

    >>> layout = [LayoutEntry("dense/kernel:0", 0, 6, (3, 2)), LayoutEntry("dense/bias:0", 6, 8, (2,))]
    >>> ws = convert_tf_weights(np.arange(8.0)[None], layout)
    >>> ws.weights[0][0, 0].tolist(), ws.biases[0][0, 0].tolist()
    ([[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]], [6.0, 7.0])
    """
    rows = torch.as_tensor(np.asarray(rows))
    total = max(e.end for e in layout)
    if rows.ndim != 2 or rows.shape[1] != total:
        raise ValueError(f"convert_tf_weights: expected rows (N, {total}) for this layout, found {tuple(rows.shape)}")
    n = rows.shape[0]
    weights, biases = [], []
    for kernel, bias in _layer_pairs(layout):
        k = rows[:, kernel.start : kernel.end].reshape(n, *kernel.shape)
        if k.ndim == 5:
            w = k.permute(0, 4, 3, 1, 2)
        elif k.ndim == 3:
            w = k.transpose(1, 2)
        else:
            raise ValueError(
                f"layout: expected a 4-d conv or 2-d dense kernel for {kernel.varname!r}, found {kernel.shape}"
            )
        b = rows[:, bias.start : bias.end]
        if b.shape[1] != w.shape[1]:
            raise ValueError(
                f"layout: bias {bias.varname!r} has {b.shape[1]} values, expected {w.shape[1]} (the kernel's outputs)"
            )
        weights.append(w.contiguous()[:, None])
        biases.append(b.contiguous()[:, None])
    try:
        return WeightSpace(weights, biases)
    except ValueError as err:
        raise ValueError(f"layout does not describe a feed-forward CNN: {err}") from None


def split_indices(
    n: int, seed: int = 0, test_fraction: float = 0.5, val_fraction: float = 0.2
) -> dict[str, np.ndarray]:
    """The Small CNN Zoo protocol's split: ``test_fraction`` of the networks for test, the rest split
    ``1 - val_fraction`` / ``val_fraction`` into train / validation, by a seeded permutation.

    >>> {k: len(v) for k, v in split_indices(100).items()}
    {'train': 40, 'val': 10, 'test': 50}
    """
    perm = np.random.default_rng(seed).permutation(n)
    n_test = round(test_fraction * n)
    n_val = round(val_fraction * (n - n_test))
    return {
        "train": np.sort(perm[n_test + n_val :]),
        "val": np.sort(perm[n_test : n_test + n_val]),
        "test": np.sort(perm[:n_test]),
    }


def _finite_rows(ws: WeightSpace) -> torch.Tensor:
    return torch.stack([t.reshape(ws.batch_size, -1).isfinite().all(1) for t in ws.tensors()]).all(0)


def load_small_cnn_zoo(
    root: str | os.PathLike[str],
    step: int | None = SMALL_CNN_FINAL_STEP,
    activation: str | Sequence[str] | None = None,
    drop_nonfinite: bool = True,
    expected_spec: NetworkSpec | str | None = "16x1x3x3,16x16x3x3,16x16x3x3,10x16",
) -> CNNZoo:
    """Load (a selection of) a Small CNN Zoo release folder as a batched WeightSpace in torch layout.

    Parameters
    ----------
    root:
        folder with ``weights.npy``, ``metrics.csv.gz`` (or ``metrics.csv``) and ``layout.csv``.
    step:
        keep the checkpoints at this training step (the protocol's final checkpoint is 86); None keeps all.
    activation:
        keep networks whose ``config.activation`` is this (or one of these), e.g. ``"relu"``; None keeps all.
    drop_nonfinite:
        drop networks with a non-finite weight or ``test_accuracy``.
    expected_spec:
        the architecture the layout must describe (the 4,970-parameter Small CNN by default; None: any).

    Returns
    -------
    :class:`CNNZoo` with ``weights`` ``(N, 1)`` and ``metrics`` (pandas, one row per kept network, with a
    ``row`` column: its row in ``weights.npy``). ``weights.npy`` is memory-mapped: only the kept rows are read.

    Raises
    ------
    FileNotFoundError
        a file is missing.
    ValueError
        the files disagree (row counts, widths, layout, architecture) or a needed column is missing.
    """
    pd = _pandas()
    root = Path(root)
    wpath = root / "weights.npy"
    mpath = next((p for p in (root / "metrics.csv.gz", root / "metrics.csv") if p.is_file()), None)
    if not wpath.is_file():
        raise FileNotFoundError(f"Small CNN Zoo: expected {wpath}")
    if mpath is None:
        raise FileNotFoundError(f"Small CNN Zoo: expected {root / 'metrics.csv.gz'}")
    layout = read_layout(root / "layout.csv")
    try:
        weights = np.load(wpath, mmap_mode="r")
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{wpath}: expected a .npy array (N, P), found an unreadable file ({err})") from None
    try:
        metrics = pd.read_csv(mpath, compression="gzip" if mpath.suffix == ".gz" else None)
    except (OSError, EOFError, ValueError, gzip.BadGzipFile) as err:
        raise ValueError(f"{mpath}: expected a (gzipped) CSV table, found an unreadable file ({err})") from None
    width = max(e.end for e in layout)
    if weights.ndim != 2 or weights.shape[1] != width:
        raise ValueError(f"{wpath}: expected shape (N, {width}) as layout.csv describes, found {weights.shape}")
    if len(metrics) != weights.shape[0]:
        raise ValueError(
            f"{mpath}: expected one row per row of weights.npy ({weights.shape[0]}), found {len(metrics)} rows"
        )
    keep = np.ones(len(metrics), dtype=bool)
    if step is not None:
        if "step" not in metrics:
            raise ValueError(f"{mpath}: expected a 'step' column to select step {step}, found {list(metrics.columns)}")
        keep &= (metrics["step"] == step).to_numpy()
    if activation is not None:
        if "config.activation" not in metrics:
            raise ValueError(f"{mpath}: expected a 'config.activation' column, found {list(metrics.columns)}")
        wanted = [activation] if isinstance(activation, str) else list(activation)
        keep &= metrics["config.activation"].isin(wanted).to_numpy()
    rows = np.flatnonzero(keep)
    ws = convert_tf_weights(np.asarray(weights[rows], dtype=np.float32), layout)
    if expected_spec is not None:
        expected = NetworkSpec.parse(expected_spec) if isinstance(expected_spec, str) else expected_spec
        if ws.spec != expected:
            raise ValueError(f"{root / 'layout.csv'}: expected architecture '{expected}', found '{ws.spec}'")
    table = metrics.iloc[rows].reset_index(drop=True)
    table.insert(0, "row", rows)
    if drop_nonfinite:
        ok = _finite_rows(ws).numpy()
        if "test_accuracy" in table:
            ok &= np.isfinite(table["test_accuracy"].to_numpy(dtype=float))
        ws, table = ws[torch.as_tensor(ok)], table[ok].reset_index(drop=True)
    return CNNZoo(ws, table)


def _default_label(relative: Path) -> int:
    for part in relative.parts[:-1]:
        if part.isdigit():
            return int(part)
    raise ValueError(f"INR release: expected a folder named by the class label in the path, found {relative}")


def load_nfn_inr_directory(
    root: str | os.PathLike[str],
    spec: NetworkSpec | str = "32x2,32x32,1x32",
    label_from_path: Callable[[Path], int] | None = None,
    patterns: Sequence[str] = ("*.pth", "*.pt"),
) -> INRZoo:
    """Load a directory tree of SIREN state dicts (the NFN INR release) as a WeightSpace with labels.

    Parameters
    ----------
    root:
        top folder; every file matching ``patterns`` below it is one INR (sorted by path).
    spec:
        the SIREN architecture every state dict must have (``2 -> 32 -> 32 -> 1``).
    label_from_path:
        path relative to ``root`` -> class label; default: the first all-digit folder name.

    Returns
    -------
    :class:`INRZoo` with ``weights`` ``(N, 1)``, ``labels`` and ``metrics`` (``path``, ``label``). State dict
    entries other than ``*.weight``/``*.bias`` (buffers) are ignored; files load with ``weights_only=True``.
    """
    pd = _pandas()
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"INR release: expected a directory {root}")
    spec = NetworkSpec.parse(spec) if isinstance(spec, str) else spec
    files = sorted({p for pattern in patterns for p in root.rglob(pattern) if p.is_file()})
    if not files:
        raise FileNotFoundError(f"INR release: expected state dict files {list(patterns)} below {root}, found none")
    label_of = _default_label if label_from_path is None else label_from_path
    spaces, labels = [], []
    for path in files:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises several types for corrupt or foreign files
            raise ValueError(f"{path}: expected a torch state dict, found an unreadable file ({err})") from None
        if not isinstance(state, dict):
            raise ValueError(f"{path}: expected a state dict (mapping), found {type(state).__name__}")
        params = {k: v for k, v in state.items() if k.rsplit(".", 1)[-1] in ("weight", "bias")}
        try:
            spaces.append(WeightSpace.from_state_dict(params, spec).to(torch.float32))
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
        labels.append(label_of(path.relative_to(root)))
    metrics = pd.DataFrame({"path": [str(p.relative_to(root)) for p in files], "label": labels})
    return INRZoo(WeightSpace.stack(spaces), torch.tensor(labels), metrics)
