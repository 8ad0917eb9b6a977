"""Motion-capture benchmark: every YAML config runs one fast_dev_run step on the synthetic stand-in."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.clifford_common import static_baselines
from benchmarks.motion import MotionDataModule
from benchmarks.motion.__main__ import main
from clifford_egnn.data.synthetic import write_synthetic_motion

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs" / "motion").glob("*.yaml"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("motion_synthetic")
    write_synthetic_motion(folder / "motion.pkl", seed=0)
    return folder


def test_every_model_has_a_config():
    assert {c.stem for c in CONFIGS} >= {"cgegnn", "cgenn", "egnn"}


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_config_fast_dev_run(config, data_dir, tmp_path):
    main(
        [
            "fit",
            "--config",
            str(config),
            "--data.data_dir",
            str(data_dir),
            "--data.batch_size",
            "4",
            "--trainer.fast_dev_run",
            "true",
            "--trainer.logger",
            "false",
            "--trainer.enable_progress_bar",
            "false",
            "--trainer.default_root_dir",
            str(tmp_path),
        ]
    )


def test_datamodule_splits_and_learning_free_baselines(data_dir):
    datamodule = MotionDataModule(str(data_dir), batch_size=50)
    baselines = static_baselines(datamodule)
    assert {split: len(d) for split, d in datamodule.datasets.items()} == {"train": 198, "val": 600, "test": 600}
    assert baselines["static"]["test/mse"] > 0
    batch = next(iter(datamodule.train_dataloader()))
    assert batch.num_graphs == 50
    assert batch.x.shape == (50 * 31, 3)


def test_missing_real_data_names_the_file(tmp_path):
    datamodule = MotionDataModule(str(tmp_path), synthetic=False)
    datamodule.prepare_data()
    with pytest.raises(FileNotFoundError, match="motion.pkl"):
        datamodule.setup("fit")


def test_merge_keeps_every_model_and_rejects_unequal_budgets(tmp_path, monkeypatch):
    import json

    import benchmarks.common
    from benchmarks.clifford_common import merge_results

    monkeypatch.setattr(benchmarks.common, "RESULTS_DIR", tmp_path)
    for name, model, steps in (("a", "cgegnn", 200), ("b", "egnn", 200), ("c", "cgenn", 100)):
        part = {"command": name, "budget": {"optimizer_steps": steps}, "results": {model: {"test/mse": 1.0}}}
        (tmp_path / f"{name}.json").write_text(json.dumps(part))
    merged = json.loads(merge_results("ab", ["a", "b"]).read_text())
    assert set(merged["results"]) == {"cgegnn", "egnn"}
    assert [p["command"] for p in merged["parts"]] == ["a", "b"]
    with pytest.raises(ValueError, match="equal budget"):
        merge_results("ac", ["a", "c"])
    with pytest.raises(ValueError, match="one part only"):
        merge_results("aa", ["a", "a"])
