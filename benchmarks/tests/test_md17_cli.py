"""MD17 benchmark: every YAML config (both protocols) runs one fast_dev_run step on the synthetic stand-in."""

from __future__ import annotations

from pathlib import Path

import pytest
from torch import nn

from benchmarks.clifford_common import GeometricRegression, static_baselines
from benchmarks.md17 import MD17DataModule
from benchmarks.md17.__main__ import main
from clifford_egnn.data.synthetic import write_synthetic_md17

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs" / "md17").glob("*.yaml"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("md17_synthetic")
    write_synthetic_md17(folder / "synthetic_dft.npz", num_frames=20500, seed=0)
    return folder


def test_every_protocol_and_model_has_a_config():
    expected = {f"{p}_{m}" for p in ("gmn", "eqmotion") for m in ("cgegnn", "cgenn", "egnn")}
    assert {c.stem for c in CONFIGS} >= expected


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_config_fast_dev_run(config, data_dir, tmp_path):
    main(
        [
            "fit",
            "--config",
            str(config),
            "--data.data_dir",
            str(data_dir),
            "--data.molecule",
            "synthetic",
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


def test_eqmotion_datamodule_shapes_and_baselines(data_dir):
    datamodule = MD17DataModule(str(data_dir), "synthetic", "eqmotion", batch_size=8)
    baselines = static_baselines(datamodule)
    batch = next(iter(datamodule.train_dataloader()))
    assert batch.v.shape == (8 * 8, 9, 3)
    assert batch.y.shape == (8 * 8, 10, 3)
    assert set(baselines["static"]) == {"test/mse", "test/ade", "test/fde"}


class _SingleFrame(nn.Module):
    def forward(self, x, v, h, edge_index=None, batch=None, edge_attr=None):
        return x, h


def test_single_frame_model_on_multi_frame_target_is_rejected(data_dir):
    datamodule = MD17DataModule(str(data_dir), "synthetic", "eqmotion", batch_size=2)
    datamodule.setup("fit")
    batch = next(iter(datamodule.train_dataloader()))
    with pytest.raises(ValueError, match="one output vector channel per frame"):
        GeometricRegression(_SingleFrame())(batch)


def test_missing_real_data_names_the_file_and_source(tmp_path):
    datamodule = MD17DataModule(str(tmp_path), "aspirin", "gmn")
    datamodule.prepare_data()
    with pytest.raises(FileNotFoundError, match=r"aspirin_dft\.npz.*quantum-machine\.org"):
        datamodule.setup("fit")
    with pytest.raises(ValueError, match="protocol"):
        MD17DataModule(str(tmp_path), "aspirin", "other")
