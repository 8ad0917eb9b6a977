"""The MAGEP-NFN results tables: every backbone on every task, same data, same budget, one command.

    python -m benchmarks.magep.results --tasks generalization inr_classification editing
    python -m benchmarks.magep.results --tasks zoo      # only the zoo's accuracy spread (magep_zoo.json + plot)

Writes ``benchmarks/results/magep_generalization.json`` (Kendall tau on the ReLU and tanh subsets, plain and
scale-/sign-augmented test networks), ``magep_inr_classification.json`` (accuracy, plain and sign-augmented),
``magep_editing.json`` (pixel MSE, plain and augmented, and the MSE of the unedited SIRENs; both INR files get the
suffix ``_train_copies{K}`` when ``--train-copies K`` limits the SIRENs per training digit),
``magep_zoo.json`` with the accuracy histogram ``magep_zoo_accuracy.png``, and the predicted-vs-true scatter
``magep_generalization_scatter.png``. Model selection: the epoch with the best validation metric.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from benchmarks.common import RESULTS_DIR, write_results
from benchmarks.magep.data import GeneralizationDataModule, INRDataModule
from benchmarks.magep.modules import EditingModule, GeneralizationModule, INRClassificationModule
from magep_nfn.models import BACKBONES, VARIANT_BACKBONES

LOGS = Path(__file__).resolve().parents[1] / "logs" / "magep" / "results"
MONITOR = {
    "generalization": ("val_tau", "max"),
    "inr_classification": ("val_acc", "max"),
    "editing": ("val_mse", "min"),
}


def _fit_and_test(
    task: str, module: L.LightningModule, data: L.LightningDataModule, epochs: int, tag: str, logs: Path = LOGS
) -> tuple[dict[str, float], L.LightningModule]:
    monitor, mode = MONITOR[task]
    ckpt = ModelCheckpoint(
        dirpath=logs / tag, monitor=monitor, mode=mode, filename="best", enable_version_counter=False
    )
    trainer = L.Trainer(
        max_epochs=epochs,
        callbacks=[ckpt],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=logs,
        accelerator="auto",
        devices=1,
    )
    start = time.perf_counter()
    trainer.fit(module, datamodule=data)
    fit_s = time.perf_counter() - start
    out = trainer.test(module, datamodule=data, ckpt_path="best", verbose=False)[0]
    metrics = {k: float(v) for k, v in out.items()}
    metrics["best_" + monitor] = float(ckpt.best_model_score) if ckpt.best_model_score is not None else float("nan")
    metrics["fit_seconds"] = fit_s
    metrics["parameters"] = sum(p.numel() for p in module.parameters())
    return metrics, module


def _predictions(module: GeneralizationModule, data: GeneralizationDataModule) -> tuple[np.ndarray, np.ndarray]:
    module.eval()
    preds, targets = [], []
    with torch.no_grad():
        for flat, target in data.test_dataloader():
            preds.append(module.predict(module._ws(flat.to(module.device))).cpu())
            targets.append(target)
    return torch.cat(preds).numpy(), torch.cat(targets).numpy()


def _table(rows: dict[str, dict[str, float]], columns: list[tuple[str, str]], digits: int = 3) -> str:
    head = "| backbone | " + " | ".join(c for c, _ in columns) + " |"
    sep = "|---" * (len(columns) + 1) + "|"
    lines = [head, sep]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{m.get(k, float('nan')):.{digits}f}" for _, k in columns) + " |")
    return "\n".join(lines)


def zoo_report(root: str, allow_incomplete: bool, results_dir: Path = RESULTS_DIR) -> dict[str, Any]:
    """Accuracy spread of the CNN zoo (final checkpoint), per activation, with a histogram plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from magep_nfn.data import load_cnn_zoo
    from magep_nfn.zoo.generate import read_manifest

    zoo = load_cnn_zoo(root, allow_incomplete=allow_incomplete, drop_nonfinite=False)
    manifest = read_manifest(root)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    summary: dict[str, Any] = {"settings": manifest["settings"], "num_chunks": manifest["num_chunks"]}
    bins = np.linspace(0, 1, 41)
    for act in ("relu", "tanh"):
        acc = zoo.metrics.loc[zoo.metrics["config.activation"] == act, "test_accuracy"].to_numpy(dtype=float)
        finite = acc[np.isfinite(acc)]
        ax.hist(finite, bins=bins, alpha=0.6, label=f"{act} ({len(acc)} networks)")
        summary[act] = {
            "networks": len(acc),
            "diverged": int((~np.isfinite(acc)).sum()),
            "quantiles": dict(
                zip(
                    ("0", "0.1", "0.25", "0.5", "0.75", "0.9", "1"),
                    np.quantile(finite, [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1]).round(4).tolist(),
                )
            ),
            "mean": float(finite.mean()),
            "at_chance_(<=0.12)": float((finite <= 0.12).mean()),
            "histogram": {"bins": bins.round(3).tolist(), "counts": np.histogram(finite, bins)[0].tolist()},
        }
    ax.set_xlabel("test accuracy (final checkpoint)")
    ax.set_ylabel("networks")
    ax.set_title("MNIST Small-CNN zoo: spread of test accuracies")
    ax.legend()
    fig.tight_layout()
    fig.savefig(results_dir / "magep_zoo_accuracy.png", dpi=120)
    plt.close(fig)
    write_results("magep_zoo", summary, results_dir=results_dir)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.magep.results", description=__doc__)
    parser.add_argument("--tasks", nargs="+", default=["generalization", "inr_classification", "editing"])
    parser.add_argument(
        "--backbones",
        nargs="+",
        default=list(BACKBONES),
        choices=[*BACKBONES, *VARIANT_BACKBONES],
        help="the variants (magep_pooled, monomial_normalized) apply to the invariant tasks only",
    )
    parser.add_argument("--activations", nargs="+", default=["relu", "tanh"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--max-networks", type=int, default=None, help="seeded subset of each zoo (budget)")
    parser.add_argument("--hidden-channels", type=int, default=8)
    parser.add_argument(
        "--num-layers", type=int, default=None, help="equivariant layers (default: each task module's own)"
    )
    parser.add_argument(
        "--no-standardize",
        action="store_true",
        help="INR classification on raw weights (default: each tensor divided by its training RMS)",
    )
    parser.add_argument(
        "--train-copies",
        type=int,
        default=None,
        help="INR tasks: SIRENs per training digit (default: every copy the zoo holds; 1: no augmentation)",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--cnn-zoo", default="benchmarks/data/magep/cnn_zoo")
    parser.add_argument("--inr-zoo", default="benchmarks/data/magep/inr_zoo")
    parser.add_argument("--allow-incomplete", action="store_true", help="use the chunks of a zoo still generating")
    parser.add_argument("--augment-scale", type=float, default=1e3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON files and plots go")
    parser.add_argument("--logs-dir", type=Path, default=LOGS, help="checkpoints of the best epochs")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    budget = {
        "epochs": args.epochs,
        "max_networks": args.max_networks,
        "hidden_channels": args.hidden_channels,
        "num_layers": args.num_layers,
        "standardize_inr_inputs": not args.no_standardize,
        "inr_train_copies": args.train_copies,
        "batch_size": args.batch_size,
        "augment_scale": args.augment_scale,
        "seed": args.seed,
        "lr": args.lr,
    }
    common: dict[str, Any] = {
        "hidden_channels": args.hidden_channels,
        "augment_scale": args.augment_scale,
        "seed": args.seed,
        "lr": args.lr,
    }
    if args.num_layers is not None:
        common["num_layers"] = args.num_layers

    if "zoo" in args.tasks and "generalization" not in args.tasks:
        zoo_report(args.cnn_zoo, args.allow_incomplete, args.results_dir)
    if "generalization" in args.tasks:
        zoo = zoo_report(args.cnn_zoo, args.allow_incomplete, args.results_dir)
        results: dict[str, dict[str, dict[str, float]]] = {}
        scatter: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        sizes = {}
        for act in args.activations:
            results[act] = {}
            for backbone in args.backbones:
                L.seed_everything(args.seed, verbose=False)
                data = GeneralizationDataModule(
                    args.cnn_zoo,
                    activation=act,
                    max_networks=args.max_networks,
                    batch_size=args.batch_size,
                    allow_incomplete=args.allow_incomplete,
                    split_seed=args.seed,
                )
                module = GeneralizationModule(backbone, act, **common)
                metrics, module = _fit_and_test(
                    "generalization", module, data, args.epochs, f"gen_{act}_{backbone}", args.logs_dir
                )
                sizes[act] = {k: len(v) for k, v in data.splits.items()}
                sizes[act]["dropped_diverged"] = data.num_dropped
                results[act][backbone] = metrics
                print(f"generalization {act} {backbone}: {metrics}", flush=True)
                if backbone in ("magep", args.backbones[0]):
                    scatter[f"{act}/{backbone}"] = _predictions(module, data)
        suffix = "" if len(args.activations) > 1 else f"_{args.activations[0]}"
        _scatter_plot(scatter, suffix, args.results_dir)
        tables = {
            act: _table(
                rows,
                [
                    ("tau", "test_tau"),
                    ("tau (augmented)", "test_aug_tau"),
                    ("R^2", "test_r2"),
                    ("fit s", "fit_seconds"),
                ],
            )
            for act, rows in results.items()
        }
        write_results(
            f"magep_generalization{suffix}",
            {
                "budget": budget,
                "zoo": {
                    "root": args.cnn_zoo,
                    "splits": sizes,
                    "accuracy": {a: zoo[a]["quantiles"] for a in ("relu", "tanh")},
                },
                "results": results,
                "tables": tables,
            },
            results_dir=args.results_dir,
        )
    for task in ("inr_classification", "editing"):
        if task not in args.tasks:
            continue
        rows: dict[str, dict[str, float]] = {}
        extra: dict[str, Any] = {}
        # the suffix also names the checkpoint folders, so that runs with and without copies can run at once
        suffix = "" if args.train_copies is None else f"_train_copies{args.train_copies}"
        for backbone in args.backbones:
            if task == "editing" and backbone == "stat":
                continue
            L.seed_everything(args.seed, verbose=False)
            data = INRDataModule(
                args.inr_zoo,
                task="classification" if task == "inr_classification" else "editing",
                max_networks=args.max_networks,
                batch_size=args.batch_size,
                split_seed=args.seed,
                allow_incomplete=args.allow_incomplete,
                standardize=not args.no_standardize,
                train_copies=args.train_copies,
            )
            if task == "inr_classification":
                module = INRClassificationModule(backbone, **common)
            else:
                module = EditingModule(backbone, **common)
            metrics, module = _fit_and_test(
                task, module, data, args.epochs, f"{task}{suffix}_{backbone}", args.logs_dir
            )
            rows[backbone] = metrics
            extra["splits"] = {k: len(v) for k, v in data.splits.items()}
            extra["digits"] = data.num_digits
            extra["train_copies_per_digit"] = data.train_copies_found
            if data.scales is not None:
                k = len(data.scales) // 2
                names = [f"W{i + 1}" for i in range(k)] + [f"b{i + 1}" for i in range(k)]
                extra["input_rms_per_tensor"] = dict(zip(names, data.scales))
            print(f"{task} {backbone}: {metrics}", flush=True)
        if task == "inr_classification":
            extra["probes"] = _inr_probes(data)
            print(f"inr_classification probes: {extra['probes']}", flush=True)
        if task == "editing":
            extra["unedited_test_mse"] = _unedited_mse(data)
            table = _table(
                rows, [("MSE", "test_mse"), ("MSE (augmented)", "test_aug_mse"), ("fit s", "fit_seconds")], 4
            )
        else:
            table = _table(
                rows, [("accuracy", "test_acc"), ("accuracy (augmented)", "test_aug_acc"), ("fit s", "fit_seconds")]
            )
        write_results(
            f"magep_{task}{suffix}",
            {"budget": budget, "zoo": args.inr_zoo, **extra, "results": rows, "table": table},
            results_dir=args.results_dir,
        )


def _inr_probes(data: INRDataModule) -> dict[str, Any]:
    """Test accuracy of logistic regressions (fitted on the training split) on fixed features of the SIRENs: what
    class signal the split carries, for reading the backbones' accuracies.

    ``rendered``: the 28x28 image each SIREN computes (its function, invariant to every weight symmetry; an upper
    reference); ``last_layer_magnitudes``: mean ``|W3|`` and mean ``W3^2`` over the 32 output weights, and ``b3``
    (invariant to permutations and signs, even in the weights).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from magep_nfn.zoo import siren_spec, stacked_siren
    from magep_nfn.zoo.inr import coordinate_grid
    from weightspace_core import WeightSpace

    def features(split: str) -> dict[str, np.ndarray]:
        ws = WeightSpace.unflatten(data.raw_weights(split).double(), siren_spec())
        coords = coordinate_grid(28).double()
        with torch.no_grad():  # in blocks: 35,000 SIRENs at once would hold 7 GB of hidden activations
            rendered = torch.cat(
                [
                    stacked_siren([t[:, 0] for t in ws[k : k + 2000].tensors()], coords)[..., 0]
                    for k in range(0, ws.batch_size, 2000)
                ]
            )
        w_last = ws.weights[-1].reshape(ws.batch_size, -1)
        magnitudes = torch.stack(
            [w_last.abs().mean(1), w_last.pow(2).mean(1), ws.biases[-1].reshape(ws.batch_size)], dim=1
        )
        return {"rendered": rendered.numpy(), "last_layer_magnitudes": magnitudes.numpy()}

    train, test = features("train"), features("test")
    y_train, y_test = (data.splits[k].tensors[1].numpy() for k in ("train", "test"))
    out: dict[str, Any] = {"method": "logistic regression (standardised features), train split -> test split"}
    for name in train:
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
        out[name] = float(clf.fit(train[name], y_train).score(test[name], y_test))
    return out


def _unedited_mse(data: INRDataModule) -> float:
    """Pixel MSE of the SIRENs as they are against the dilated digits (the 'no edit' reference)."""
    from magep_nfn.zoo import siren_spec, stacked_siren
    from magep_nfn.zoo.inr import coordinate_grid
    from weightspace_core import WeightSpace

    flat, target = data.splits["test"].tensors
    ws = WeightSpace.unflatten(flat, siren_spec())
    with torch.no_grad():
        rendered = stacked_siren([t[:, 0] for t in ws.tensors()], coordinate_grid(28))[..., 0]
    return float(((rendered - target) ** 2).mean())


def _scatter_plot(
    scatter: dict[str, tuple[np.ndarray, np.ndarray]], suffix: str = "", results_dir: Path = RESULTS_DIR
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in scatter if k.endswith("/magep")] or list(scatter)
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        pred, true = scatter[key]
        ax.scatter(true, pred, s=4, alpha=0.5)
        ax.plot([0, 1], [0, 1], "k--", lw=0.8)
        ax.set_xlabel("true test accuracy")
        ax.set_ylabel("predicted")
        ax.set_title(key)
    fig.tight_layout()
    fig.savefig(results_dir / f"magep_generalization_scatter{suffix}.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
