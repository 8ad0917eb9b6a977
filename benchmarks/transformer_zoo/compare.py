"""Kendall's tau of Transformer-NFN and every baseline at several accuracy cut-offs, same data and budget.

``python -m benchmarks.transformer_zoo.compare --root benchmarks/data/transformer_zoo --epochs 10``

For each cut-off, every neural predictor (Transformer-NFN, flat MLP, STATNN) is trained on the same split with
the same recipe and budget (BCE, Adam at ``--lr``, batch ``--batch-size``, ``--epochs`` epochs, 10% warm-up then
cosine to 1e-5); the test tau is read at the epoch of best validation tau. Gradient-boosted trees
(``HistGradientBoostingRegressor`` on the raw weights) are fitted on the same training networks. Writes
``benchmarks/results/transformer_zoo.json``, the predicted-vs-true scatter plot
(``transformer_zoo_scatter.png``, lowest cut-off) and the zoo's accuracy histogram
(``transformer_zoo_accuracy_hist.png``).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch

from benchmarks.common import RESULTS_DIR, write_results
from benchmarks.transformer_zoo.data import TransformerZooDataModule
from benchmarks.transformer_zoo.module import PREDICTORS, AccuracyPrediction, kendall_tau
from transformer_nfn.data import load_small_transformer_zoo
from transformer_nfn.models import GradientBoostedTreesPredictor

__all__ = ["main", "run"]

PREDICTOR_KWARGS: dict[str, dict[str, Any]] = {
    "transformer_nfn": {"hidden_dim": 100, "hidden_channels": 10, "invariant_features": 10},
    "flat_mlp": {"hidden": (256, 256)},
    "statnn": {"hidden": (256, 256)},
}
LABELS = {
    "transformer_nfn": "Transformer-NFN",
    "flat_mlp": "flat MLP",
    "statnn": "STATNN",
    "gbt": "gradient-boosted trees",
}


class BestValidationState(L.Callback):
    """Keeps a copy of the weights at the epoch of best validation tau (restored before testing)."""

    def __init__(self) -> None:
        self.best = -math.inf
        self.epoch = -1
        self.state: dict[str, torch.Tensor] | None = None

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        tau = float(trainer.callback_metrics.get("val_tau", torch.tensor(-math.inf)))
        if tau > self.best:
            self.best, self.epoch = tau, trainer.current_epoch
            self.state = copy.deepcopy(pl_module.state_dict())


def _fit_neural(name: str, dm: TransformerZooDataModule, args: argparse.Namespace) -> dict[str, Any]:
    L.seed_everything(args.seed, verbose=False)
    module = AccuracyPrediction(
        predictor=name,
        predictor_kwargs=PREDICTOR_KWARGS[name],
        lr=args.lr,
        min_lr=1e-5,
        warmup_epochs=max(1, round(0.1 * args.epochs)),
    )
    best = BestValidationState()
    trainer = L.Trainer(
        max_epochs=args.epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[best],
        deterministic=True,
        accelerator=args.accelerator,
        devices=1,
    )
    start = time.perf_counter()
    trainer.fit(module, datamodule=dm)
    seconds = time.perf_counter() - start
    if best.state is not None:
        module.load_state_dict(best.state)
    trainer.test(module, datamodule=dm, verbose=False)
    assert module.model is not None
    return {
        "test_tau": kendall_tau(module.test_predictions, module.test_targets),
        "best_val_tau": best.best,
        "best_epoch": best.epoch,
        "params": sum(p.numel() for p in module.model.parameters()),
        "train_seconds": seconds,
        "predictions": module.test_predictions.tolist(),
        "targets": module.test_targets.tolist(),
    }


def _fit_trees(dm: TransformerZooDataModule, args: argparse.Namespace) -> dict[str, Any]:
    (train_ws, train_acc), (test_ws, test_acc) = dm.splits["train"], dm.splits["test"]
    start = time.perf_counter()
    gbt = GradientBoostedTreesPredictor(features="raw", max_iter=args.tree_iters, random_state=args.seed)
    gbt.fit(train_ws, train_acc)
    pred = gbt.predict(test_ws).float().clamp(0, 1)
    return {
        "test_tau": kendall_tau(pred, test_acc),
        "train_seconds": time.perf_counter() - start,
        "predictions": pred.tolist(),
        "targets": test_acc.tolist(),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every predictor at every cut-off; returns the JSON payload (without writing it)."""
    rows: list[dict[str, Any]] = []
    for cutoff in args.cutoffs:
        dm = TransformerZooDataModule(
            root=str(args.root),
            name=args.name,
            epoch=args.epoch,
            cutoff=cutoff,
            batch_size=args.batch_size,
            seed=args.seed,
        )
        entry: dict[str, Any] = {"cutoff": cutoff}
        try:
            dm.setup("fit")
        except ValueError as err:
            entry["skipped"] = str(err)
            rows.append(entry)
            print(f"cutoff {cutoff}: skipped ({err})", flush=True)
            continue
        sizes = {s: len(dm.splits[s][1]) for s in ("train", "val", "test")}
        entry["sizes"] = sizes
        if min(sizes.values()) < args.min_networks:
            entry["skipped"] = f"fewer than {args.min_networks} networks in a split: {sizes}"
            rows.append(entry)
            print(f"cutoff {cutoff}: skipped ({entry['skipped']})", flush=True)
            continue
        entry["results"] = {}
        for name in args.predictors:
            result = _fit_trees(dm, args) if name == "gbt" else _fit_neural(name, dm, args)
            entry["results"][name] = result
            print(
                f"cutoff {cutoff} {LABELS[name]}: tau {result['test_tau']:.3f} ({result['train_seconds']:.0f} s)",
                flush=True,
            )
        rows.append(entry)
    return {
        "zoo": str(Path(args.root) / args.name),
        "zoo_info": json.loads((Path(args.root) / args.name / "zoo_info.json").read_text()),
        "zoo_complete": (Path(args.root) / args.name / "dataset").exists(),
        "epoch_percent": args.epoch,
        "budget": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "schedule": "10% linear warm-up, cosine to 1e-5, per step; test at best validation tau",
            "tree_iters": args.tree_iters,
            "seed": args.seed,
        },
        "predictor_kwargs": {
            k: {kk: list(vv) if isinstance(vv, tuple) else vv for kk, vv in v.items()}
            for k, v in PREDICTOR_KWARGS.items()
        },
        "rows": rows,
    }


def markdown_table(payload: dict[str, Any]) -> str:
    """The README table: one row per predictor, one column per cut-off (test Kendall tau)."""
    cutoffs = [r["cutoff"] for r in payload["rows"]]
    head = "| predictor | " + " | ".join(f"cut-off {round(100 * c)}%" for c in cutoffs) + " |"
    lines = [head, "|---" * (len(cutoffs) + 1) + "|"]
    names = [n for n in (*PREDICTORS, "gbt") if any(n in r.get("results", {}) for r in payload["rows"])]
    for name in names:
        cells = []
        for r in payload["rows"]:
            res = r.get("results", {}).get(name)
            cells.append(f"{res['test_tau']:.3f}" if res else "n/a")
        lines.append(f"| {LABELS[name]} | " + " | ".join(cells) + " |")
    sizes = []
    for r in payload["rows"]:
        s = r.get("sizes")
        sizes.append(f"{s['train']}/{s['val']}/{s['test']}" if s else "0")
    lines.append("| networks (train/val/test) | " + " | ".join(sizes) + " |")
    return "\n".join(lines)


def plots(payload: dict[str, Any], root: Path, name: str, out_dir: Path) -> list[str]:
    """Scatter of predicted vs true test accuracy (lowest cut-off run) and the zoo's accuracy histogram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    done = [r for r in payload["rows"] if "results" in r]
    if done:
        row = done[0]
        fig, axes = plt.subplots(1, len(row["results"]), figsize=(3.2 * len(row["results"]), 3.2), squeeze=False)
        for ax, (method, res) in zip(axes[0], row["results"].items()):
            ax.scatter(res["targets"], res["predictions"], s=6, alpha=0.6)
            lo = min(res["targets"] + res["predictions"])
            hi = max(res["targets"] + res["predictions"])
            ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
            ax.set_title(f"{LABELS[method]}\ntau = {res['test_tau']:.3f}", fontsize=9)
            ax.set_xlabel("true test accuracy")
        axes[0][0].set_ylabel("predicted")
        fig.suptitle(f"test split, cut-off {round(100 * row['cutoff'])}%", fontsize=9)
        fig.tight_layout()
        path = out_dir / "transformer_zoo_scatter.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(str(path))
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for epoch, label in ((75, "epoch-75-equivalent"), ("last", "last epoch")):
        acc = load_small_transformer_zoo(root, name, epoch=epoch, drop_nonfinite=False).accuracy.numpy()
        ax.hist(acc, bins=np.linspace(0, 1, 51), alpha=0.6, label=f"{label} (n={len(acc)})")
    ax.set_xlabel("test accuracy")
    ax.set_ylabel("networks")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out_dir / "transformer_zoo_accuracy_hist.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    written.append(str(path))
    return written


def accuracy_summary(root: Path, name: str) -> dict[str, Any]:
    """Spread of the zoo's accuracies at the epoch-75-equivalent checkpoint."""
    ds = load_small_transformer_zoo(root, name, epoch=75, drop_nonfinite=False)
    acc = ds.accuracy.numpy()
    finite = sum(bool(m["finite"]) for m in ds.metadata)
    return {
        "networks": len(acc),
        "finite": finite,
        "mean": float(acc.mean()),
        "std": float(acc.std()),
        "quantiles": {str(q): float(np.quantile(acc, q)) for q in (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)},
        "above": {str(c): int((acc >= c).sum()) for c in (0.2, 0.4, 0.6, 0.8)},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.transformer_zoo.compare", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("benchmarks/data/transformer_zoo"))
    parser.add_argument("--name", default="mnist")
    parser.add_argument("--epoch", type=int, default=75)
    parser.add_argument("--cutoffs", type=float, nargs="+", default=[0.0, 0.2, 0.4, 0.6, 0.8])
    parser.add_argument("--predictors", nargs="+", default=[*PREDICTORS, "gbt"], choices=[*PREDICTORS, "gbt"])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--tree-iters", type=int, default=100)
    parser.add_argument("--min-networks", type=int, default=5, help="skip a cut-off whose smallest split is smaller")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--accelerator", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--results-name", default="transformer_zoo")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--summary-only",
        action="store_true",
        help="only the zoo's accuracy spread and histogram, to <results-name>_accuracy.json (no training)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.summary_only:
        info_path = Path(args.root) / args.name / "zoo_info.json"
        summary = {
            "zoo": str(Path(args.root) / args.name),
            "zoo_complete": (Path(args.root) / args.name / "dataset").exists(),
            "zoo_info": json.loads(info_path.read_text()),
            "accuracy_spread": accuracy_summary(args.root, args.name),
            "plots": plots({"rows": []}, args.root, args.name, args.results_dir),
        }
        print(json.dumps(summary["accuracy_spread"], indent=2))
        print(f"wrote {write_results(args.results_name + '_accuracy', summary, results_dir=args.results_dir)}")
        return
    payload = run(args)
    payload["accuracy_spread"] = accuracy_summary(args.root, args.name)
    payload["table"] = markdown_table(payload)
    payload["plots"] = plots(payload, args.root, args.name, args.results_dir)
    path = write_results(args.results_name, payload, results_dir=args.results_dir)
    print(payload["table"])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
