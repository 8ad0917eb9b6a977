"""Scatter and segment reductions for message passing, on native ``index_add_`` (no compiled extension).

``scatter_sum(src, index, dim_size)[k] = sum_{e : index[e] = k} src[e]`` along axis 0 (or ``dim``);
``scatter_mean`` divides by the number of entries per target (targets with none give 0). The segment versions
take contiguous runs given by their lengths (as produced by batching graphs) instead of an index per entry.
All are differentiable with respect to ``src``.
"""

from __future__ import annotations

import torch

__all__ = ["scatter_mean", "scatter_sum", "segment_mean", "segment_sum"]


def _check_index(src: torch.Tensor, index: torch.Tensor, dim_size: int, axis: int) -> None:
    if index.dtype != torch.long:
        raise ValueError(f"index: expected dtype torch.int64, found {index.dtype}")
    if index.ndim != 1 or index.numel() != src.shape[axis]:
        raise ValueError(
            f"index: expected shape ({src.shape[axis]},) to match src {tuple(src.shape)} along axis {axis}, "
            f"found {tuple(index.shape)}"
        )
    if dim_size < 0:
        raise ValueError(f"dim_size: expected a non-negative size, found {dim_size}")
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= dim_size):
        raise ValueError(
            f"index: expected values in [0, {dim_size}), found range [{int(index.min())}, {int(index.max())}]"
        )


def scatter_sum(src: torch.Tensor, index: torch.Tensor, dim_size: int, dim: int = 0) -> torch.Tensor:
    """Sum the slices of ``src`` along ``dim`` into ``dim_size`` buckets given by ``index`` (int64, 1-d).

    Examples
    --------
    >>> import torch
    >>> scatter_sum(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0, 2, 0]), dim_size=3)
    tensor([4., 0., 2.])
    """
    axis = dim % src.ndim
    _check_index(src, index, dim_size, axis)
    shape = list(src.shape)
    shape[axis] = dim_size
    return src.new_zeros(shape).index_add_(axis, index, src)


def _counts(index: torch.Tensor, dim_size: int, ndim: int, axis: int, dtype: torch.dtype) -> torch.Tensor:
    counts = torch.bincount(index, minlength=dim_size).to(dtype).clamp_(min=1)
    shape = [1] * ndim
    shape[axis] = dim_size
    return counts.reshape(shape)


def scatter_mean(src: torch.Tensor, index: torch.Tensor, dim_size: int, dim: int = 0) -> torch.Tensor:
    """Mean of the slices of ``src`` per bucket (0 for empty buckets).

    Examples
    --------
    >>> import torch
    >>> scatter_mean(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0, 2, 0]), dim_size=3)
    tensor([2., 0., 2.])
    """
    axis = dim % src.ndim
    total = scatter_sum(src, index, dim_size, axis)
    return total / _counts(index, dim_size, src.ndim, axis, src.dtype)


def _segment_index(lengths: torch.Tensor, src: torch.Tensor, axis: int) -> torch.Tensor:
    if lengths.ndim != 1 or lengths.dtype != torch.long or bool((lengths < 0).any()):
        raise ValueError(f"lengths: expected a 1-d int64 tensor of non-negative lengths, found {lengths}")
    if int(lengths.sum()) != src.shape[axis]:
        raise ValueError(
            f"lengths: expected them to sum to {src.shape[axis]} (src along axis {axis}), found {int(lengths.sum())}"
        )
    return torch.repeat_interleave(torch.arange(lengths.numel(), device=lengths.device), lengths)


def segment_sum(src: torch.Tensor, lengths: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Sum over contiguous segments of ``src`` along ``dim`` of the given ``lengths`` (int64).

    >>> import torch
    >>> segment_sum(torch.arange(5.0), torch.tensor([2, 3]))
    tensor([1., 9.])
    """
    axis = dim % src.ndim
    index = _segment_index(lengths, src, axis)
    return scatter_sum(src, index, lengths.numel(), axis)


def segment_mean(src: torch.Tensor, lengths: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Mean over contiguous segments of ``src`` along ``dim`` (0 for empty segments)."""
    axis = dim % src.ndim
    index = _segment_index(lengths, src, axis)
    return scatter_mean(src, index, lengths.numel(), axis)
