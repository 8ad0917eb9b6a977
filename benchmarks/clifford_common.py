"""Lightning pieces shared by the clifford-egnn trajectory benchmarks (motion capture, MD17).

- :class:`GeometricRegression`: wraps any position-predicting graph model of ``clifford_egnn`` (the calling
  convention ``model(x, v, h, edge_index=, batch=, edge_attr=) -> (positions, scalars)``) and trains it on a
  position target, single-frame ``(N, 3)`` or multi-frame ``(N, F, 3)``; logs MSE, and ADE/FDE for multi-frame
  targets.
- :func:`run_comparison`: fits several model configurations on one data module at an equal budget (same data,
  batch size, optimizer and number of optimizer steps), tests each at its best validation epoch, and returns a
  JSON-ready summary.
- :func:`cli_main`: the ``LightningCLI`` entry point used by ``python -m benchmarks.motion`` and
  ``python -m benchmarks.md17``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningCLI
from torch import nn

from clifford_egnn.data.graphs import GraphBatch
from clifford_egnn.data.md17 import ade_fde
from clifford_egnn.models import EGNN, GraphOutput
from weightspace_core.scatter import scatter_mean

__all__ = ["GeometricRegression", "MultiFrameEGNN", "cli_main", "run_comparison"]

LOG_DIR = Path(__file__).resolve().parent / "logs"


class MultiFrameEGNN(EGNN):
    """EGNN with ``out_vectors`` position outputs per node, for multi-frame targets (our design).

    The :class:`~clifford_egnn.models.EGNN` trunk runs unchanged; a head then predicts frame ``f`` as

    .. math::
        x^{(f)}_i = x_i + \\frac{1}{|N(i)|} \\sum_j (x_i - x_j)\\, \\psi_f(h_i, h_j, \\|x_i - x_j\\|^2)
                    + \\sum_c \\phi_{f c}(h_i)\\, v_{ic}

    with ``x, h`` the trunk's final positions and features: EGNN's own coordinate and velocity updates with one
    output per frame, so the model stays E(n)- and permutation-equivariant. CG-EGNN gets the same output through
    its ``out_vectors`` argument (vector readout channels added to the positions).

    Shapes: as :class:`~clifford_egnn.models.EGNN`, but ``positions (N, out_vectors, n)``.

    Examples
    --------
    >>> model = MultiFrameEGNN(in_scalars=1, in_vectors=2, hidden=8, layers=1, out_vectors=4)
    >>> model(torch.randn(5, 3), torch.randn(5, 2, 3), torch.randn(5, 1)).positions.shape
    torch.Size([5, 4, 3])
    """

    def __init__(
        self,
        in_scalars: int,
        in_vectors: int,
        hidden: int = 64,
        layers: int = 4,
        out_vectors: int = 10,
        aggregation: str = "sum",
        dim: int = 3,
        edge_features: int = 0,
    ) -> None:
        super().__init__(in_scalars, in_vectors, hidden, layers, 0, aggregation, dim, edge_features)
        if out_vectors < 1:
            raise ValueError(f"MultiFrameEGNN: expected out_vectors >= 1, found {out_vectors}")
        self.out_vectors = out_vectors
        last = nn.Linear(hidden, out_vectors, bias=False)
        nn.init.xavier_uniform_(last.weight, gain=0.001)
        self.frame_coord_mlp = nn.Sequential(nn.Linear(2 * hidden + 1, hidden), nn.SiLU(), last)
        self.frame_velocity_mlp = nn.Sequential(
            nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, out_vectors * max(in_vectors, 1))
        )

    def forward(
        self,
        x: torch.Tensor,
        v: torch.Tensor,
        h: torch.Tensor,
        edge_index: torch.Tensor | None = None,
        batch: torch.Tensor | None = None,
        edge_attr: torch.Tensor | None = None,
    ) -> GraphOutput:
        hidden, x, edge_index = self.encode(x, v, h, edge_index, batch, edge_attr)
        row, col = edge_index
        diff = x[row] - x[col]
        radial = (diff * diff).sum(-1, keepdim=True)
        gates = self.frame_coord_mlp(torch.cat([hidden[row], hidden[col], radial], dim=-1))  # (E, F)
        shift = scatter_mean(gates.unsqueeze(-1) * diff.unsqueeze(1), row, x.shape[0])  # (N, F, n)
        if self.in_vectors:
            weights = self.frame_velocity_mlp(hidden).view(-1, self.out_vectors, self.in_vectors)
            shift = shift + torch.einsum("nfc,ncd->nfd", weights, v)
        return GraphOutput(x.unsqueeze(1) + shift, x.new_zeros(x.shape[0], 0))


class GeometricRegression(L.LightningModule):
    """Train a graph model to predict positions ``y`` from ``(x, v, h)`` on the batch's graph.

    Parameters
    ----------
    model : a ``clifford_egnn`` model (CGEGNN, EGNN, ...) whose first output is positions (N, 3) or (N, F, 3).
    lr, weight_decay : Adam (GMN's recipe: 5e-4 and 1e-10).
    loss : ``"mse"`` (mean squared coordinate error, GMN) or ``"ade"`` (mean Euclidean distance, EqMotion).
    """

    def __init__(self, model: nn.Module, lr: float = 5e-4, weight_decay: float = 1e-10, loss: str = "mse") -> None:
        super().__init__()
        if loss not in ("mse", "ade"):
            raise ValueError(f"loss: expected 'mse' or 'ade', found {loss!r}")
        self.save_hyperparameters(ignore=["model"])
        self.model = model

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        out = self.model(
            batch.x, batch.v, batch.h, edge_index=batch.edge_index, batch=batch.batch, edge_attr=batch.edge_attr
        )
        positions = out[0] if isinstance(out, tuple) else out
        if batch.y is not None and positions.shape != batch.y.shape:
            raise ValueError(
                f"model output: expected positions of the target's shape {tuple(batch.y.shape)}, found "
                f"{tuple(positions.shape)} (a multi-frame target needs one output vector channel per frame)"
            )
        return positions

    def _metrics(self, prediction: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        metrics = {"mse": torch.mean((prediction - target) ** 2)}
        if target.ndim == 3:
            metrics["ade"], metrics["fde"] = ade_fde(prediction, target)
        return metrics

    def training_step(self, batch: GraphBatch, batch_idx: int) -> torch.Tensor:
        prediction = self(batch)
        if self.hparams["loss"] == "mse":
            loss = torch.mean((prediction - batch.y) ** 2)
        else:
            loss = (prediction - batch.y).norm(dim=-1).mean()
        self.log("train/loss", loss, batch_size=batch.num_graphs, prog_bar=True)
        return loss

    def _evaluate(self, batch: GraphBatch, stage: str) -> None:
        for name, value in self._metrics(self(batch), batch.y).items():
            self.log(f"{stage}/{name}", value, batch_size=batch.num_graphs, prog_bar=name == "mse")

    def validation_step(self, batch: GraphBatch, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: GraphBatch, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams["lr"], weight_decay=self.hparams["weight_decay"])


def run_comparison(
    candidates: dict[str, tuple[Callable[[], nn.Module], Callable[[], L.LightningDataModule]]],
    max_steps: int,
    val_every_n_epochs: int = 1,
    seed: int = 0,
    module_kwargs: dict[str, dict[str, Any]] | None = None,
    log_name: str = "comparison",
    monitor: str = "val/mse",
) -> dict[str, Any]:
    """Fit every candidate ``name: (build_model, make_datamodule)`` for the same ``max_steps`` optimizer steps;
    test each at its best validation ``monitor``. The data modules must serve the same samples (they may differ in the
    graph they hand the model, e.g. bonds only for a model that builds its own hop neighbourhoods).

    Returns ``{name: {"parameters", "steps", "best_checkpoint", "fit_seconds", "val/...", "test/..."}}``.
    """
    results: dict[str, Any] = {}
    for name, (build, make_datamodule) in candidates.items():
        L.seed_everything(seed, workers=True)
        module = GeometricRegression(build(), **(module_kwargs or {}).get(name, {}))
        datamodule = make_datamodule()
        checkpoint = ModelCheckpoint(monitor=monitor, mode="min", save_top_k=1)
        trainer = L.Trainer(
            max_steps=max_steps,
            max_epochs=-1,
            check_val_every_n_epoch=val_every_n_epochs,
            callbacks=[checkpoint],
            logger=L.pytorch.loggers.CSVLogger(LOG_DIR, name=f"{log_name}_{name}"),
            enable_progress_bar=False,
            enable_model_summary=False,
            accelerator="auto",
            devices=1,
            deterministic=True,
        )
        start = time.perf_counter()
        trainer.fit(module, datamodule=datamodule)
        fit_seconds = time.perf_counter() - start
        val_metrics = trainer.validate(module, datamodule=datamodule, ckpt_path="best", verbose=False)[0]
        test_metrics = trainer.test(module, datamodule=datamodule, ckpt_path="best", verbose=False)[0]
        results[name] = {
            "parameters": sum(p.numel() for p in module.model.parameters()),
            "steps": trainer.global_step,
            "best_checkpoint": Path(checkpoint.best_model_path).stem,
            "fit_seconds": round(fit_seconds, 1),
            **{k: float(v) for k, v in val_metrics.items()},
            **{k: float(v) for k, v in test_metrics.items()},
        }
        print(f"[{log_name}] {name}: {results[name]}", flush=True)
    return results


def cli_main(datamodule_class: type[L.LightningDataModule], args: list[str] | None = None) -> LightningCLI:
    """``LightningCLI`` over :class:`GeometricRegression` and ``datamodule_class`` (seed 0 unless configured)."""
    return LightningCLI(
        GeometricRegression,
        datamodule_class,
        seed_everything_default=0,
        args=args,
        save_config_kwargs={"overwrite": True},
    )


def read_config(path: str | Path) -> dict[str, Any]:
    """The ``model`` and ``data`` sections of a LightningCLI YAML config (for scripted comparisons)."""
    import yaml

    with open(path) as fh:
        config = yaml.safe_load(fh)
    if not isinstance(config, dict) or "model" not in config:
        raise ValueError(
            f"{path}: expected a LightningCLI config with a 'model' section, found {type(config).__name__}"
        )
    return config


def build_class(spec: dict[str, Any]) -> Any:
    """Instantiate ``{"class_path": "pkg.mod.Class", "init_args": {...}}`` as LightningCLI does."""
    import importlib

    module_name, _, class_name = spec["class_path"].rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(**spec.get("init_args", {}))


def static_baselines(datamodule: L.LightningDataModule, split: str = "test") -> dict[str, dict[str, float]]:
    """Metrics of two learning-free predictors on ``split``, to read the learned numbers against.

    ``static``: every future frame equals the input positions ``x``; ``constant_velocity``: ``x + k v_last``
    where ``k`` is the number of input-velocity steps to each target frame (``steps_per_frame`` from the data
    set: ``delta_frame`` for single-frame targets, ``1, 2, ..., F`` window steps for multi-frame targets).
    """
    datamodule.prepare_data()
    datamodule.setup("test")
    dataset = datamodule.datasets[split]  # type: ignore[attr-defined]
    target = dataset.target
    x = dataset.x
    last_velocity = dataset.v[:, :, -1]
    if target.ndim == 4:
        steps = torch.arange(1, target.shape[2] + 1, dtype=x.dtype)[None, None, :, None]
        static = x[:, :, None].expand_as(target)
        moving = x[:, :, None] + steps * last_velocity[:, :, None]
    else:
        static = x
        moving = x + float(getattr(datamodule, "velocity_steps", 1)) * last_velocity
    out = {}
    for name, prediction in (("static", static), ("constant_velocity", moving)):
        metrics = {f"{split}/mse": float(torch.mean((prediction - target) ** 2))}
        if target.ndim == 4:
            ade, fde = ade_fde(prediction, target)
            metrics[f"{split}/ade"], metrics[f"{split}/fde"] = float(ade), float(fde)
        out[name] = metrics
    return out


def compare_configs(
    configs: dict[str, Path],
    datamodule_class: type[L.LightningDataModule],
    max_steps: int,
    val_every_n_epochs: int,
    data_overrides: dict[str, Any],
    module_overrides: dict[str, Any],
    clifford_hidden: int | None,
    log_name: str,
    monitor: str,
) -> dict[str, Any]:
    """Run :func:`run_comparison` on LightningCLI configs with the same overrides for every model.

    ``clifford_hidden`` replaces the ``hidden`` width of the CG-EGNN/CGENN models (``None``: keep the config's).
    Returns the results plus, per model, the model, module and data settings actually used.
    """
    candidates, module_kwargs, used = {}, {}, {}
    for name, path in configs.items():
        config = read_config(path)
        spec = {
            "class_path": config["model"]["model"]["class_path"],
            "init_args": dict(config["model"]["model"]["init_args"]),
        }
        if clifford_hidden is not None and spec["class_path"].endswith("CGEGNN"):
            spec["init_args"]["hidden"] = clifford_hidden
        data_args = {**config.get("data", {}), **data_overrides}
        module_kwargs[name] = {**{k: v for k, v in config["model"].items() if k != "model"}, **module_overrides}
        candidates[name] = (
            lambda spec=spec: build_class(spec),
            lambda data_args=data_args: datamodule_class(**data_args),
        )
        used[name] = {
            "config": str(path.relative_to(path.parents[3])),
            "model": spec,
            "module": module_kwargs[name],
            "data": data_args,
        }
    results = run_comparison(
        candidates,
        max_steps=max_steps,
        val_every_n_epochs=val_every_n_epochs,
        module_kwargs=module_kwargs,
        log_name=log_name,
        monitor=monitor,
    )
    return {"settings": used, "results": results}


_RUN_KEYS = ("name", "command", "date", "environment")


def _merge_into(merged: dict[str, Any], part: dict[str, Any], where: str) -> None:
    for key, value in part.items():
        if key not in merged:
            merged[key] = value
        elif key in ("settings", "results"):
            overlap = set(merged[key]) & set(value)
            if overlap:
                raise ValueError(f"{where}{key}: expected each model in one part only, found {sorted(overlap)} twice")
            merged[key] = {**merged[key], **value}
        elif isinstance(value, dict) and isinstance(merged[key], dict) and ("results" in value or "gmn" in key):
            _merge_into(merged[key], value, f"{where}{key}.")
        elif merged[key] != value:
            raise ValueError(f"{where}{key}: expected the same value in every part (equal budget), found {value!r}")


def merge_results(name: str, parts: list[str]) -> Path:
    """Merge results files written by separate processes of one comparison into ``results/<name>.json``.

    Models (and protocols) run in parallel processes to fit the shared CPUs; every other field, the budget in
    particular, must agree across the parts. The parts' own command lines and dates are kept under ``parts``.
    """
    import json

    from benchmarks.common import RESULTS_DIR, write_results

    records = [json.loads((RESULTS_DIR / f"{part}.json").read_text()) for part in parts]
    merged: dict[str, Any] = {}
    for record in records:
        _merge_into(merged, {k: v for k, v in record.items() if k not in _RUN_KEYS}, "")
    merged["parts"] = [{k: record[k] for k in _RUN_KEYS if k in record} for record in records]
    return write_results(name, merged)


if __name__ == "__main__":
    import sys

    if len(sys.argv) < 4 or sys.argv[1] != "merge":
        raise SystemExit("usage: python -m benchmarks.clifford_common merge OUTPUT_NAME PART_NAME [PART_NAME ...]")
    print(merge_results(sys.argv[2], sys.argv[3:]))
