import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from magep_nfn.data import convert_tf_weights, load_nfn_inr_directory, load_small_cnn_zoo, read_layout, split_indices
from magep_nfn.zoo import SIREN, SmallCNN

pd = pytest.importorskip("pandas")

# The Small CNN Zoo's variables in its release order, TensorFlow layouts.
TF_VARS = [
    ("sequential/conv2d/kernel:0", (3, 3, 1, 16)),
    ("sequential/conv2d/bias:0", (16,)),
    ("sequential/conv2d_1/kernel:0", (3, 3, 16, 16)),
    ("sequential/conv2d_1/bias:0", (16,)),
    ("sequential/conv2d_2/kernel:0", (3, 3, 16, 16)),
    ("sequential/conv2d_2/bias:0", (16,)),
    ("sequential/dense/kernel:0", (16, 10)),
    ("sequential/dense/bias:0", (10,)),
]


def _write_release(root: Path, n: int = 6, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    rows, start = [], 0
    for name, shape in TF_VARS:
        size = int(np.prod(shape))
        rows.append({"varname": name, "start_idx": start, "end_idx": start + size, "size": size, "shape": str(shape)})
        start += size
    pd.DataFrame(rows).to_csv(root / "layout.csv", index=False)
    weights = (rng.standard_normal((n, start)) * 0.3).astype(np.float32)
    np.save(root / "weights.npy", weights)
    metrics = pd.DataFrame(
        {
            "step": [86, 0, 86, 86, 86, 43][:n],
            "test_accuracy": rng.uniform(0.1, 0.9, n),
            "config.activation": ["relu", "relu", "tanh", "relu", "tanh", "relu"][:n],
            "config.learning_rate": rng.uniform(1e-3, 1e-2, n),
        }
    )
    metrics.to_csv(root / "metrics.csv.gz", index=False, compression="gzip")
    return weights, metrics


def _tf_logits(row: np.ndarray, x_nhwc: np.ndarray, activation: str) -> np.ndarray:
    """The TensorFlow model's formula on NHWC images with HWIO kernels, written out in numpy."""
    act = (lambda t: np.maximum(t, 0)) if activation == "relu" else np.tanh
    params, start = {}, 0
    for name, shape in TF_VARS:
        size = int(np.prod(shape))
        params[name] = row[start : start + size].reshape(shape).astype(np.float64)
        start += size
    h = x_nhwc.astype(np.float64)
    for layer in ("conv2d", "conv2d_1", "conv2d_2"):
        k, b = params[f"sequential/{layer}/kernel:0"], params[f"sequential/{layer}/bias:0"]
        out = (h.shape[1] - 3) // 2 + 1
        patches = np.stack(
            [h[:, di : di + 2 * out - 1 : 2, dj : dj + 2 * out - 1 : 2, :] for di in range(3) for dj in range(3)],
            axis=3,
        )  # (N, out, out, 9, C)
        h = act(np.einsum("nijpc,pco->nijo", patches, k.reshape(9, *k.shape[2:])) + b)
    pooled = h.mean(axis=(1, 2))
    return pooled @ params["sequential/dense/kernel:0"] + params["sequential/dense/bias:0"]


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_converted_network_computes_the_tensorflow_logits(tmp_path: Path, activation: str) -> None:
    weights, metrics = _write_release(tmp_path)
    zoo = load_small_cnn_zoo(tmp_path, activation=activation)
    expected_rows = np.flatnonzero((metrics["step"] == 86) & (metrics["config.activation"] == activation))
    assert zoo.metrics["row"].tolist() == expected_rows.tolist()
    x = np.random.default_rng(1).uniform(-1, 1, (3, 32, 32, 1))
    for i, row in enumerate(expected_rows):
        net = zoo.weights[i].load_into(SmallCNN(activation)).double()
        torch_logits = net(torch.as_tensor(x).permute(0, 3, 1, 2)).detach().numpy()
        np.testing.assert_allclose(torch_logits, _tf_logits(weights[row], x, activation), rtol=1e-5, atol=1e-6)
    assert zoo.metrics["test_accuracy"].tolist() == metrics["test_accuracy"].to_numpy()[expected_rows].tolist()


def test_selection_options(tmp_path: Path) -> None:
    _write_release(tmp_path)
    assert len(load_small_cnn_zoo(tmp_path, step=None)) == 6
    assert len(load_small_cnn_zoo(tmp_path)) == 4
    assert len(load_small_cnn_zoo(tmp_path, activation=["relu", "tanh"], step=43)) == 1


def test_nonfinite_networks_dropped(tmp_path: Path) -> None:
    weights, _ = _write_release(tmp_path)
    weights[2, 5] = np.nan
    np.save(tmp_path / "weights.npy", weights)
    zoo = load_small_cnn_zoo(tmp_path, step=None)
    assert 2 not in zoo.metrics["row"].tolist()
    assert len(load_small_cnn_zoo(tmp_path, step=None, drop_nonfinite=False)) == 6


def test_mismatched_and_corrupt_files(tmp_path: Path) -> None:
    weights, _metrics = _write_release(tmp_path)
    np.save(tmp_path / "weights.npy", weights[:, :-1])
    with pytest.raises(ValueError, match=r"expected shape \(N, 4970\)"):
        load_small_cnn_zoo(tmp_path)
    np.save(tmp_path / "weights.npy", weights[:5])
    with pytest.raises(ValueError, match="one row per row of weights.npy"):
        load_small_cnn_zoo(tmp_path)
    (tmp_path / "weights.npy").write_bytes(b"not an array")
    with pytest.raises(ValueError, match="unreadable"):
        load_small_cnn_zoo(tmp_path)
    np.save(tmp_path / "weights.npy", weights)
    (tmp_path / "metrics.csv.gz").write_bytes(gzip.compress(b"")[:5])
    with pytest.raises(ValueError, match="metrics.csv.gz"):
        load_small_cnn_zoo(tmp_path)
    (tmp_path / "metrics.csv.gz").unlink()
    with pytest.raises(FileNotFoundError, match="metrics.csv.gz"):
        load_small_cnn_zoo(tmp_path)


def test_bad_layouts(tmp_path: Path) -> None:
    _write_release(tmp_path)
    layout = pd.read_csv(tmp_path / "layout.csv")
    layout.loc[1, "end_idx"] += 1
    layout.to_csv(tmp_path / "layout.csv", index=False)
    with pytest.raises(ValueError, match="index range"):
        read_layout(tmp_path / "layout.csv")
    layout.drop(columns="shape").to_csv(tmp_path / "layout.csv", index=False)
    with pytest.raises(ValueError, match="expected columns"):
        read_layout(tmp_path / "layout.csv")
    _write_release(tmp_path)
    with pytest.raises(ValueError, match="expected architecture"):
        load_small_cnn_zoo(tmp_path, expected_spec="8x1x3x3,8x8x3x3,8x8x3x3,10x8")


def test_convert_rejects_wrong_width() -> None:
    layout = _layout_from([("d/kernel:0", (3, 2)), ("d/bias:0", (2,))])
    with pytest.raises(ValueError, match=r"expected rows \(N, 8\)"):
        convert_tf_weights(np.zeros((1, 7)), layout)


def _layout_from(entries: list[tuple[str, tuple[int, ...]]]) -> list:
    from magep_nfn.data import LayoutEntry

    out, start = [], 0
    for name, shape in entries:
        out.append(LayoutEntry(name, start, start + int(np.prod(shape)), shape))
        start += int(np.prod(shape))
    return out


def test_split_protocol() -> None:
    parts = split_indices(1000, seed=3)
    assert [len(parts[k]) for k in ("train", "val", "test")] == [400, 100, 500]
    assert len(np.unique(np.concatenate(list(parts.values())))) == 1000
    assert not np.array_equal(split_indices(1000, seed=4)["test"], parts["test"])


def test_nfn_inr_directory(tmp_path: Path) -> None:
    nets = {}
    for label, idx in [(3, 10), (0, 11), (7, 12)]:
        torch.manual_seed(idx)
        net = SIREN()
        folder = tmp_path / str(label) / f"img{idx}" / "checkpoints"
        folder.mkdir(parents=True)
        state = {f"net.{k}": v for k, v in net.state_dict().items()}
        torch.save(state, folder / "model_final.pth")
        nets[label] = net
    zoo = load_nfn_inr_directory(tmp_path)
    assert zoo.labels.tolist() == [0, 3, 7]
    coords = torch.rand(5, 2)
    for i, label in enumerate(zoo.labels.tolist()):
        torch.testing.assert_close(zoo.weights[i].load_into(SIREN())(coords), nets[label](coords))
    torch.save({"layers.0.weight": torch.zeros(16, 2), "layers.0.bias": torch.zeros(16)}, tmp_path / "3" / "bad.pth")
    with pytest.raises(ValueError, match="bad.pth"):
        load_nfn_inr_directory(tmp_path)
    (tmp_path / "3" / "bad.pth").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="unreadable"):
        load_nfn_inr_directory(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_nfn_inr_directory(tmp_path / "missing")
