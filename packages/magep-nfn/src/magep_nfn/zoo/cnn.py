"""Training many Small-CNN-Zoo CNNs at once.

The M networks of a group are held as stacked parameters (a leading network axis on every tensor) and run as
*one* network whose convolutions are grouped (``groups=M``): network m's images occupy input channel m and its
filters occupy output channels ``16m .. 16m+15``, so one convolution call computes all M networks on their own
mini-batches. The loss is the sum over networks of each network's mean cross-entropy plus its own L2 penalty, so
its gradient with respect to network m's parameters is exactly network m's own gradient: the networks train
independently, as if one after another, but with one optimizer step for all. Each network has its own learning
rate, L2, initial scale, dropout rate, training subset and data order; the optimizer (Adam, RMSProp or SGD with
momentum) and the activation are shared within a group.

The same training also runs through ``torch.func.vmap`` over a single network's functional forward
(``layout="vmap"``) or one network at a time (:func:`train_cnn_loop`), for the throughput benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from magep_nfn.zoo.models import ACTIVATIONS, small_cnn_spec

__all__ = [
    "CNN_GRID",
    "OPTIMIZERS",
    "CNNConfig",
    "CNNGroupResult",
    "VectorisedOptimizer",
    "grouped_small_cnn",
    "init_small_cnn_params",
    "sample_cnn_config",
    "small_cnn_flops",
    "train_cnn_group",
    "train_cnn_loop",
]

OPTIMIZERS = ("adam", "rmsprop", "sgd")

#: The hyperparameter grid of the zoo (each network draws one value of each axis uniformly). The axes are the
#: Small CNN Zoo's; the ranges are narrowed from its (learning rate 5e-4..5e-2, init std 1e-3..0.5, dropout
#: 0..0.7) to values that learn something in the short training a 2-core budget allows, so that fewer networks
#: sit at chance level (10%) and the zoo spreads over the whole accuracy range.
CNN_GRID: dict[str, tuple[float, ...]] = {
    "learning_rate": (2e-3, 5e-3, 1e-2, 2e-2, 5e-2),
    "l2reg": (1e-8, 1e-6, 1e-4, 1e-3),
    "init_std": (0.02, 0.05, 0.1, 0.2, 0.5),
    "dropout": (0.0, 0.1, 0.2, 0.3, 0.5),
    "train_fraction": (0.1, 0.25, 0.5, 1.0),
}


@dataclass(frozen=True)
class CNNConfig:
    """Hyperparameters of one zoo network (column names of the dataset are ``config.<field>``)."""

    network_id: int
    activation: str
    optimizer: str
    learning_rate: float
    l2reg: float
    init_std: float
    dropout: float
    train_fraction: float

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"CNNConfig: expected activation in {ACTIVATIONS}, found {self.activation!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"CNNConfig: expected optimizer in {OPTIMIZERS}, found {self.optimizer!r}")
        if not 0.0 <= self.dropout < 1.0 or not 0.0 < self.train_fraction <= 1.0:
            raise ValueError(f"CNNConfig: expected 0 <= dropout < 1 and 0 < train_fraction <= 1, found {self}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_cnn_config(
    network_id: int, activation: str, optimizer: str, seed: int, grid: dict[str, Sequence[float]] | None = None
) -> CNNConfig:
    """Network ``network_id``'s hyperparameters: one value of each grid axis, drawn from ``rng([seed, id])``.

    They depend on ``(seed, network_id)`` only, so any shard or a resumed run draws the same network.

    >>> sample_cnn_config(3, "relu", "adam", seed=0) == sample_cnn_config(3, "relu", "adam", seed=0)
    True
    """
    grid = CNN_GRID if grid is None else grid
    rng = np.random.default_rng([seed, network_id, 0])
    values = {k: float(v[rng.integers(len(v))]) for k, v in grid.items()}
    return CNNConfig(network_id, activation, optimizer, **values)


def init_small_cnn_params(
    init_std: torch.Tensor, generators: Sequence[torch.Generator], device: torch.device | str | None = None
) -> list[torch.Tensor]:
    """Stacked parameters of M Small CNNs: weights ``N(0, init_std_m^2)``, biases 0 (the Small CNN Zoo's init).

    Returns ``[W1 (M,16,1,3,3), b1 (M,16), W2 (M,16,16,3,3), b2, W3, b3, W4 (M,10,16), b4 (M,10)]``.
    """
    spec = small_cnn_spec()
    params = []
    for layer in spec.layers:
        w = torch.stack([torch.randn(layer.weight_shape, generator=g) for g in generators])
        std = init_std.reshape(-1, *([1] * (w.ndim - 1))).to(w.dtype)
        params += [(w * std).to(device), torch.zeros(len(generators), layer.n_out, device=device)]
    return params


def grouped_small_cnn(
    params: Sequence[torch.Tensor], x: torch.Tensor, activation: str, keep: torch.Tensor | None = None
) -> torch.Tensor:
    """Logits ``(B, M, 10)`` of M Small CNNs, one grouped convolution per layer.

    Parameters
    ----------
    params:
        stacked parameters as returned by :func:`init_small_cnn_params`.
    x:
        ``(B, M, H, W)``: network m sees ``x[:, m]``; or ``(B, 1, H, W)``: every network sees the same images.
    keep:
        optional dropout mask (already divided by the keep probability) ``(B, M, 16, h, w)`` on the activations
        of the last convolution.
    """
    act = torch.relu if activation == "relu" else torch.tanh
    w1, b1, w2, b2, w3, b3, w4, b4 = params
    m, c = w1.shape[:2]
    shared = x.shape[1] == 1 and m > 1
    h = F.conv2d(x, w1.reshape(m * c, *w1.shape[2:]), b1.reshape(-1), stride=2, groups=1 if shared else m)
    h = act(h)
    for w, b in ((w2, b2), (w3, b3)):
        h = act(F.conv2d(h, w.reshape(m * c, *w.shape[2:]), b.reshape(-1), stride=2, groups=m))
    bsz = h.shape[0]
    h = h.reshape(bsz, m, c, *h.shape[2:])
    if keep is not None:
        h = h * keep
    # An explicit contiguous bmm: einsum's strided (B, M, .) operands hit a slow batched-matmul path on CPU.
    pooled = h.mean(dim=(3, 4)).transpose(0, 1).contiguous()
    return (torch.bmm(pooled, w4.transpose(1, 2)) + b4[:, None]).transpose(0, 1)


def _single_small_cnn(
    params: Sequence[torch.Tensor], x: torch.Tensor, keep: torch.Tensor, activation: str
) -> torch.Tensor:
    act = torch.relu if activation == "relu" else torch.tanh
    w1, b1, w2, b2, w3, b3, w4, b4 = params
    h = act(F.conv2d(x, w1, b1, stride=2))
    h = act(F.conv2d(h, w2, b2, stride=2))
    h = act(F.conv2d(h, w3, b3, stride=2)) * keep
    return h.mean(dim=(2, 3)) @ w4.T + b4


def small_cnn_flops(image_size: int = 32, train: bool = True) -> int:
    """Multiply-add FLOPs (2 per MAC) of one image through one Small CNN; ``train``: forward + backward (x3).

    >>> small_cnn_flops(train=False)
    332384
    """
    total, size, cin = 0, image_size, 1
    for _ in range(3):
        size = (size - 3) // 2 + 1
        total += 2 * size * size * 16 * cin * 9
        cin = 16
    total += 2 * 16 * 10
    return 3 * total if train else total


class VectorisedOptimizer:
    """One optimizer for M stacked networks with a learning rate per network.

    ``"adam"`` (beta = 0.9, 0.999, eps 1e-8), ``"rmsprop"`` (rho 0.9, eps 1e-7, TensorFlow's defaults) or
    ``"sgd"`` (momentum 0.9). Every update is elementwise, so network m's update depends on its own gradient
    and learning rate only.

    >>> p = [torch.ones(2, 3)]
    >>> opt = VectorisedOptimizer("sgd", p, torch.tensor([0.5, 0.0]))
    >>> opt.step([torch.ones(2, 3)]); p[0][:, 0].tolist()
    [0.5, 1.0]
    """

    def __init__(self, name: str, params: Sequence[torch.Tensor], lr: torch.Tensor) -> None:
        if name not in OPTIMIZERS:
            raise ValueError(f"VectorisedOptimizer: expected one of {OPTIMIZERS}, found {name!r}")
        self.name, self.params, self.t = name, list(params), 0
        self.lr = [lr.to(p).reshape(-1, *([1] * (p.ndim - 1))) for p in self.params]
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params] if name == "adam" else None

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor]) -> None:
        self.t += 1
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if self.name == "sgd":
                self.m[i].mul_(0.9).add_(g)
                p.sub_(self.lr[i] * self.m[i])
            elif self.name == "rmsprop":
                self.m[i].mul_(0.9).addcmul_(g, g, value=0.1)
                p.sub_(self.lr[i] * g / (self.m[i].sqrt() + 1e-7))
            else:
                assert self.v is not None
                self.m[i].mul_(0.9).add_(g, alpha=0.1)
                self.v[i].mul_(0.999).addcmul_(g, g, value=0.001)
                m_hat = self.m[i] / (1 - 0.9**self.t)
                v_hat = self.v[i] / (1 - 0.999**self.t)
                p.sub_(self.lr[i] * m_hat / (v_hat.sqrt() + 1e-8))


@dataclass
class CNNGroupResult:
    """Checkpoints of M networks: ``weights (K, M, 4970)`` flattened in torch layout (``WeightSpace.flatten``
    order), ``test_accuracy``, ``test_loss``, ``train_loss`` ``(K, M)`` at ``steps (K,)``."""

    steps: list[int]
    weights: np.ndarray
    test_accuracy: np.ndarray
    test_loss: np.ndarray
    train_loss: np.ndarray


def _data_streams(configs: Sequence[CNNConfig], n_train: int, total: int, seed: int) -> np.ndarray:
    """``(M, total)`` training indices: network m cycles through its own random subset in its own order."""
    out = np.empty((len(configs), total), dtype=np.int64)
    for i, cfg in enumerate(configs):
        rng = np.random.default_rng([seed, cfg.network_id, 1])
        subset = rng.permutation(n_train)[: max(1, round(cfg.train_fraction * n_train))]
        reps = math.ceil(total / len(subset))
        out[i] = np.concatenate([rng.permutation(subset) for _ in range(reps)])[:total]
    return out


@torch.no_grad()
def _evaluate(
    params: Sequence[torch.Tensor], activation: str, x: torch.Tensor, y: torch.Tensor, batch: int = 250
) -> tuple[torch.Tensor, torch.Tensor]:
    correct = torch.zeros(params[0].shape[0], device=x.device)
    loss = torch.zeros_like(correct)
    for start in range(0, x.shape[0], batch):
        logits = grouped_small_cnn(params, x[start : start + batch], activation)
        target = y[start : start + batch, None].expand(-1, logits.shape[1])
        correct += (logits.argmax(-1) == target).float().sum(0)
        loss += F.cross_entropy(logits.permute(0, 2, 1), target, reduction="none").sum(0)
    finite = torch.stack([p.reshape(p.shape[0], -1).isfinite().all(1) for p in params]).all(0)
    nan = torch.full_like(loss, float("nan"))
    return torch.where(finite, correct / x.shape[0], nan), torch.where(finite, loss / x.shape[0], nan)


def train_cnn_group(
    configs: Sequence[CNNConfig],
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    steps: int,
    checkpoint_steps: Sequence[int],
    batch_size: int = 32,
    seed: int = 0,
    layout: str = "grouped",
    on_step: Callable[[int], None] | None = None,
) -> CNNGroupResult:
    """Train M Small CNNs sharing an activation and optimizer, all at once.

    Parameters
    ----------
    configs:
        M network configurations (same ``activation`` and ``optimizer``).
    train, test:
        ``(images (N, 1, 32, 32), labels (N,))`` on the device to train on.
    steps:
        optimizer steps per network (mini-batches of ``batch_size`` from its own subset).
    checkpoint_steps:
        steps after which the weights and test metrics are recorded (0: the initialisation).
    layout:
        ``"grouped"`` (grouped convolutions) or ``"vmap"`` (``torch.func.vmap`` over one network's forward).
    on_step:
        called after every step with the number of steps done (progress bars).
    """
    if len({(c.activation, c.optimizer) for c in configs}) != 1:
        raise ValueError("train_cnn_group: expected one activation and optimizer for the whole group")
    if layout not in ("grouped", "vmap"):
        raise ValueError(f"train_cnn_group: expected layout 'grouped' or 'vmap', found {layout!r}")
    ckpts = sorted(set(checkpoint_steps))
    if not ckpts or ckpts[0] < 0 or ckpts[-1] > steps:
        raise ValueError(f"train_cnn_group: expected checkpoint steps in [0, {steps}], found {list(checkpoint_steps)}")
    x_train, y_train = train
    x_test, y_test = test
    device = x_train.device
    activation, opt_name = configs[0].activation, configs[0].optimizer
    m = len(configs)

    def column(name: str) -> torch.Tensor:
        return torch.tensor([getattr(c, name) for c in configs], dtype=torch.float32, device=device)

    gens = [
        torch.Generator().manual_seed(int(np.random.default_rng([seed, c.network_id, 2]).integers(2**62)))
        for c in configs
    ]
    params = [p.requires_grad_() for p in init_small_cnn_params(column("init_std"), gens, device)]
    opt = VectorisedOptimizer(opt_name, params, column("learning_rate"))
    l2, drop = column("l2reg"), column("dropout")
    streams = torch.as_tensor(_data_streams(configs, x_train.shape[0], steps * batch_size, seed), device=device)
    streams = streams.reshape(m, steps, batch_size)
    dropout_gen = torch.Generator(device=device).manual_seed(
        int(np.random.default_rng([seed, configs[0].network_id, 3]).integers(2**62))
    )
    single = torch.func.vmap(lambda p, x, k: _single_small_cnn(p, x, k, activation))

    last = x_train.shape[-1]
    for _ in range(3):
        last = (last - 3) // 2 + 1
    record: dict[str, list[Any]] = {"weights": [], "acc": [], "loss": [], "train": []}
    running, count = torch.zeros(m, device=device), 0

    def checkpoint() -> None:
        acc, loss = _evaluate([p.detach() for p in params], activation, x_test, y_test)
        flat = torch.cat([p.detach().reshape(m, -1) for p in params], dim=1)
        record["weights"].append(flat.cpu().numpy())
        record["acc"].append(acc.cpu().numpy())
        record["loss"].append(loss.cpu().numpy())
        record["train"].append((running / max(count, 1)).cpu().numpy() if count else np.full(m, np.nan, np.float32))

    if ckpts[0] == 0:
        checkpoint()
    for step in range(1, steps + 1):
        idx = streams[:, step - 1]
        xb, yb = x_train[idx], y_train[idx]
        keep_p = (1.0 - drop).reshape(1, m, 1, 1, 1)
        keep = (torch.rand(batch_size, m, 16, last, last, generator=dropout_gen, device=device) < keep_p) / keep_p
        if layout == "grouped":
            logits = grouped_small_cnn(params, xb[:, :, 0].transpose(0, 1), activation, keep)
        else:
            logits = single(params, xb, keep.transpose(0, 1)).transpose(0, 1)
        ce = F.cross_entropy(logits.permute(0, 2, 1), yb.T, reduction="none").mean(0)
        penalty = sum(p.pow(2).reshape(m, -1).sum(1) for p in params[0::2])
        grads = torch.autograd.grad((ce + l2 * penalty).sum(), params)
        opt.step(grads)
        running += ce.detach()
        count += 1
        if step in ckpts:
            checkpoint()
            running.zero_()
            count = 0
        if on_step is not None:
            on_step(step)
    return CNNGroupResult(
        steps=ckpts,
        weights=np.stack(record["weights"]),
        test_accuracy=np.stack(record["acc"]),
        test_loss=np.stack(record["loss"]),
        train_loss=np.stack(record["train"]),
    )


def train_cnn_loop(
    configs: Sequence[CNNConfig],
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    steps: int,
    checkpoint_steps: Sequence[int],
    batch_size: int = 32,
    seed: int = 0,
) -> CNNGroupResult:
    """The one-at-a-time reference: :func:`train_cnn_group` on each network alone (same networks, same result
    up to the dropout masks, which are drawn per group)."""
    parts = [train_cnn_group([c], train, test, steps, checkpoint_steps, batch_size, seed) for c in configs]
    return CNNGroupResult(
        steps=parts[0].steps,
        weights=np.concatenate([p.weights for p in parts], axis=1),
        test_accuracy=np.concatenate([p.test_accuracy for p in parts], axis=1),
        test_loss=np.concatenate([p.test_loss for p in parts], axis=1),
        train_loss=np.concatenate([p.train_loss for p in parts], axis=1),
    )
