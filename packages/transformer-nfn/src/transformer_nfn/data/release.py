"""Loader for the public Small Transformer Zoo release (Tran et al., ICLR 2025).

Release layout::

    <root>/metadata/<name>.csv    one row per checkpoint: the run configuration, ``ckpt_epoch``, ``ckpt_file``
                                  and the accuracy (``test_top1_accuracy``; ``test_accuracy`` for AG-News)
    <root>/<name>/*.pt            one plain state dict per checkpoint (``embedding.conv1.weight``,
                                  ``encoder.{b}.attention.queries.weight``, ..., ``classifier.fc2.bias``)

Checkpoints are untrusted files: they are read with ``torch.load(..., weights_only=True)``, which refuses
anything but tensors and plain containers. A file that holds pickled code is refused with a ``ValueError``
(always: such a file is never skipped silently). A file that cannot be read (truncated, not a torch file) or
that is missing raises a ``ValueError``/``FileNotFoundError`` naming it, unless ``skip_corrupt=True``, in which
case it is reported with a warning and left out.
"""

from __future__ import annotations

import csv
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from transformer_nfn.data.zoo import TransformerZooDataset, protocol_indices

__all__ = ["ACCURACY_COLUMNS", "load_release_checkpoint", "load_release_zoo", "read_release_metadata"]

ACCURACY_COLUMNS = ("test_top1_accuracy", "test_accuracy")


def _convert(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def read_release_metadata(root: str | Path, name: str = "mnist") -> tuple[list[dict[str, Any]], str]:
    """Rows of ``<root>/metadata/<name>.csv`` (numbers converted) and the name of the accuracy column.

    Raises ``FileNotFoundError`` when the file is missing and ``ValueError`` when ``ckpt_epoch``,
    ``ckpt_file`` or an accuracy column (``test_top1_accuracy`` or ``test_accuracy``) is absent.
    """
    path = Path(root) / "metadata" / f"{name}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: expected the release's metadata file metadata/{name}.csv")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        columns = list(reader.fieldnames or [])
        rows = [{k: _convert(v) for k, v in row.items()} for row in reader]
    missing = [c for c in ("ckpt_epoch", "ckpt_file") if c not in columns]
    acc_col = next((c for c in ACCURACY_COLUMNS if c in columns), None)
    if missing or acc_col is None:
        want = [*missing, *([] if acc_col else ["test_top1_accuracy or test_accuracy"])]
        raise ValueError(f"{path}: expected columns {want}, found {columns}")
    return rows, acc_col


def load_release_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """One checkpoint as a plain state dict, read with ``weights_only=True``.

    Raises ``FileNotFoundError`` if it is missing, and ``ValueError`` naming the file if it holds pickled code
    (anything but tensors and plain containers), cannot be read, or is not a ``{str: Tensor}`` mapping.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: checkpoint file not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        message = str(err)
        if "GLOBAL" in message:
            # the weights-only unpickler met a reference to a class or function: pickled code, never executed
            detail = next((ln for ln in message.splitlines() if "GLOBAL" in ln), message)
            raise ValueError(
                f"{path}: refused: not a plain state dict, the file holds pickled code or objects ({detail.strip()}); "
                "re-save it as a dict of tensors"
            ) from err
        raise ValueError(f"{path}: corrupted checkpoint (cannot be unpickled with weights_only=True)") from err
    except Exception as err:
        # torch.load reports damaged files with many exception types (RuntimeError, EOFError, KeyError, ...)
        raise ValueError(f"{path}: corrupted checkpoint (torch.load failed: {type(err).__name__}: {err})") from err
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        found = type(obj).__name__ if not isinstance(obj, dict) else "a dict with non-tensor values"
        raise ValueError(f"{path}: expected a state dict (a dict of str -> Tensor), found {found}")
    return obj


def _resolve(root: Path, name: str, ckpt_file: str) -> Path:
    candidates = [root / name / ckpt_file, root / ckpt_file, root / name / Path(ckpt_file).name]
    return next((c for c in candidates if c.exists()), candidates[0])


def load_release_zoo(
    root: str | Path,
    name: str = "mnist",
    epoch: int | None = 75,
    cutoff: float = 0.0,
    split: str | None = None,
    seed: int = 0,
    skip_corrupt: bool = False,
) -> TransformerZooDataset:
    """Load the public release (or any directory in its format) under the zoo protocol.

    Parameters
    ----------
    root, name:
        ``<root>/metadata/<name>.csv`` and ``<root>/<name>/*.pt`` (``ckpt_file`` is looked up relative to
        ``<root>/<name>``, then ``<root>``).
    epoch:
        keep the rows with ``ckpt_epoch == epoch`` (the protocol: 75); ``None`` keeps every checkpoint.
    cutoff:
        keep networks with accuracy ``>= cutoff`` (a fraction in [0, 1]), applied before splitting.
    split:
        ``"train"``, ``"val"``, ``"test"`` (70/15/15 of the kept networks, shuffled with ``seed``) or ``None``.
    skip_corrupt:
        leave out (with a warning naming them) checkpoints that are missing or unreadable; by default the first
        one raises. Files with pickled code are always refused.

    Returns
    -------
    TransformerZooDataset
        ``params`` stack every key of the state dicts (all checkpoints must share keys and shapes);
        ``accuracy`` is the accuracy column; ``metadata`` holds the csv rows. Only the checkpoints of the
        requested split are read from disk.
    """
    root = Path(root)
    rows, acc_col = read_release_metadata(root, name)
    if epoch is not None:
        rows = [r for r in rows if r["ckpt_epoch"] == epoch]
        if not rows:
            raise ValueError(
                f"{root / 'metadata' / f'{name}.csv'}: expected rows with ckpt_epoch == {epoch}, found none"
            )
    accuracy = np.asarray([float(r[acc_col]) for r in rows], dtype=np.float64)
    if accuracy.size and np.nanmax(accuracy) > 1.0:
        # some metadata files give percentages: the protocol (and BCE) works with fractions
        accuracy = accuracy / 100.0
    chosen = protocol_indices(accuracy, cutoff, split, seed)
    state_dicts: list[dict[str, torch.Tensor]] = []
    kept: list[int] = []
    reference: dict[str, tuple[int, ...]] | None = None
    for i in chosen.tolist():
        path = _resolve(root, name, str(rows[i]["ckpt_file"]))
        try:
            sd = load_release_checkpoint(path)
        except FileNotFoundError as err:
            if not skip_corrupt:
                raise
            warnings.warn(f"skipping missing checkpoint: {err}", stacklevel=2)
            continue
        except ValueError as err:
            if not skip_corrupt or str(err).startswith(f"{path}: refused"):
                raise
            warnings.warn(f"skipping {err}", stacklevel=2)
            continue
        shapes = {k: tuple(v.shape) for k, v in sd.items()}
        if reference is None:
            reference = shapes
        elif shapes != reference:
            diff = sorted(set(shapes.items()) ^ set(reference.items()))
            raise ValueError(f"{path}: expected the keys and shapes of the first checkpoint, differing in {diff[:4]}")
        state_dicts.append(sd)
        kept.append(i)
    if not state_dicts:
        raise ValueError(f"{root}: no readable checkpoint for epoch={epoch}, cutoff={cutoff}, split={split!r}")
    params = {k: torch.stack([sd[k].to(torch.float32) for sd in state_dicts]) for k in state_dicts[0]}
    acc = torch.as_tensor(accuracy[kept], dtype=torch.float32)
    if not bool(torch.isfinite(acc).all()):
        raise ValueError(f"{root}: expected finite accuracies in column {acc_col}")
    return TransformerZooDataset(params, acc, [rows[i] for i in kept])
