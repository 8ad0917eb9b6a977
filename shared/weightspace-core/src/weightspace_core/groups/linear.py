"""Continuous matrix groups: orthogonal O(n), Euclidean E(n) and general linear GL(n)."""

from __future__ import annotations

import math

import torch

from weightspace_core.groups._base import GroupElement, _axis, _generator_device, _matmul_along


def _gaussian(shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    device = _generator_device(generator)
    return torch.randn(shape, generator=generator, device=device, dtype=torch.float64).cpu()


def haar_orthogonal(n: int, det: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """A Haar-distributed ``(n, n)`` orthogonal matrix (float64).

    QR of a Gaussian matrix with the signs of ``diag(R)`` moved into ``Q`` (Mezzadri 2007). ``det=+1`` gives a
    rotation, ``det=-1`` a reflection (the first column is negated, which keeps the Haar measure on that
    component); ``None`` leaves the determinant random.
    """
    if n < 1:
        raise ValueError(f"n: expected a positive dimension, found {n}")
    if det not in (None, 1, -1):
        raise ValueError(f"det: expected None, +1 or -1, found {det!r}")
    q: torch.Tensor
    q, r = torch.linalg.qr(_gaussian((n, n), generator))
    signs = torch.sign(torch.diagonal(r))
    signs[signs == 0] = 1
    q = q * signs[None, :]
    if det is not None and torch.sign(torch.linalg.det(q)).item() != det:
        q[:, 0] = -q[:, 0]
    return q


class _MatrixElement(GroupElement):
    """An element stored as a dense float64 matrix."""

    def __init__(self, matrix: torch.Tensor) -> None:
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"{type(self).__name__}: expected a square matrix, found shape {tuple(matrix.shape)}")
        self._matrix = matrix.to(torch.float64)

    @property
    def n(self) -> int:
        return self._matrix.shape[0]

    def matrix(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        return self._matrix.to(dtype)

    def apply(self, x: torch.Tensor, dim: int = -1) -> torch.Tensor:
        axis = _axis(x, dim, self.n, f"{type(self).__name__}.apply")
        return _matmul_along(self._matrix, x, axis)


class Orthogonal(_MatrixElement):
    """An orthogonal matrix ``Q`` (``Q^T Q = I``): a rotation (det +1) or a reflection (det -1) of ``R^n``.

    Examples
    --------
    >>> import torch
    >>> gen = torch.Generator().manual_seed(0)
    >>> Q = Orthogonal.sample(5, det=-1, generator=gen)
    >>> round(torch.linalg.det(Q.matrix()).item(), 6)
    -1.0
    """

    def __init__(self, matrix: torch.Tensor, check: bool = True) -> None:
        super().__init__(matrix)
        if check:
            err = (self._matrix.T @ self._matrix - torch.eye(self.n, dtype=torch.float64)).abs().max().item()
            if err > 1e-8:
                raise ValueError(f"Orthogonal: expected Q^T Q = I, found max deviation {err:.3g}")

    @classmethod
    def identity(cls, n: int) -> Orthogonal:
        return cls(torch.eye(n, dtype=torch.float64))

    @classmethod
    def sample(cls, n: int, det: int | None = None, generator: torch.Generator | None = None) -> Orthogonal:
        """Haar-random element of O(n); ``det=+1`` for rotations only, ``det=-1`` for reflections only."""
        return cls(haar_orthogonal(n, det, generator), check=False)

    @property
    def det(self) -> int:
        return 1 if torch.linalg.det(self._matrix).item() > 0 else -1

    def inverse(self) -> Orthogonal:
        return Orthogonal(self._matrix.T.clone(), check=False)

    def transpose(self) -> Orthogonal:
        return self.inverse()

    def compose(self, other: Orthogonal) -> Orthogonal:
        self._check_same_n(other)
        return Orthogonal(self._matrix @ other._matrix.to(self._matrix.device), check=False)

    def to(self, device: torch.device | str) -> Orthogonal:
        return Orthogonal(self._matrix.to(device), check=False)


class GeneralLinear(_MatrixElement):
    """An invertible matrix ``A`` in GL(n); the inverse is computed once and kept.

    Examples
    --------
    >>> import torch
    >>> A = GeneralLinear.sample(4, condition=10.0, generator=torch.Generator().manual_seed(0))
    >>> bool(torch.linalg.cond(A.matrix()) <= 10.0 + 1e-9)
    True
    """

    def __init__(self, matrix: torch.Tensor, inverse: torch.Tensor | None = None) -> None:
        super().__init__(matrix)
        if inverse is None:
            if torch.linalg.matrix_rank(self._matrix).item() < self.n:
                raise ValueError(
                    f"GeneralLinear: expected an invertible {self.n}x{self.n} matrix, found a singular one"
                )
            inverse = torch.linalg.inv(self._matrix)
        self._inverse = inverse.to(torch.float64)

    @classmethod
    def identity(cls, n: int) -> GeneralLinear:
        eye = torch.eye(n, dtype=torch.float64)
        return cls(eye, eye.clone())

    @classmethod
    def sample(cls, n: int, condition: float = 10.0, generator: torch.Generator | None = None) -> GeneralLinear:
        """A random ``U diag(s) V^T`` with Haar ``U, V`` and ``s`` log-uniform in
        ``[condition^-1/2, condition^1/2]``: determinant of either sign, condition number at most ``condition``."""
        if condition < 1:
            raise ValueError(f"condition: expected a condition number >= 1, found {condition}")
        u = haar_orthogonal(n, generator=generator)
        v = haar_orthogonal(n, generator=generator)
        half = 0.5 * math.log(condition)
        device = _generator_device(generator)
        log_s = (torch.rand(n, generator=generator, device=device, dtype=torch.float64).cpu() * 2 - 1) * half
        s = torch.exp(log_s)
        return cls(u @ torch.diag(s) @ v.T, v @ torch.diag(1 / s) @ u.T)

    def inverse(self) -> GeneralLinear:
        return GeneralLinear(self._inverse, self._matrix)

    def transpose(self) -> GeneralLinear:
        return GeneralLinear(self._matrix.T.clone(), self._inverse.T.clone())

    def compose(self, other: GeneralLinear) -> GeneralLinear:
        self._check_same_n(other)
        return GeneralLinear(self._matrix @ other._matrix, other._inverse @ self._inverse)

    def to(self, device: torch.device | str) -> GeneralLinear:
        return GeneralLinear(self._matrix.to(device), self._inverse.to(device))


class Euclidean:
    """A Euclidean motion ``x -> Q x + t`` of ``R^n`` (orthogonal part ``Q``, translation ``t``).

    Points transform with :meth:`apply`; difference vectors, velocities and other translation-free quantities
    with :meth:`apply_to_vectors`.

    Examples
    --------
    >>> import torch
    >>> gen = torch.Generator().manual_seed(0)
    >>> g = Euclidean.sample(3, generator=gen)
    >>> x = torch.randn(10, 3, dtype=torch.float64)
    >>> torch.allclose(g.inverse().apply(g.apply(x)), x)
    True
    """

    def __init__(self, rotation: Orthogonal, translation: torch.Tensor) -> None:
        if translation.shape != (rotation.n,):
            raise ValueError(
                f"Euclidean: expected a translation of shape ({rotation.n},), found {tuple(translation.shape)}"
            )
        self.rotation = rotation
        self.translation = translation.to(torch.float64)

    @classmethod
    def identity(cls, n: int) -> Euclidean:
        return cls(Orthogonal.identity(n), torch.zeros(n, dtype=torch.float64))

    @classmethod
    def sample(
        cls,
        n: int,
        det: int | None = None,
        translation_scale: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> Euclidean:
        """Haar-random orthogonal part (see :meth:`Orthogonal.sample`) and a Gaussian translation."""
        rotation = Orthogonal.sample(n, det=det, generator=generator)
        return cls(rotation, translation_scale * _gaussian((n,), generator))

    @property
    def n(self) -> int:
        return self.rotation.n

    def matrix(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """The ``(n + 1, n + 1)`` homogeneous matrix ``[[Q, t], [0, 1]]``."""
        out = torch.eye(self.n + 1, dtype=dtype)
        out[: self.n, : self.n] = self.rotation.matrix(dtype)
        out[: self.n, self.n] = self.translation.to(dtype)
        return out

    def inverse(self) -> Euclidean:
        inv = self.rotation.inverse()
        return Euclidean(inv, -inv.apply(self.translation))

    def compose(self, other: Euclidean) -> Euclidean:
        return Euclidean(self.rotation @ other.rotation, self.rotation.apply(other.translation) + self.translation)

    def __matmul__(self, other: Euclidean) -> Euclidean:
        if not isinstance(other, Euclidean):
            return NotImplemented
        return self.compose(other)

    def apply(self, x: torch.Tensor, dim: int = -1) -> torch.Tensor:
        """Transform points: ``Q x + t`` along ``dim``."""
        axis = _axis(x, dim, self.n, "Euclidean.apply")
        shape = [1] * x.ndim
        shape[axis] = self.n
        t = self.translation.to(dtype=x.dtype, device=x.device).reshape(shape)
        return self.rotation.apply(x, axis) + t

    def apply_to_vectors(self, x: torch.Tensor, dim: int = -1) -> torch.Tensor:
        """Transform translation-free vectors: ``Q x`` along ``dim``."""
        return self.rotation.apply(x, dim)

    def to(self, device: torch.device | str) -> Euclidean:
        return Euclidean(self.rotation.to(device), self.translation.to(device))

    def __repr__(self) -> str:
        return f"Euclidean(n={self.n})"
