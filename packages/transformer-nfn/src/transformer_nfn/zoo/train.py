"""Train many zoo transformers at once: a batched (``bmm``) forward over stacked parameters and vectorised optimizers.

Every trainable tensor of :class:`~transformer_nfn.zoo.ZooTransformer` is stacked along a leading model axis
``M`` (``params[key]`` has shape ``(M, *shape)`` with the release's state-dict key names). The forward pass
computes, for every model ``m`` at once and on its own mini-batch,

    tokens = patches(x_m) conv1_m + b_m + PE
    X <- MHA_m(LN(X)),  X <- ReLU(LN(X) W_A + b_A) W_B + b_B            (each block, no residuals)
    logits = fc2_m(ReLU(fc1_m(mean_t LN(X))))

exactly as :class:`ZooTransformer` does (checked against it in the tests), with batched matrix products in
place of a Python loop over models. Dropout takes a per-model probability ``p_m`` and sits where
``ZooTransformer`` puts it (attention probabilities, attention output, FFN hidden units). Because the models
share no parameters, the gradient of ``sum_m loss_m`` with respect to ``params[key][m]`` is model ``m``'s own
gradient, so one backward pass trains every model.

The optimizers (:class:`StackedOptimizer`) implement ``torch.optim``'s SGD, SGD with momentum, Adam and RMSprop
update rules (L2 regularisation added to the gradient, as ``weight_decay`` does in ``torch.optim``) with a
learning rate and an L2 coefficient per model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from transformer_nfn.zoo.model import sinusoidal_position_encoding

__all__ = [
    "OPTIMIZERS",
    "ZooArchitecture",
    "StackedOptimizer",
    "init_stacked_params",
    "stacked_forward",
    "stack_state_dicts",
    "unstack_state_dict",
    "warmup_cosine",
]

OPTIMIZERS = ("adam", "rmsprop", "sgd", "sgd_momentum")


@dataclass(frozen=True)
class ZooArchitecture:
    """The sizes of the MNIST zoo transformer (defaults: the Small Transformer Zoo's).

    ``param_shapes()`` lists the trainable tensors in state-dict order, with their torch shapes.

    Examples
    --------
    >>> arch = ZooArchitecture()
    >>> arch.num_tokens, arch.num_params
    (49, 18506)
    """

    embed_dim: int = 32
    num_heads: int = 2
    key_dim: int = 16
    value_dim: int = 16
    num_blocks: int = 2
    ffn_dim: int = 64
    num_classes: int = 10
    image_size: int = 28
    patch_size: int = 4
    in_channels: int = 1

    @property
    def num_tokens(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        d, h, dk, dv, da = self.embed_dim, self.num_heads, self.key_dim, self.value_dim, self.ffn_dim
        shapes: dict[str, tuple[int, ...]] = {
            "embedding.conv1.weight": (d, self.in_channels, self.patch_size, self.patch_size),
            "embedding.conv1.bias": (d,),
        }
        for b in range(self.num_blocks):
            shapes[f"encoder.{b}.attention.queries.weight"] = (h * dk, d)
            shapes[f"encoder.{b}.attention.keys.weight"] = (h * dk, d)
            shapes[f"encoder.{b}.attention.values.weight"] = (h * dv, d)
            shapes[f"encoder.{b}.attention.out_projection.weight"] = (d, h * dv)
            shapes[f"encoder.{b}.fc1.weight"] = (da, d)
            shapes[f"encoder.{b}.fc1.bias"] = (da,)
            shapes[f"encoder.{b}.fc2.weight"] = (d, da)
            shapes[f"encoder.{b}.fc2.bias"] = (d,)
        shapes["classifier.fc1.weight"] = (d, d)
        shapes["classifier.fc1.bias"] = (d,)
        shapes["classifier.fc2.weight"] = (self.num_classes, d)
        shapes["classifier.fc2.bias"] = (self.num_classes,)
        return shapes

    @property
    def num_params(self) -> int:
        return sum(math.prod(s) for s in self.param_shapes().values())

    def model_kwargs(self) -> dict[str, int]:
        """Keyword arguments that build the same :class:`ZooTransformer`."""
        return {
            "embed_dim": self.embed_dim,
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "num_blocks": self.num_blocks,
            "ffn_dim": self.ffn_dim,
            "num_classes": self.num_classes,
            "image_size": self.image_size,
            "patch_size": self.patch_size,
            "in_channels": self.in_channels,
        }


def init_stacked_params(
    arch: ZooArchitecture,
    init_std: torch.Tensor,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> dict[str, torch.Tensor]:
    """Initial parameters of ``M = len(init_std)`` models: weights ``~ N(0, init_std[m]^2)``, biases zero.

    This is the zoo protocol's "init std" hyperparameter (one standard deviation for every weight tensor of a
    model). Returns ``{key: (M, *shape)}`` leaf tensors with ``requires_grad=True``.
    """
    init_std = torch.as_tensor(init_std, dtype=dtype).to(device)
    if init_std.ndim != 1 or not bool((init_std > 0).all()):
        raise ValueError(f"init_std: expected a 1-D tensor of positive values, found {init_std}")
    m = init_std.shape[0]
    params = {}
    for key, shape in arch.param_shapes().items():
        if key.endswith("bias"):
            value = torch.zeros(m, *shape, dtype=dtype, device=device)
        else:
            noise = torch.randn(m, *shape, generator=generator, dtype=dtype, device="cpu").to(device)
            value = noise * init_std.view(m, *([1] * len(shape)))
        params[key] = value.requires_grad_(True)
    return params


def stack_state_dicts(state_dicts: list[Mapping[str, torch.Tensor]], arch: ZooArchitecture) -> dict[str, torch.Tensor]:
    """Stack the trainable tensors of several state dicts along a new leading model axis."""
    return {key: torch.stack([sd[key] for sd in state_dicts]) for key in arch.param_shapes()}


def unstack_state_dict(
    params: Mapping[str, torch.Tensor], index: int, arch: ZooArchitecture
) -> dict[str, torch.Tensor]:
    """The ``index``-th model's state dict (with the fixed ``embedding.pos_embedding`` buffer added)."""
    sd = {key: params[key][index].detach().clone() for key in arch.param_shapes()}
    sd["embedding.pos_embedding"] = sinusoidal_position_encoding(arch.num_tokens, arch.embed_dim)
    return sd


def _dropout(x: torch.Tensor, p: float | torch.Tensor | None, generator: torch.Generator | None) -> torch.Tensor:
    """Inverted dropout, one probability for all models (a float) or one per model (``(M,)``, model axis first)."""
    if p is None or (isinstance(p, float) and p == 0.0):
        return x
    if isinstance(p, float):
        # bernoulli_ with an explicit generator: the same masks on every run, and cheaper than rand + compare
        keep = torch.empty_like(x).bernoulli_(1.0 - p, generator=generator)
        return x * keep / (1.0 - p)
    keep = (1.0 - p).to(x).view(-1, *([1] * (x.ndim - 1)))
    u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x * (u < keep) / keep


def _patches(images: torch.Tensor, arch: ZooArchitecture) -> torch.Tensor:
    """``(M, B, C, H, W) -> (M, B, T, C*k*k)``, patches in row-major order, channel-major inside a patch."""
    m, b, c, hgt, wid = images.shape
    k = arch.patch_size
    x = images.reshape(m, b, c, hgt // k, k, wid // k, k)
    return x.permute(0, 1, 3, 5, 2, 4, 6).reshape(m, b, (hgt // k) * (wid // k), c * k * k)


def _bmm_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Per-model ``x W^T + b``: ``x (M, ..., n_in)``, ``weight (M, n_out, n_in)``, ``bias (M, n_out)``."""
    m = x.shape[0]
    flat = x.reshape(m, -1, x.shape[-1])
    out = (
        torch.bmm(flat, weight.transpose(1, 2))
        if bias is None
        else torch.baddbmm(bias[:, None, :], flat, weight.transpose(1, 2))
    )
    return out.view(*x.shape[:-1], weight.shape[1])


def stacked_forward(
    params: Mapping[str, torch.Tensor],
    images: torch.Tensor,
    arch: ZooArchitecture,
    dropout: float | torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Logits of ``M`` zoo transformers, each on its own images.

    Parameters
    ----------
    params:
        ``{key: (M, *shape)}`` with the release's state-dict keys (see :meth:`ZooArchitecture.param_shapes`).
    images:
        ``(M, B, C, H, W)``: model ``m`` classifies ``images[m]``.
    dropout:
        the dropout probability in training mode: one float for every model, or ``(M,)`` probabilities (one per
        model); ``None`` for evaluation (no dropout).
    generator:
        randomness of the dropout masks (a generator on the device of ``images``).

    Returns
    -------
    torch.Tensor
        ``(M, B, num_classes)`` logits; ``stacked_forward(params, x[None].expand(M, ...))[m]`` equals
        ``ZooTransformer`` with ``params[.][m]`` loaded, in ``eval()`` mode, applied to ``x``.
    """
    if images.ndim != 5:
        raise ValueError(f"images: expected shape (M, B, C, H, W), found {tuple(images.shape)}")
    m, b = images.shape[:2]
    d, h, dk, dv, t = arch.embed_dim, arch.num_heads, arch.key_dim, arch.value_dim, arch.num_tokens
    conv_w = params["embedding.conv1.weight"].reshape(m, d, -1)
    pe = sinusoidal_position_encoding(t, d).to(device=images.device, dtype=images.dtype)
    x = _bmm_linear(_patches(images, arch), conv_w, params["embedding.conv1.bias"]) + pe
    scale = 1.0 / math.sqrt(dk)
    for blk in range(arch.num_blocks):
        pre = f"encoder.{blk}."
        y = F.layer_norm(x, (d,))
        q = _bmm_linear(y, params[pre + "attention.queries.weight"]).view(m, b, t, h, dk).transpose(2, 3)
        k = _bmm_linear(y, params[pre + "attention.keys.weight"]).view(m, b, t, h, dk).transpose(2, 3)
        v = _bmm_linear(y, params[pre + "attention.values.weight"]).view(m, b, t, h, dv).transpose(2, 3)
        scores = torch.matmul(q, k.transpose(-1, -2)) * scale
        probs = _dropout(torch.softmax(scores, dim=-1), dropout, generator)
        heads = torch.matmul(probs, v).transpose(2, 3).reshape(m, b, t, h * dv)
        x = _dropout(_bmm_linear(heads, params[pre + "attention.out_projection.weight"]), dropout, generator)
        hidden = F.relu(_bmm_linear(F.layer_norm(x, (d,)), params[pre + "fc1.weight"], params[pre + "fc1.bias"]))
        x = _bmm_linear(_dropout(hidden, dropout, generator), params[pre + "fc2.weight"], params[pre + "fc2.bias"])
    z = F.layer_norm(x, (d,)).mean(dim=2)
    z = F.relu(_bmm_linear(z, params["classifier.fc1.weight"], params["classifier.fc1.bias"]))
    return _bmm_linear(z, params["classifier.fc2.weight"], params["classifier.fc2.bias"])


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, final_factor: float = 0.0) -> float:
    """Learning-rate factor: linear warm-up to 1 over ``warmup_steps``, then cosine decay to ``final_factor``.

    Examples
    --------
    >>> [round(warmup_cosine(s, 10, 2), 3) for s in (0, 1, 2, 6, 10)]
    [0.5, 1.0, 1.0, 0.5, 0.0]
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return final_factor + (1.0 - final_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class StackedOptimizer:
    """One optimizer family for ``M`` stacked models, each with its own learning rate and L2 coefficient.

    The update rules are ``torch.optim``'s (defaults: momentum 0.9; Adam betas (0.9, 0.999), eps 1e-8;
    RMSprop alpha 0.99, eps 1e-8), with ``g <- g + l2_m * p`` first (``weight_decay``). ``step(factor)``
    multiplies every learning rate by the schedule's ``factor``.

    Examples
    --------
    >>> p = {"w": torch.ones(2, 3, dtype=torch.float64, requires_grad=True)}
    >>> opt = StackedOptimizer(p, "sgd", lr=torch.tensor([0.25, 0.5]), l2=torch.zeros(2))
    >>> p["w"].sum().backward()
    >>> opt.step()
    >>> p["w"][:, 0].tolist()
    [0.75, 0.5]
    """

    def __init__(
        self,
        params: Mapping[str, torch.Tensor],
        optimizer: str,
        lr: torch.Tensor,
        l2: torch.Tensor,
        momentum: float = 0.9,
        betas: tuple[float, float] = (0.9, 0.999),
        alpha: float = 0.99,
        eps: float = 1e-8,
    ) -> None:
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, found {optimizer!r}")
        self.params = dict(params)
        self.optimizer = optimizer
        m = next(iter(self.params.values())).shape[0]
        if lr.shape != (m,) or l2.shape != (m,):
            raise ValueError(f"lr, l2: expected shape ({m},), found {tuple(lr.shape)} and {tuple(l2.shape)}")
        self.lr, self.l2 = lr, l2
        self.momentum, self.betas, self.alpha, self.eps = momentum, betas, alpha, eps
        self.steps = 0
        self.state: dict[str, dict[str, torch.Tensor]] = {}

    def _per_model(self, v: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return v.to(p).view(-1, *([1] * (p.ndim - 1)))

    @torch.no_grad()
    def step(self, factor: float = 1.0) -> None:
        self.steps += 1
        for key, p in self.params.items():
            if p.grad is None:
                continue
            lr = self._per_model(self.lr, p) * factor
            g = p.grad + self._per_model(self.l2, p) * p
            st = self.state.setdefault(key, {})
            if self.optimizer == "sgd":
                p.sub_(lr * g)
            elif self.optimizer == "sgd_momentum":
                buf = st.get("buf")
                buf = g.clone() if buf is None else buf.mul_(self.momentum).add_(g)
                st["buf"] = buf
                p.sub_(lr * buf)
            elif self.optimizer == "adam":
                b1, b2 = self.betas
                m1 = st.setdefault("m", torch.zeros_like(p)).mul_(b1).add_(g, alpha=1 - b1)
                m2 = st.setdefault("v", torch.zeros_like(p)).mul_(b2).addcmul_(g, g, value=1 - b2)
                c1, c2 = 1 - b1**self.steps, 1 - b2**self.steps
                p.sub_(lr / c1 * m1 / (m2.div(c2).sqrt_().add_(self.eps)))
            else:
                sq = st.setdefault("sq", torch.zeros_like(p)).mul_(self.alpha).addcmul_(g, g, value=1 - self.alpha)
                p.sub_(lr * g / (sq.sqrt().add_(self.eps)))
            p.grad = None
