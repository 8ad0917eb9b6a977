"""Assertions for equivariance, invariance, sensitivity and function preservation.

Every assertion casts its inputs (and an ``nn.Module`` under test) to float64, runs the function, and compares
with the relative error ``||a - b|| / ||b||`` taken over all output tensors together. Each returns the error it
measured so a test can report it, and raises ``AssertionError`` naming that error and the tolerance otherwise.
An output that is identically zero or not finite fails every assertion: a check that could not detect a broken
symmetry is not a check.

Inputs and outputs may be tensors, any object with a ``tensors()`` method returning its tensors and a
``to(dtype)`` method (such as :class:`weightspace_core.WeightSpace`), or tuples, lists, named tuples and dicts of
these.

Examples
--------
>>> import torch
>>> from weightspace_core.groups import Permutation
>>> g = Permutation.sample(5, generator=torch.Generator().manual_seed(0))
>>> err = assert_equivariant(torch.tanh, torch.randn(5), lambda x: g.apply(x))
>>> err < 1e-12
True
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

__all__ = [
    "assert_equivariant",
    "assert_function_preserved",
    "assert_invariant",
    "assert_sensitive",
    "relative_error",
    "to_float64",
]

Transform = Callable[[Any], Any]


def to_float64(obj: Any) -> Any:
    """A copy of ``obj`` with every floating-point tensor in float64 (modules are deep-copied first)."""
    if isinstance(obj, torch.Tensor):
        return obj.to(torch.float64) if obj.is_floating_point() else obj
    if isinstance(obj, nn.Module):
        return copy.deepcopy(obj).to(torch.float64)
    if isinstance(obj, dict):
        return {k: to_float64(v) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(to_float64(v) for v in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(to_float64(v) for v in obj)
    if hasattr(obj, "tensors") and hasattr(obj, "to"):
        return obj.to(torch.float64)
    return obj


def _leaves(obj: Any) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in _leaves(v)]
    if isinstance(obj, (tuple, list)):
        return [t for v in obj for t in _leaves(v)]
    if hasattr(obj, "tensors"):
        return list(obj.tensors())
    raise TypeError(f"cannot compare outputs of type {type(obj).__name__}: expected tensors or containers of them")


def relative_error(actual: Any, expected: Any) -> float:
    """``||actual - expected|| / ||expected||`` over all tensors of two matching structures (float64)."""
    a, b = _leaves(actual), _leaves(expected)
    if len(a) != len(b):
        raise AssertionError(f"outputs differ in structure: {len(a)} tensors against {len(b)}")
    diff = 0.0
    norm = 0.0
    for ta, tb in zip(a, b):
        if ta.shape != tb.shape:
            raise AssertionError(f"output shapes differ: {tuple(ta.shape)} against {tuple(tb.shape)}")
        ta64, tb64 = ta.detach().to(torch.float64), tb.detach().to(torch.float64)
        if not (torch.isfinite(ta64).all() and torch.isfinite(tb64).all()):
            raise AssertionError("outputs contain non-finite values: the comparison is meaningless")
        diff += float(((ta64 - tb64) ** 2).sum())
        norm += float((tb64**2).sum())
    if norm == 0.0:
        raise AssertionError("the reference output is identically zero: this check cannot detect anything")
    return math.sqrt(diff / norm)


def _prepare(fn: Callable[..., Any], x: Any) -> tuple[Callable[..., Any], Any]:
    return to_float64(fn) if isinstance(fn, nn.Module) else fn, to_float64(x)


def _identity(y: Any) -> Any:
    return y


def assert_equivariant(
    fn: Callable[[Any], Any],
    x: Any,
    act_in: Transform,
    act_out: Transform | None = None,
    *,
    rtol: float = 1e-10,
) -> float:
    """Assert ``fn(act_in(x)) == act_out(fn(x))`` to relative error ``rtol`` in float64.

    Parameters
    ----------
    fn:
        the function or module under test; a module is copied and cast to float64.
    x:
        the input (cast to float64).
    act_in, act_out:
        the group action on inputs and outputs; ``act_out`` defaults to ``act_in``.

    Returns
    -------
    float
        the relative error measured.
    """
    fn, x = _prepare(fn, x)
    act_out = act_in if act_out is None else act_out
    with torch.no_grad():
        lhs = fn(act_in(x))
        rhs = act_out(fn(x))
    err = relative_error(lhs, rhs)
    if not err <= rtol:
        raise AssertionError(f"not equivariant: relative error {err:.3e} exceeds {rtol:.1e}")
    return err


def assert_invariant(fn: Callable[[Any], Any], x: Any, act: Transform, *, rtol: float = 1e-10) -> float:
    """Assert ``fn(act(x)) == fn(x)`` to relative error ``rtol`` in float64; returns the error."""
    fn, x = _prepare(fn, x)
    with torch.no_grad():
        err = relative_error(fn(act(x)), fn(x))
    if not err <= rtol:
        raise AssertionError(f"not invariant: relative error {err:.3e} exceeds {rtol:.1e}")
    return err


def assert_sensitive(
    fn: Callable[[Any], Any],
    x: Any,
    act_in: Transform,
    act_out: Transform | None = _identity,
    *,
    min_error: float = 1e-6,
) -> float:
    """Assert that ``fn(act_in(x))`` and ``act_out(fn(x))`` DIFFER by at least ``min_error`` (relative).

    Use it with a transformation that is not a symmetry of ``fn``, or with a deliberately broken ``fn``, to
    prove that the matching equivariance test can fail. ``act_out`` defaults to the identity (the invariance
    question); pass ``None`` to reuse ``act_in``.
    """
    fn, x = _prepare(fn, x)
    act_out = act_in if act_out is None else act_out
    with torch.no_grad():
        err = relative_error(fn(act_in(x)), act_out(fn(x)))
    if not err >= min_error:
        raise AssertionError(
            f"not sensitive: breaking the symmetry changed the output by only {err:.3e} (< {min_error:.1e})"
        )
    return err


def assert_function_preserved(
    module: nn.Module,
    transform: Callable[[nn.Module], nn.Module],
    x: Any,
    *,
    rtol: float = 1e-10,
) -> float:
    """Assert that ``transform(module)`` computes the same outputs on ``x`` as ``module`` (float64).

    ``transform`` receives a float64 copy of the module and returns the transformed network, for example
    ``lambda m: g.act_on_module(m)`` for a weight-space group element ``g``.
    """
    original = to_float64(module)
    transformed = transform(to_float64(module))
    x = to_float64(x)
    with torch.no_grad():
        err = relative_error(transformed(x), original(x))
    if not err <= rtol:
        raise AssertionError(f"function not preserved: relative output change {err:.3e} exceeds {rtol:.1e}")
    return err
