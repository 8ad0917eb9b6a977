"""The transformer-zoo benchmark on a tiny zoo generated here: LightningCLI fast_dev_run for every predictor."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("lightning")
pytest.importorskip("datasets")
pytest.importorskip("mlxtend")

from benchmarks.transformer_zoo import AccuracyPrediction, TransformerZooDataModule
from benchmarks.transformer_zoo.__main__ import main
from transformer_nfn.zoo.generate import ZooSchedule, generate_zoo

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "transformer_zoo"


@pytest.fixture(scope="module")
def tiny_zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tzoo")
    schedule = ZooSchedule(epochs=4, batch_size=4, train_size=10, test_size=20)
    generate_zoo(root, "mnist", num_models=24, schedule=schedule, chunk_size=24, progress=False)
    return root


@pytest.mark.parametrize("predictor", ["transformer_nfn", "flat_mlp", "statnn"])
def test_cli_fast_dev_run(tiny_zoo: Path, tmp_path: Path, predictor: str) -> None:
    cli = main(
        [
            "fit",
            "--config",
            str(CONFIGS / f"{predictor}.yaml"),
            "--data.root",
            str(tiny_zoo),
            "--data.batch_size",
            "4",
            "--trainer.fast_dev_run",
            "true",
            "--trainer.default_root_dir",
            str(tmp_path),
            "--trainer.logger",
            "false",
        ]
    )
    assert isinstance(cli.model, AccuracyPrediction)
    assert cli.model.hparams.predictor == predictor
    assert "train_loss" in cli.trainer.callback_metrics


def test_data_module_splits(tiny_zoo: Path) -> None:
    dm = TransformerZooDataModule(root=str(tiny_zoo), batch_size=4)
    dm.setup("fit")
    sizes = {s: len(dm.splits[s][1]) for s in ("train", "val", "test")}
    assert sum(sizes.values()) <= 24
    assert sizes["train"] == int(0.7 * sum(sizes.values()))
    ws, acc = next(iter(dm.train_dataloader()))
    assert ws.batch_size == len(acc) == 4
    assert str(ws.spec) == "L2-D32-h2-k16-v16-A64"
    with pytest.raises(ValueError, match="source"):
        TransformerZooDataModule(source="hub")


def test_compare_writes_results(tiny_zoo: Path, tmp_path: Path) -> None:
    import json

    from benchmarks.transformer_zoo.compare import main as compare

    compare(
        [
            "--root", str(tiny_zoo), "--epochs", "1", "--batch-size", "4", "--predictors", "statnn", "gbt",
            "--cutoffs", "0.0", "0.95", "--min-networks", "2", "--tree-iters", "5", "--results-dir", str(tmp_path),
        ]
    )  # fmt: skip
    payload = json.loads((tmp_path / "transformer_zoo.json").read_text())
    assert set(payload["rows"][0]["results"]) == {"statnn", "gbt"}
    assert "skipped" in payload["rows"][1]
    assert "| STATNN |" in payload["table"]
    assert (tmp_path / "transformer_zoo_scatter.png").exists()
    assert (tmp_path / "transformer_zoo_accuracy_hist.png").exists()
