"""The protocol helpers and the loader for this package's generated zoos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("datasets")
pytest.importorskip("mlxtend")

from transformer_nfn.data import TransformerZooDataset, load_small_transformer_zoo, protocol_indices
from transformer_nfn.zoo.generate import ZooSchedule, generate_zoo


@pytest.fixture(scope="module")
def zoo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("zoo")
    schedule = ZooSchedule(epochs=4, batch_size=4, train_size=10, test_size=20)
    generate_zoo(root, "mnist", num_models=16, schedule=schedule, chunk_size=16, progress=False)
    return root


def test_protocol_split_sizes_and_disjointness() -> None:
    acc = np.random.default_rng(0).uniform(size=101)
    parts = [protocol_indices(acc, 0.3, s, seed=4) for s in ("train", "val", "test")]
    kept = int((acc >= 0.3).sum())
    assert [len(p) for p in parts] == [int(0.7 * kept), int(0.15 * kept), kept - int(0.7 * kept) - int(0.15 * kept)]
    assert sorted(np.concatenate(parts).tolist()) == sorted(np.nonzero(acc >= 0.3)[0].tolist())
    assert not np.array_equal(protocol_indices(acc, 0.3, "train", seed=5), parts[0])
    with pytest.raises(ValueError, match="cutoff"):
        protocol_indices(acc, 40)
    with pytest.raises(ValueError, match="split"):
        protocol_indices(acc, 0.0, "dev")


def test_dataset_items_and_errors() -> None:
    ds = TransformerZooDataset({"w": torch.arange(12.0).view(3, 4)}, torch.tensor([0.1, 0.2, 0.3]))
    sd, acc = ds[2]
    assert torch.equal(sd["w"], torch.tensor([8.0, 9.0, 10.0, 11.0]))
    assert float(acc) == pytest.approx(0.3)
    assert len(ds.subset([0, 2])) == 2
    with pytest.raises(ValueError, match="expected 3 networks"):
        TransformerZooDataset({"w": torch.zeros(2, 4)}, torch.zeros(3))


def test_load_generated_zoo(zoo_root: Path) -> None:
    full = load_small_transformer_zoo(zoo_root, "mnist", epoch=75, drop_nonfinite=False)
    assert len(full) == 16
    assert {m["ckpt_percent"] for m in full.metadata} == {75}
    assert tuple(full.params["encoder.1.fc2.weight"].shape) == (16, 32, 64)
    assert tuple(full.params["embedding.pos_embedding"].shape) == (16, 49, 32)
    assert np.allclose(full.accuracy.numpy(), [m["test_top1_accuracy"] for m in full.metadata])
    first = load_small_transformer_zoo(zoo_root, "mnist", epoch=1, drop_nonfinite=False)
    assert {m["ckpt_epoch"] for m in first.metadata} == {1}
    by_epoch = load_small_transformer_zoo(zoo_root, "mnist", epoch="epoch:3", drop_nonfinite=False)
    assert torch.equal(by_epoch.params["classifier.fc2.bias"], full.params["classifier.fc2.bias"])
    cutoff = float(full.accuracy.median())
    parts = [
        load_small_transformer_zoo(zoo_root, "mnist", cutoff=cutoff, split=s, drop_nonfinite=False)
        for s in ("train", "val", "test")
    ]
    ids = [{m["model_id"] for m in p.metadata} for p in parts]
    assert sum(len(i) for i in ids) == int((full.accuracy >= cutoff).sum())
    assert not (ids[0] & ids[1])
    assert not (ids[0] & ids[2])
    assert not (ids[1] & ids[2])
    with pytest.raises(ValueError, match="checkpoint percents"):
        load_small_transformer_zoo(zoo_root, "mnist", epoch=60)


def test_missing_zoo(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="zoo_info.json"):
        load_small_transformer_zoo(tmp_path, "mnist")
