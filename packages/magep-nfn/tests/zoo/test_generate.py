import json
from pathlib import Path

import numpy as np
import pytest
import torch

from magep_nfn.data import load_cnn_zoo, load_inr_zoo
from magep_nfn.zoo import (
    CNNZooSettings,
    INRZooSettings,
    completed_chunks,
    generate_cnn_zoo,
    generate_inr_zoo,
    parse_shard,
)
from magep_nfn.zoo.__main__ import main

pytest.importorskip("datasets")
pytest.importorskip("mlxtend")
pytest.importorskip("pandas")


def test_plan_covers_every_network_once(tiny_cnn_settings: CNNZooSettings) -> None:
    plan = tiny_cnn_settings.plan()
    ids = [c.network_id for chunk in plan for c in chunk]
    assert sorted(ids) == list(range(12))
    assert len(plan) == 8
    assert all(len({(c.activation, c.optimizer) for c in chunk}) == 1 for chunk in plan)
    assert {plan[0][0].activation, plan[2][0].activation} == {"relu", "tanh"}


def test_interrupted_generation_resumes_without_duplicates(
    tmp_path: Path, tiny_cnn_settings: CNNZooSettings, tiny_cnn_zoo: Path
) -> None:
    root = tmp_path / "zoo"
    first = generate_cnn_zoo(root, tiny_cnn_settings, progress=False, max_chunks=2)
    assert first["chunks_written"] == [0, 1]
    (root / "chunks" / ".tmp-chunk-00002-999").mkdir()  # what a killed run leaves behind
    with pytest.raises(ValueError, match="allow_incomplete"):
        load_cnn_zoo(root)
    second = generate_cnn_zoo(root, tiny_cnn_settings, progress=False)
    assert second["chunks_written"] == [2, 3, 4, 5, 6, 7]
    assert not list((root / "chunks").glob(".tmp-*"))
    resumed, full = load_cnn_zoo(root, step=None), load_cnn_zoo(tiny_cnn_zoo, step=None)
    pairs = list(zip(resumed.metrics["network_id"], resumed.metrics["step"]))
    assert len(pairs) == len(set(pairs)) == 24
    np.testing.assert_array_equal(resumed.weights.flatten().numpy(), full.weights.flatten().numpy())
    assert generate_cnn_zoo(root, tiny_cnn_settings, progress=False)["chunks_written"] == []


def test_shards_split_the_zoo(tmp_path: Path, tiny_cnn_settings: CNNZooSettings, tiny_cnn_zoo: Path) -> None:
    root = tmp_path / "zoo"
    a = generate_cnn_zoo(root, tiny_cnn_settings, shard=(0, 2), progress=False)
    b = generate_cnn_zoo(root, tiny_cnn_settings, shard=(1, 2), progress=False)
    assert a["chunks_written"] == [0, 2, 4, 6]
    assert b["chunks_written"] == [1, 3, 5, 7]
    np.testing.assert_array_equal(
        load_cnn_zoo(root).weights.flatten().numpy(), load_cnn_zoo(tiny_cnn_zoo).weights.flatten().numpy()
    )


def test_different_settings_into_same_folder_refused(tmp_path: Path, tiny_cnn_settings: CNNZooSettings) -> None:
    generate_cnn_zoo(tmp_path, tiny_cnn_settings, progress=False, max_chunks=1)
    other = CNNZooSettings(**{**tiny_cnn_settings.__dict__, "steps": 3, "checkpoints": (3,)})
    with pytest.raises(ValueError, match="differing settings: \\['checkpoints', 'steps'\\]"):
        generate_cnn_zoo(tmp_path, other, progress=False)


def test_zoo_columns(tiny_cnn_zoo: Path) -> None:
    zoo = load_cnn_zoo(tiny_cnn_zoo, activation="tanh", drop_nonfinite=False)
    assert len(zoo) == 6
    assert str(zoo.weights.spec) == "16x1x3x3,16x16x3x3,16x16x3x3,10x16"
    assert set(zoo.metrics["step"]) == {2}
    assert {"config.learning_rate", "config.train_fraction", "test_accuracy", "train_loss"} <= set(zoo.metrics)
    assert zoo.metrics["test_accuracy"].between(0, 1).all()


def test_inr_zoo(tmp_path: Path, tiny_inr_settings: INRZooSettings) -> None:
    report = generate_inr_zoo(tmp_path, tiny_inr_settings, progress=False)
    assert report["networks_trained"] == 6
    zoo = load_inr_zoo(tmp_path)
    assert zoo.labels.tolist() == [0, 1, 2, 3, 4, 5]
    assert zoo.images.shape == zoo.dilated.shape == (6, 28, 28)
    assert bool((zoo.dilated >= zoo.images).all())
    assert np.isfinite(zoo.metrics["psnr"]).all()


def test_inr_zoo_copies_extend_the_one_copy_zoo(tmp_path: Path, tiny_inr_settings: INRZooSettings) -> None:
    """Copy 0 of a zoo with copies is the one-copy zoo, bit for bit; the other copies fit the same digits from
    other initial draws."""
    generate_inr_zoo(tmp_path / "one", tiny_inr_settings, progress=False)
    three = INRZooSettings(**{**tiny_inr_settings.__dict__, "copies": 3})
    assert [len(c) for c in three.plan()] == [2] * 9
    generate_inr_zoo(tmp_path / "three", three, progress=False)
    one, zoo = load_inr_zoo(tmp_path / "one"), load_inr_zoo(tmp_path / "three")
    assert len(zoo) == 18
    assert zoo.metrics["copy"].tolist() == [0] * 6 + [1] * 6 + [2] * 6
    first = torch.as_tensor((zoo.metrics["copy"] == 0).to_numpy())
    assert torch.equal(zoo.weights.flatten()[first], one.weights.flatten())
    by_copy = zoo.metrics["image_index"].to_numpy().reshape(3, 6)
    assert (by_copy == by_copy[0]).all()
    assert zoo.labels.reshape(3, 6).eq(one.labels).all()
    flat = zoo.weights.flatten().reshape(3, 6, -1)
    assert not torch.isclose(flat[1], flat[0]).all(dim=1).any()
    assert not torch.isclose(flat[2], flat[1]).all(dim=1).any()


def test_inr_shared_init_refuses_copies(tiny_inr_settings: INRZooSettings) -> None:
    with pytest.raises(ValueError, match="expected copies=1 with shared_init, found copies=2"):
        INRZooSettings(**{**tiny_inr_settings.__dict__, "copies": 2, "shared_init": True})
    with pytest.raises(ValueError, match="copies >= 1"):
        INRZooSettings(**{**tiny_inr_settings.__dict__, "copies": 0})


def test_cli_and_shard_parsing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "inr",
        str(tmp_path),
        "--num-images",
        "2",
        "--copies",
        "1",
        "--steps",
        "1",
        "--chunk-size",
        "1",
        "--no-progress",
    ]
    assert main([*args, "--shard", "1/2"]) == 0
    assert completed_chunks(tmp_path) == [1]
    main(["info", str(tmp_path)])
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])["chunks_done"] == 1
    assert parse_shard("0/3") == (0, 3)
    for bad in ("3/3", "a/b", "1"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)
