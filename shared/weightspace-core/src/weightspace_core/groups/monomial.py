"""Permutations and monomial matrices (a diagonal times a permutation)."""

from __future__ import annotations

from typing import Literal

import torch

from weightspace_core.groups._base import GroupElement, _axis, _generator_device

MonomialKind = Literal["scale", "sign", "permutation"]
MONOMIAL_KINDS: tuple[str, ...] = ("scale", "sign", "permutation")


def _check_perm(perm: torch.Tensor, what: str) -> torch.Tensor:
    if perm.ndim != 1 or perm.dtype != torch.long:
        raise ValueError(f"{what}: expected a 1-d int64 tensor, found shape {tuple(perm.shape)} and dtype {perm.dtype}")
    n = perm.numel()
    if not torch.equal(torch.sort(perm).values, torch.arange(n, device=perm.device)):
        raise ValueError(f"{what}: expected a permutation of 0..{n - 1}, found {perm.tolist()}")
    return perm


def sample_perm(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A uniformly random permutation of ``0..n-1`` as an int64 tensor."""
    device = _generator_device(generator)
    return torch.randperm(n, generator=generator, device=device).cpu()


def sample_diagonal(
    n: int,
    kind: str,
    scale_range: tuple[float, float] = (1e-2, 1e2),
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Diagonal entries for a monomial matrix, float64 of shape ``(n,)``.

    ``kind="scale"``: positive factors, log-uniform in ``scale_range``; ``"sign"``: +-1 with probability 1/2
    each; ``"permutation"``: all ones.
    """
    device = _generator_device(generator)
    if kind == "scale":
        lo, hi = scale_range
        if not 0 < lo <= hi:
            raise ValueError(f"scale_range: expected 0 < low <= high, found {scale_range}")
        u = torch.rand(n, generator=generator, device=device, dtype=torch.float64).cpu()
        log_lo, log_hi = (
            torch.log(torch.tensor(lo, dtype=torch.float64)),
            torch.log(torch.tensor(hi, dtype=torch.float64)),
        )
        return torch.exp(log_lo + u * (log_hi - log_lo))
    if kind == "sign":
        bits = torch.randint(0, 2, (n,), generator=generator, device=device).cpu()
        return bits.to(torch.float64) * 2 - 1
    if kind == "permutation":
        return torch.ones(n, dtype=torch.float64)
    raise ValueError(f"kind: expected one of {MONOMIAL_KINDS}, found {kind!r}")


class Permutation(GroupElement):
    """A permutation matrix ``P`` with ``(P x)_i = x_{perm[i]}``.

    Parameters
    ----------
    perm:
        int64 tensor of shape ``(n,)`` holding a permutation of ``0..n-1``.

    Examples
    --------
    >>> import torch
    >>> g = Permutation(torch.tensor([2, 0, 1]))
    >>> g.apply(torch.tensor([10.0, 20.0, 30.0]))
    tensor([30., 10., 20.])
    >>> (g @ g.inverse()).perm.tolist()
    [0, 1, 2]
    """

    def __init__(self, perm: torch.Tensor) -> None:
        self.perm = _check_perm(perm, "Permutation")

    @classmethod
    def identity(cls, n: int) -> Permutation:
        return cls(torch.arange(n))

    @classmethod
    def sample(cls, n: int, generator: torch.Generator | None = None) -> Permutation:
        """A uniformly random permutation of ``n`` items."""
        return cls(sample_perm(n, generator))

    @property
    def n(self) -> int:
        return self.perm.numel()

    def matrix(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        eye = torch.eye(self.n, dtype=dtype, device=self.perm.device)
        return eye[self.perm]

    def inverse(self) -> Permutation:
        return Permutation(torch.argsort(self.perm))

    def transpose(self) -> Permutation:
        return self.inverse()

    def compose(self, other: Permutation) -> Permutation:
        self._check_same_n(other)
        return Permutation(other.perm[self.perm])

    def apply(self, x: torch.Tensor, dim: int = -1) -> torch.Tensor:
        axis = _axis(x, dim, self.n, "Permutation.apply")
        return x.index_select(axis, self.perm.to(x.device))

    def to(self, device: torch.device | str) -> Permutation:
        return Permutation(self.perm.to(device))


class Monomial(GroupElement):
    """A monomial matrix ``g = D P``: ``(g x)_i = d_i x_{perm[i]}``.

    With positive ``d`` it is a permuted scaling (the symmetry of ReLU networks); with ``d`` in {+1, -1} a
    signed permutation (the symmetry of tanh and sine networks).

    Parameters
    ----------
    diag:
        shape ``(n,)``, non-zero diagonal entries (stored in float64).
    perm:
        int64 shape ``(n,)``, a permutation of ``0..n-1``.

    Examples
    --------
    >>> import torch
    >>> gen = torch.Generator().manual_seed(0)
    >>> g = Monomial.sample(4, kind="sign", generator=gen)
    >>> x = torch.randn(4, dtype=torch.float64)
    >>> torch.allclose(g.inverse().apply(g.apply(x)), x)
    True
    """

    def __init__(self, diag: torch.Tensor, perm: torch.Tensor) -> None:
        if diag.ndim != 1 or diag.shape != perm.shape:
            raise ValueError(
                f"Monomial: expected diag and perm of the same shape (n,), found {tuple(diag.shape)} "
                f"and {tuple(perm.shape)}"
            )
        if not bool(torch.all(diag != 0)):
            raise ValueError("Monomial: expected non-zero diagonal entries, found a zero")
        self.diag = diag.to(torch.float64)
        self.perm = _check_perm(perm, "Monomial")

    @classmethod
    def identity(cls, n: int) -> Monomial:
        return cls(torch.ones(n, dtype=torch.float64), torch.arange(n))

    @classmethod
    def sample(
        cls,
        n: int,
        kind: str = "scale",
        scale_range: tuple[float, float] = (1e-2, 1e2),
        generator: torch.Generator | None = None,
    ) -> Monomial:
        """A random permutation times a random diagonal of the given ``kind`` (see :func:`sample_diagonal`)."""
        diag = sample_diagonal(n, kind, scale_range, generator)
        return cls(diag, sample_perm(n, generator))

    @property
    def n(self) -> int:
        return self.perm.numel()

    def matrix(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        eye = torch.eye(self.n, dtype=dtype, device=self.perm.device)
        return self.diag.to(dtype=dtype, device=eye.device)[:, None] * eye[self.perm]

    def inverse(self) -> Monomial:
        inv = torch.argsort(self.perm)
        return Monomial(1.0 / self.diag[inv], inv)

    def transpose(self) -> Monomial:
        inv = torch.argsort(self.perm)
        return Monomial(self.diag[inv], inv)

    def compose(self, other: Monomial) -> Monomial:
        self._check_same_n(other)
        return Monomial(self.diag * other.diag[self.perm], other.perm[self.perm])

    def apply(self, x: torch.Tensor, dim: int = -1) -> torch.Tensor:
        axis = _axis(x, dim, self.n, "Monomial.apply")
        shape = [1] * x.ndim
        shape[axis] = self.n
        d = self.diag.to(dtype=x.dtype, device=x.device).reshape(shape)
        return d * x.index_select(axis, self.perm.to(x.device))

    def to(self, device: torch.device | str) -> Monomial:
        return Monomial(self.diag.to(device), self.perm.to(device))
