"""n-body benchmark: every config runs a fast_dev_run; one of them under DDP with 2 CPU processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.nbody import NBodyDataModule, warmup_constant_cosine
from benchmarks.nbody.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "benchmarks" / "configs" / "nbody").glob("*.yaml"))
SMALL = ["--data.num_train", "8", "--data.num_val", "4", "--data.num_test", "4", "--data.batch_size", "4"]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("nbody")
    NBodyDataModule(str(root), num_train=8, num_val=4, num_test=4).prepare_data()
    return root


def test_every_model_has_a_config():
    assert {c.stem for c in CONFIGS} >= {"cgegnn", "cgenn", "egnn", "cgenn_full"}


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_config_fast_dev_run(config, data_root, tmp_path, monkeypatch):
    # LightningCLI warns when pytest's own arguments sit in sys.argv next to ``args``.
    monkeypatch.setattr(sys, "argv", ["benchmarks.nbody"])
    cli = main(
        [
            "fit",
            "--config",
            str(config),
            "--data.root",
            str(data_root),
            *SMALL,
            "--trainer.fast_dev_run",
            "true",
            "--trainer.enable_progress_bar",
            "false",
            "--trainer.default_root_dir",
            str(tmp_path),
            "--trainer.logger.init_args.save_dir",
            str(tmp_path),
        ]
    )
    assert cli.trainer.global_step == 1
    assert "test/mse" in cli.trainer.callback_metrics


def test_ddp_two_cpu_processes(data_root, tmp_path):
    command = [
        sys.executable,
        "-m",
        "benchmarks.nbody",
        "fit",
        "--config",
        str(ROOT / "benchmarks" / "configs" / "nbody" / "cgegnn.yaml"),
        "--data.root",
        str(data_root),
        *SMALL,
        "--trainer.fast_dev_run",
        "true",
        "--trainer.enable_progress_bar",
        "false",
        "--trainer.accelerator",
        "cpu",
        "--trainer.devices",
        "2",
        "--trainer.strategy",
        "ddp",
        "--trainer.default_root_dir",
        str(tmp_path),
        "--trainer.logger.init_args.save_dir",
        str(tmp_path),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "test/mse" in result.stdout + result.stderr


def test_learning_rate_schedule():
    assert warmup_constant_cosine(0, 100, 10, 20) == 0.0
    assert warmup_constant_cosine(10, 100, 10, 20) == 1.0
    assert warmup_constant_cosine(50, 100, 10, 20) == 1.0
    assert warmup_constant_cosine(90, 100, 10, 20) == pytest.approx(0.5)
    assert warmup_constant_cosine(100, 100, 10, 20) == pytest.approx(0.0)
