import json
import shutil
from pathlib import Path

import pytest

from magep_nfn.data import load_cnn_zoo, load_inr_zoo
from magep_nfn.zoo import CNNZooSettings, INRZooSettings, generate_cnn_zoo, generate_inr_zoo

pytest.importorskip("datasets")
pytest.importorskip("mlxtend")
pytest.importorskip("pandas")

TINY = CNNZooSettings(
    networks_per_activation=2,
    optimizers=("adam",),
    steps=1,
    checkpoints=(1,),
    batch_size=2,
    chunk_size=1,
    test_per_class=1,
)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("zoo")
    generate_cnn_zoo(root, TINY, progress=False)
    return root


def _copy(zoo: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(zoo, target)
    return target


def test_loads(zoo: Path) -> None:
    cnn = load_cnn_zoo(zoo, drop_nonfinite=False)
    assert len(cnn) == 4
    assert cnn.metrics["network_id"].tolist() == [0, 1, 2, 3]


def test_missing_manifest_or_chunk(zoo: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="zoo.json"):
        load_cnn_zoo(tmp_path)
    root = _copy(zoo, tmp_path)
    shutil.rmtree(root / "chunks" / "chunk-00001")
    with pytest.raises(ValueError, match="expected 4 chunks, found 3"):
        load_cnn_zoo(root)
    assert len(load_cnn_zoo(root, allow_incomplete=True, drop_nonfinite=False)) == 3


def test_corrupt_chunk(zoo: Path, tmp_path: Path) -> None:
    root = _copy(zoo, tmp_path)
    for arrow in (root / "chunks" / "chunk-00002").glob("*.arrow"):
        arrow.write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="chunk-00002"):
        load_cnn_zoo(root)


def test_corrupt_or_mismatched_manifest(zoo: Path, tmp_path: Path) -> None:
    root = _copy(zoo, tmp_path)
    manifest = json.loads((root / "zoo.json").read_text())
    (root / "zoo.json").write_text(json.dumps({**manifest, "spec": "16x1x3x3,16x16x3x3,10x16"}))
    with pytest.raises(ValueError, match="expected weight vectors of length"):
        load_cnn_zoo(root)
    with pytest.raises(ValueError, match="expected a 'inr' zoo"):
        load_inr_zoo(root)
    (root / "zoo.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt"):
        load_cnn_zoo(root)
    with pytest.raises(ValueError, match="expected a step in"):
        load_cnn_zoo(zoo, step=7)


def test_inr_zoo_refuses_cnn_settings(tmp_path: Path) -> None:
    generate_inr_zoo(tmp_path, INRZooSettings(num_images=2, copies=1, steps=1, chunk_size=2), progress=False)
    with pytest.raises(ValueError, match="different zoo"):
        generate_cnn_zoo(tmp_path, TINY, progress=False)
