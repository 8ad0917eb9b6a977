"""The interface shared by every finite-dimensional group element in :mod:`weightspace_core.groups`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TypeVar

import torch

_G = TypeVar("_G", bound="GroupElement")


def _axis(x: torch.Tensor, dim: int, n: int, what: str) -> int:
    """Normalise ``dim`` and check that ``x`` has ``n`` entries along it."""
    if x.ndim == 0:
        raise ValueError(f"{what}: expected a tensor with at least one axis, found a scalar")
    axis = dim % x.ndim if -x.ndim <= dim < x.ndim else None
    if axis is None:
        raise ValueError(f"{what}: axis {dim} is out of range for a tensor of shape {tuple(x.shape)}")
    if x.shape[axis] != n:
        raise ValueError(f"{what}: expected {n} entries along axis {dim}, found shape {tuple(x.shape)}")
    return axis


def _generator_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


class GroupElement(ABC):
    """An element ``g`` of a matrix group acting on ``R^n``.

    Every element can be turned into its ``(n, n)`` matrix, inverted, composed with another element of the
    same kind (``g @ h`` is the matrix product, so ``(g @ h).apply(x) == g.apply(h.apply(x))``), and applied
    to a tensor along any axis: ``g.apply(x, dim)`` multiplies the vectors that lie along ``dim`` by ``g``.
    Matrices are held in float64 and cast to the dtype of the tensor they act on.
    """

    @property
    @abstractmethod
    def n(self) -> int:
        """Dimension of the space the element acts on."""

    @abstractmethod
    def matrix(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """The ``(n, n)`` matrix of the element."""

    @abstractmethod
    def inverse(self: _G) -> _G:
        """The inverse element."""

    @abstractmethod
    def transpose(self: _G) -> _G:
        """The transposed matrix, which belongs to the same group."""

    @abstractmethod
    def compose(self: _G, other: _G) -> _G:
        """The product ``self @ other`` (apply ``other`` first)."""

    @abstractmethod
    def apply(self, x: torch.Tensor, dim: int = -1) -> torch.Tensor:
        """Multiply the vectors along ``dim`` by the matrix: ``x'_i = sum_j g_ij x_j``."""

    @abstractmethod
    def to(self: _G, device: torch.device | str) -> _G:
        """The same element with its tensors on ``device``."""

    def apply_inverse_transpose(self, x: torch.Tensor, dim: int = -1) -> torch.Tensor:
        """Multiply along ``dim`` by ``g^{-T}``: the action on the column index of ``W -> W g^{-1}``."""
        return self.inverse().transpose().apply(x, dim)

    def __matmul__(self: _G, other: _G) -> _G:
        if type(other) is not type(self):
            return NotImplemented
        return self.compose(other)

    def _check_same_n(self, other: GroupElement) -> None:
        if other.n != self.n:
            raise ValueError(f"cannot compose elements acting on R^{self.n} and R^{other.n}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n})"


def _matmul_along(matrix: torch.Tensor, x: torch.Tensor, axis: int) -> torch.Tensor:
    """``x'_i = sum_j M_ij x_j`` along ``axis``."""
    moved = x.movedim(axis, -1)
    out = moved @ matrix.to(dtype=x.dtype, device=x.device).T
    return out.movedim(-1, axis)
