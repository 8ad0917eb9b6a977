"""The release-format loader on small directories written here, with the release's real key names."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import pytest
import torch

from transformer_nfn.data import load_release_checkpoint, load_release_zoo, read_release_metadata
from transformer_nfn.zoo import ZooTransformer

EPOCHS = (1, 50, 75, 100)
NUM_RUNS = 12


def _write_release(root: Path, name: str = "mnist", percent: bool = False) -> dict[str, ZooTransformer]:
    """``NUM_RUNS`` runs x 4 checkpoints in the release layout; returns the epoch-75 modules by file name."""
    (root / name).mkdir(parents=True)
    (root / "metadata").mkdir()
    modules = {}
    rows = []
    for run in range(NUM_RUNS):
        for epoch in EPOCHS:
            torch.manual_seed(run * 1000 + epoch)
            model = ZooTransformer()
            fname = f"run{run:03d}_epoch{epoch:03d}.pt"
            torch.save(model.state_dict(), root / name / fname)
            if epoch == 75:
                modules[fname] = model
            acc = (run + 1) / (NUM_RUNS + 1) * (0.5 + epoch / 200)
            rows.append(
                {
                    "optimizer": "Adam",
                    "learning_rate": 1e-3,
                    "init_std": 0.1,
                    "l2_reg": 1e-6,
                    "train_fraction": 1.0,
                    "dropout": 0.0,
                    "ckpt_epoch": epoch,
                    "ckpt_file": fname,
                    "test_top1_accuracy": 100 * acc if percent else acc,
                }
            )
    with (root / "metadata" / f"{name}.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return modules


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, ZooTransformer]]:
    root = tmp_path_factory.mktemp("release")
    return root, _write_release(root)


def test_epoch_filter_and_real_key_names(release: tuple[Path, dict[str, ZooTransformer]]) -> None:
    root, modules = release
    ds = load_release_zoo(root, "mnist", epoch=75)
    assert len(ds) == NUM_RUNS
    assert {m["ckpt_epoch"] for m in ds.metadata} == {75}
    assert "encoder.1.attention.out_projection.weight" in ds.params
    assert tuple(ds.params["encoder.0.attention.queries.weight"].shape) == (NUM_RUNS, 32, 32)
    assert tuple(ds.params["embedding.conv1.weight"].shape) == (NUM_RUNS, 32, 1, 4, 4)
    assert set(modules) == {m["ckpt_file"] for m in ds.metadata}


def test_loaded_network_classifies_like_the_saved_module(release: tuple[Path, dict[str, ZooTransformer]]) -> None:
    root, modules = release
    ds = load_release_zoo(root, "mnist", epoch=75)
    x = torch.randn(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for i in (0, 7, NUM_RUNS - 1):
        original = modules[ds.metadata[i]["ckpt_file"]].eval()
        loaded = ZooTransformer().eval()
        loaded.load_state_dict(ds.state_dict(i))
        with torch.no_grad():
            assert torch.equal(loaded(x), original(x))
            assert torch.equal(loaded(x).argmax(1), original(x).argmax(1))


def test_cutoff_applies_before_the_70_15_15_split(release: tuple[Path, dict[str, ZooTransformer]]) -> None:
    root, _ = release
    full = load_release_zoo(root, "mnist", epoch=75)
    cutoff = float(full.accuracy.quantile(0.25))
    kept = int((full.accuracy >= cutoff).sum())
    parts = {s: load_release_zoo(root, "mnist", epoch=75, cutoff=cutoff, split=s) for s in ("train", "val", "test")}
    assert [len(p) for p in parts.values()] == [
        int(0.7 * kept),
        int(0.15 * kept),
        kept - int(0.7 * kept) - int(0.15 * kept),
    ]
    files = [{m["ckpt_file"] for m in p.metadata} for p in parts.values()]
    assert not (files[0] & files[1])
    assert not (files[0] & files[2])
    assert not (files[1] & files[2])
    assert all(bool((p.accuracy >= cutoff).all()) for p in parts.values())
    again = load_release_zoo(root, "mnist", epoch=75, cutoff=cutoff, split="test")
    assert [m["ckpt_file"] for m in again.metadata] == [m["ckpt_file"] for m in parts["test"].metadata]
    other_seed = load_release_zoo(root, "mnist", epoch=75, cutoff=cutoff, split="train", seed=1)
    assert {m["ckpt_file"] for m in other_seed.metadata} != files[0]


def test_percent_accuracies_become_fractions(tmp_path: Path) -> None:
    _write_release(tmp_path, percent=True)
    ds = load_release_zoo(tmp_path, "mnist", epoch=75)
    assert float(ds.accuracy.max()) <= 1.0
    assert float(ds.accuracy.max()) > 0.5


def test_pickled_code_is_refused(tmp_path: Path) -> None:
    _write_release(tmp_path)
    victim = tmp_path / "mnist" / "run003_epoch075.pt"
    torch.save(ZooTransformer(), victim)  # a whole pickled module: code, not a state dict
    with pytest.raises(ValueError, match=r"run003_epoch075\.pt: refused: not a plain state dict"):
        load_release_checkpoint(victim)
    with pytest.raises(ValueError, match="refused"):
        load_release_zoo(tmp_path, "mnist", epoch=75)
    with pytest.raises(ValueError, match="refused"):
        load_release_zoo(tmp_path, "mnist", epoch=75, skip_corrupt=True)


def test_corrupted_file_is_named_and_skipped_only_on_request(tmp_path: Path) -> None:
    _write_release(tmp_path)
    victim = tmp_path / "mnist" / "run005_epoch075.pt"
    victim.write_bytes(victim.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"run005_epoch075\.pt: corrupted checkpoint"):
        load_release_zoo(tmp_path, "mnist", epoch=75)
    with pytest.warns(UserWarning, match=r"run005_epoch075\.pt"):
        ds = load_release_zoo(tmp_path, "mnist", epoch=75, skip_corrupt=True)
    assert len(ds) == NUM_RUNS - 1
    assert "run005_epoch075.pt" not in {m["ckpt_file"] for m in ds.metadata}
    # other epochs are not read when filtering for epoch 75
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_release_zoo(tmp_path, "mnist", epoch=50)) == NUM_RUNS


def test_missing_files_and_columns(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"metadata/mnist\.csv"):
        read_release_metadata(tmp_path, "mnist")
    _write_release(tmp_path)
    (tmp_path / "mnist" / "run002_epoch075.pt").unlink()
    with pytest.raises(FileNotFoundError, match=r"run002_epoch075\.pt"):
        load_release_zoo(tmp_path, "mnist", epoch=75)
    with pytest.warns(UserWarning, match="run002_epoch075"):
        assert len(load_release_zoo(tmp_path, "mnist", epoch=75, skip_corrupt=True)) == NUM_RUNS - 1
    with pytest.raises(ValueError, match="ckpt_epoch == 60"):
        load_release_zoo(tmp_path, "mnist", epoch=60)
    meta = tmp_path / "metadata" / "mnist.csv"
    meta.write_text(meta.read_text().replace("test_top1_accuracy", "val_acc"))
    with pytest.raises(ValueError, match="test_top1_accuracy or test_accuracy"):
        read_release_metadata(tmp_path, "mnist")


def test_agnews_accuracy_column_and_not_a_state_dict(tmp_path: Path) -> None:
    (tmp_path / "metadata").mkdir()
    (tmp_path / "ag_news").mkdir()
    torch.save({"encoder.0.fc1.bias": torch.zeros(64)}, tmp_path / "ag_news" / "a.pt")
    torch.save([torch.zeros(3)], tmp_path / "ag_news" / "b.pt")
    (tmp_path / "metadata" / "ag_news.csv").write_text("ckpt_epoch,ckpt_file,test_accuracy\n75,a.pt,0.5\n75,b.pt,0.6\n")
    rows, column = read_release_metadata(tmp_path, "ag_news")
    assert column == "test_accuracy"
    assert len(rows) == 2
    with pytest.raises(ValueError, match=r"b\.pt: expected a state dict"):
        load_release_checkpoint(tmp_path / "ag_news" / "b.pt")


def test_bad_protocol_arguments(release: tuple[Path, dict[str, ZooTransformer]]) -> None:
    root, _ = release
    with pytest.raises(ValueError, match="cutoff"):
        load_release_zoo(root, "mnist", cutoff=80)
    with pytest.raises(ValueError, match="split"):
        load_release_zoo(root, "mnist", split="validation")
