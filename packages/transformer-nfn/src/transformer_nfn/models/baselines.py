"""Baselines for predicting accuracy from transformer weights: flat MLP, STATNN, gradient-boosted trees.

None of them is invariant to the encoder's symmetry group; they see the weights as a plain vector (or as
per-tensor statistics, which are invariant to the permutations but not to the GL factors).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from transformer_nfn.models.predictor import mlp
from transformer_nfn.weightspace import ENCODER_FIELDS, TransformerWeightSpace

__all__ = [
    "STATNN_QUANTILES",
    "FlatMLPPredictor",
    "GradientBoostedTreesPredictor",
    "STATNNPredictor",
    "statnn_features",
]

STATNN_QUANTILES: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)


def _stats(x: torch.Tensor) -> torch.Tensor:
    """``(..., n)`` -> ``(..., 7)``: mean, variance and the 0/25/50/75/100 % quantiles."""
    q = torch.tensor(STATNN_QUANTILES, dtype=x.dtype, device=x.device)
    quant = torch.quantile(x, q, dim=-1).movedim(0, -1)
    return torch.cat([x.mean(-1, keepdim=True), x.var(-1, unbiased=False, keepdim=True), quant], dim=-1)


def statnn_features(ws: TransformerWeightSpace, extras: bool = True) -> torch.Tensor:
    """STATNN features (Unterthiner et al. 2020): 7 statistics per weight tensor, ``(B, 7 * num_tensors)``.

    Tensors: per block and channel, ``W_Q, W_K, W_V`` (all heads together, as ``queries.weight`` etc.),
    ``W_O``, ``W_A``, ``W_B``, ``b_A``, ``b_B``; then each trainable extra in sorted key order. Statistics:
    mean, variance (population), and the 0, 25, 50, 75, 100 % quantiles.

    >>> from transformer_nfn import TransformerSpec
    >>> ws = TransformerWeightSpace.randn(TransformerSpec.parse("L2-D4-h2-k2-v2-A3"), batch_size=5)
    >>> statnn_features(ws).shape
    torch.Size([5, 112])
    """
    B = ws.batch_size
    parts = []
    for name in ENCODER_FIELDS:
        t = getattr(ws, name)
        parts.append(_stats(t.reshape(B, t.shape[1], t.shape[2], -1)).reshape(B, -1))
    if extras:
        for k in sorted(ws.extras):
            if k != "embedding.pos_embedding":
                parts.append(_stats(ws.extras[k].reshape(B, -1)))
    return torch.cat(parts, dim=1)


class FlatMLPPredictor(nn.Module):
    """An MLP on all weights as one vector: ``p = sigmoid(MLP(flatten(W)))``; not invariant to any symmetry.

    Takes a :class:`~transformer_nfn.TransformerWeightSpace`, returns ``(B,)`` predictions in (0, 1).

    >>> from transformer_nfn import TransformerSpec
    >>> ws = TransformerWeightSpace.randn(TransformerSpec.parse("L1-D4-h2-k2-v2-A3"), batch_size=2)
    >>> FlatMLPPredictor(ws.flatten().shape[1], hidden=(8, 8))(ws).shape
    torch.Size([2])
    """

    def __init__(self, in_features: int, hidden: Sequence[int] = (256, 256), extras: bool = True) -> None:
        super().__init__()
        self.in_features, self.extras = in_features, extras
        self.net = mlp([in_features, *hidden, 1], final_activation=False)

    def forward(self, ws: TransformerWeightSpace) -> torch.Tensor:
        x = ws.flatten(extras=self.extras)
        if x.shape[1] != self.in_features:
            raise ValueError(f"FlatMLPPredictor: expected {self.in_features} weights per network, found {x.shape[1]}")
        return torch.sigmoid(self.net(x)).squeeze(-1)


class STATNNPredictor(nn.Module):
    """An MLP on :func:`statnn_features`: ``p = sigmoid(MLP(stats(W)))``.

    The statistics are invariant to the permutations (heads, ``P_O``, ``P_A``) but not to the GL factors.
    Takes a :class:`~transformer_nfn.TransformerWeightSpace`, returns ``(B,)`` predictions in (0, 1).

    >>> from transformer_nfn import TransformerSpec
    >>> ws = TransformerWeightSpace.randn(TransformerSpec.parse("L1-D4-h2-k2-v2-A3"), batch_size=2)
    >>> STATNNPredictor(statnn_features(ws).shape[1], hidden=(8,))(ws).shape
    torch.Size([2])
    """

    def __init__(self, in_features: int, hidden: Sequence[int] = (256, 256), extras: bool = True) -> None:
        super().__init__()
        self.in_features, self.extras = in_features, extras
        self.net = mlp([in_features, *hidden, 1], final_activation=False)

    def forward(self, ws: TransformerWeightSpace) -> torch.Tensor:
        x = statnn_features(ws, extras=self.extras)
        if x.shape[1] != self.in_features:
            raise ValueError(f"STATNNPredictor: expected {self.in_features} statistics per network, found {x.shape[1]}")
        return torch.sigmoid(self.net(x)).squeeze(-1)


class GradientBoostedTreesPredictor:
    """Gradient-boosted regression trees on the raw (flattened) weights.

    Wraps scikit-learn's ``HistGradientBoostingRegressor`` (imported when first used; install the optional
    extra ``transformer-nfn[trees]``). ``fit(ws, accuracy)``, ``predict(ws) -> (B,)`` float64 tensor.

    Parameters
    ----------
    features:
        ``"raw"`` (all weights, :meth:`TransformerWeightSpace.flatten`) or ``"statnn"`` (:func:`statnn_features`).
    **kwargs:
        passed to ``HistGradientBoostingRegressor`` (e.g. ``max_iter``, ``learning_rate``, ``random_state``).

    Examples
    --------
    >>> from transformer_nfn import TransformerSpec
    >>> ws = TransformerWeightSpace.randn(TransformerSpec.parse("L1-D4-h2-k2-v2-A3"), batch_size=40)
    >>> gbt = GradientBoostedTreesPredictor(max_iter=5, random_state=0).fit(ws, ws.b_b[:, 0, 0, 0])
    >>> gbt.predict(ws).shape
    torch.Size([40])
    """

    def __init__(self, features: str = "raw", **kwargs: Any) -> None:
        if features not in ("raw", "statnn"):
            raise ValueError(f"features: expected 'raw' or 'statnn', found {features!r}")
        self.features, self.kwargs = features, kwargs
        self.model: Any = None

    def _x(self, ws: TransformerWeightSpace) -> np.ndarray:
        x = ws.flatten() if self.features == "raw" else statnn_features(ws)
        return x.detach().to(torch.float64).cpu().numpy()

    def fit(self, ws: TransformerWeightSpace, target: torch.Tensor | np.ndarray) -> GradientBoostedTreesPredictor:
        try:
            from sklearn.ensemble import HistGradientBoostingRegressor
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError(
                "GradientBoostedTreesPredictor needs scikit-learn: pip install 'transformer-nfn[trees]'"
            ) from err
        y = target.detach().cpu().numpy() if isinstance(target, torch.Tensor) else np.asarray(target)
        if y.shape != (ws.batch_size,):
            raise ValueError(f"target: expected shape ({ws.batch_size},), found {y.shape}")
        self.model = HistGradientBoostingRegressor(**self.kwargs).fit(self._x(ws), y)
        return self

    def predict(self, ws: TransformerWeightSpace) -> torch.Tensor:
        if self.model is None:
            raise ValueError("GradientBoostedTreesPredictor.predict: expected a fitted model, call fit() first")
        return torch.from_numpy(self.model.predict(self._x(ws)))
