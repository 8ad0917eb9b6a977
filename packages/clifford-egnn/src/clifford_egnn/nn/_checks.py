"""Input validation shared by the multivector layers."""

from __future__ import annotations

import torch

from clifford_egnn.algebra import CliffordAlgebra


def check_algebra(algebra: object, what: str) -> CliffordAlgebra:
    if not isinstance(algebra, CliffordAlgebra):
        raise ValueError(f"{what}: expected a CliffordAlgebra as first argument, found {type(algebra).__name__}")
    return algebra


def check_channels(channels: object, what: str) -> int:
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ValueError(f"{what}: expected a positive number of channels, found {channels!r}")
    return channels


def check_features(x: torch.Tensor, algebra: CliffordAlgebra, channels: int, what: str) -> None:
    """Check that ``x`` is ``(..., channels, dim)``."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{what}: expected a tensor (..., {channels}, {algebra.dim}), found {type(x).__name__}")
    if x.ndim < 2 or x.shape[-1] != algebra.dim or x.shape[-2] != channels:
        raise ValueError(
            f"{what}: expected multivector features of shape (..., channels={channels}, dim={algebra.dim}), "
            f"found shape {tuple(x.shape)}"
        )


def check_blade_major(x_t: torch.Tensor, algebra: CliffordAlgebra, channels: int, what: str) -> None:
    """Check that ``x_t`` is blade-major ``(dim, channels, items)``."""
    if x_t.ndim != 3 or x_t.shape[:2] != (algebra.dim, channels):
        raise ValueError(f"{what}: expected blade-major ({algebra.dim}, {channels}, items), found {tuple(x_t.shape)}")
