"""The Clifford algebra ``Cl(p, q, r)`` of a diagonal metric, with a sparse geometric product.

Blades are indexed by bitmaps over the ``n`` basis vectors (bit ``i`` stands for ``e_{i+1}``) and stored in
short-lex order: by grade, then lexicographically by their index lists; for ``n = 3`` the order is
``1, e1, e2, e3, e12, e13, e23, e123``. A multivector is a tensor whose last axis holds its ``dim = 2^n``
coefficients in that order; every operation broadcasts over the leading axes.

The product of two basis blades is one signed blade,

.. math:: e_A e_B = s(A, B) \\prod_{i \\in A \\cap B} m_i \\; e_{A \\oplus B},

with ``s`` the sign of the permutation that sorts the concatenated index lists and ``m`` the metric. So the
product of two multivectors needs ``4^n`` multiply-adds, and it is computed as a gather: for every output blade
``k`` and left blade ``i`` the right blade is ``j = i xor k``,

.. math:: (a b)_k = \\sum_i c_{ik} \\, a_i \\, b_{J_{ik}},

with the ``(dim, dim)`` tables :attr:`CliffordAlgebra.product_index` (``J``) and
:attr:`CliffordAlgebra.product_sign` (``c``). No ``(dim, dim, dim)`` Cayley table is ever built.

Execution: the operands are moved to a blade-major layout ``(dim, channels, items)`` where the gather
``b[J[i, :]]`` copies whole contiguous rows; on CPU the items are processed in blocks whose temporaries fit in
a core's L2 cache, each block copied once to contiguous buffers, with a loop over the left blade ``i`` of three
flat in-place passes (gather, scale by ``a_i``, multiply-accumulate with the coefficients broadcast over the
items); on CUDA (and for small inputs) the
``(dim, dim, channels, items)`` intermediate is built at once. The backward pass is written as two more
products and one reduction, so no ``dim^2``-per-item tensor is saved for it and it can be differentiated again.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch

__all__ = ["CliffordAlgebra"]


def _reorder_sign(a: int, b: int) -> int:
    """Sign of the permutation that sorts the index list of blade ``a`` followed by that of blade ``b``.

    Each basis vector of ``b`` has to move left past every basis vector of ``a`` with a larger index.
    """
    a >>= 1
    swaps = 0
    while a:
        swaps += bin(a & b).count("1")
        a >>= 1
    return -1 if swaps & 1 else 1


def _as_metric(metric: Sequence[float] | torch.Tensor) -> tuple[int, ...]:
    if isinstance(metric, torch.Tensor):
        if metric.ndim != 1:
            raise ValueError(
                f"metric: expected a 1-D sequence of +1, -1 or 0, found a tensor of shape {tuple(metric.shape)}"
            )
        values = metric.tolist()
    else:
        try:
            values = list(metric)
        except TypeError:
            raise ValueError(f"metric: expected a sequence of +1, -1 or 0, found {metric!r}") from None
    if not 1 <= len(values) <= 6:
        raise ValueError(
            f"metric: expected between 1 and 6 entries (n = 1..6, dim = 2^n <= 64), found n = {len(values)}"
        )
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v not in (1, -1, 0):
            raise ValueError(f"metric: expected every entry to be +1, -1 or 0, found {v!r} in {tuple(values)}")
        out.append(int(v))
    return tuple(out)


class CliffordAlgebra:
    """The Clifford algebra of a diagonal metric: ``e_i e_i = metric[i]``, ``e_i e_j = -e_j e_i`` for ``i != j``.

    Parameters
    ----------
    metric:
        the diagonal of the metric, ``n`` entries each +1, -1 or 0 (``0`` gives a degenerate algebra such as
        projective geometric algebra), ``1 <= n <= 6``.

    Attributes
    ----------
    n, dim:
        number of basis vectors and of blades (``2^n``).
    metric:
        the metric as a tuple of ints.
    blade_bitmaps, blade_grades:
        ``(dim,)`` long tensors: the bitmap and the grade of each blade in short-lex order.
    grade_sizes, grade_slices:
        the number of blades of each grade (binomial coefficients) and the slice of the last axis they occupy.
    blade_names:
        ``"1", "e1", ..., "e12", ...`` in storage order.
    product_index, product_sign:
        ``(dim, dim)`` tables ``J`` and ``c`` of the sparse product, indexed ``[left blade i, output blade k]``:
        ``e_i e_J[i,k] = c[i,k] e_k``.
    grade_paths:
        ``(n+1, n+1, n+1)`` bool tensor indexed ``[left grade, output grade, right grade]``: True where the
        grade-``left`` part times the grade-``right`` part of two multivectors can have a grade-``out`` part
        (at least one blade pair with a non-zero coefficient). ``paths`` lists those triples in lexicographic
        order and ``num_paths`` counts them (20 for any non-degenerate metric with ``n = 3``).
    path_index:
        ``(dim, dim)`` long tensor: for left blade ``i`` and output blade ``k``, the position in ``paths`` of
        the triple ``(grade(i), grade(k), grade(J[i,k]))`` (0 where the coefficient is zero).
    wedge_sign:
        ``(dim, dim)``: the coefficients of the outer product in the same ``[i, k]`` layout.
    blade_squares, grade_square_matrix:
        ``(dim,)``: ``<rev(e_A) e_A>_0 = prod_{i in A} metric[i]``, so ``q(x) = sum_A blade_squares[A] x_A^2``;
        ``(n + 1, dim)``: the same entries placed in the row of each blade's grade (``q(<x>_g) = (M x^2)_g``).

    Examples
    --------
    >>> import torch
    >>> alg = CliffordAlgebra((1, 1, 1))
    >>> alg.dim, alg.blade_names
    (8, ['1', 'e1', 'e2', 'e3', 'e12', 'e13', 'e23', 'e123'])
    >>> e1, e2 = alg.embed(torch.eye(3)[0], 1), alg.embed(torch.eye(3)[1], 1)
    >>> alg.geometric_product(e1, e2).tolist()
    [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    >>> alg.geometric_product(e2, e1)[4].item(), alg.geometric_product(e1, e1)[0].item()
    (-1.0, 1.0)
    """

    def __init__(self, metric: Sequence[float] | torch.Tensor) -> None:
        self.metric: tuple[int, ...] = _as_metric(metric)
        n = self.n = len(self.metric)
        self.dim = 2**n
        bitmaps = [sum(1 << i for i in combo) for g in range(n + 1) for combo in itertools.combinations(range(n), g)]
        position = {bm: pos for pos, bm in enumerate(bitmaps)}
        grades = [bin(bm).count("1") for bm in bitmaps]
        self.grade_sizes: tuple[int, ...] = tuple(math.comb(n, g) for g in range(n + 1))
        starts = list(itertools.accumulate((0, *self.grade_sizes)))
        self.grade_slices: tuple[slice, ...] = tuple(slice(starts[g], starts[g + 1]) for g in range(n + 1))
        self.blade_names: list[str] = [
            "1" if bm == 0 else "e" + "".join(str(i + 1) for i in range(n) if bm >> i & 1) for bm in bitmaps
        ]
        self.blade_bitmaps = torch.tensor(bitmaps, dtype=torch.long)
        self.blade_grades = torch.tensor(grades, dtype=torch.long)

        index = [[0] * self.dim for _ in range(self.dim)]
        sign = [[0] * self.dim for _ in range(self.dim)]
        wedge = [[0] * self.dim for _ in range(self.dim)]
        for i, a in enumerate(bitmaps):
            for k, c in enumerate(bitmaps):
                b = a ^ c
                index[i][k] = position[b]
                s = _reorder_sign(a, b)
                wedge[i][k] = s if a & b == 0 else 0
                for bit in range(n):
                    if (a & b) >> bit & 1:
                        s *= self.metric[bit]
                sign[i][k] = s
        self.product_index = torch.tensor(index, dtype=torch.long)
        self.product_sign = torch.tensor(sign, dtype=torch.float64)
        self.wedge_sign = torch.tensor(wedge, dtype=torch.float64)

        right_grades = self.blade_grades[self.product_index]
        left_grades = self.blade_grades[:, None].expand(self.dim, self.dim)
        out_grades = self.blade_grades[None, :].expand(self.dim, self.dim)
        paths = torch.zeros(n + 1, n + 1, n + 1, dtype=torch.bool)
        nonzero = self.product_sign != 0
        paths[left_grades[nonzero], out_grades[nonzero], right_grades[nonzero]] = True
        self.grade_paths = paths
        self.paths: list[tuple[int, int, int]] = [tuple(t) for t in paths.nonzero().tolist()]  # type: ignore[misc]
        self.num_paths = len(self.paths)
        path_number = torch.zeros(n + 1, n + 1, n + 1, dtype=torch.long)
        path_number[paths] = torch.arange(self.num_paths)
        self.path_index = torch.where(nonzero, path_number[left_grades, out_grades, right_grades], 0)

        # Squares of the basis blades: reverse(e_A) e_A = prod_{i in A} m_i, so the quadratic form is diagonal.
        self.blade_squares = torch.tensor(
            [math.prod(self.metric[i] for i in range(n) if bm >> i & 1) for bm in bitmaps], dtype=torch.float64
        )
        # Row g sums the signed squares of the grade-g blades: q(<x>_g) = (M @ x^2)_g.
        self.grade_square_matrix = torch.zeros(n + 1, self.dim, dtype=torch.float64)
        self.grade_square_matrix[self.blade_grades, torch.arange(self.dim)] = self.blade_squares
        g = self.blade_grades
        self._involution_signs = {
            "grade_involution": (-1.0) ** g.double(),
            "reverse": (-1.0) ** (g * (g - 1) // 2).double(),
            "conjugate": (-1.0) ** (g * (g + 1) // 2).double(),
        }
        self._cache: dict[tuple[str, torch.device, torch.dtype], torch.Tensor] = {}

    # ------------------------------------------------------------------ bookkeeping

    def __repr__(self) -> str:
        return f"CliffordAlgebra(metric={self.metric})"

    @property
    def signature(self) -> tuple[int, int, int]:
        """``(p, q, r)``: how many metric entries are +1, -1 and 0."""
        return (self.metric.count(1), self.metric.count(-1), self.metric.count(0))

    def table(self, name: str, like: torch.Tensor) -> torch.Tensor:
        """The constant table ``name`` (an attribute such as ``"blade_grades"``, ``"product_index"``,
        ``"product_sign"``, ``"path_index"``, ``"blade_squares"``, ``"grade_square_matrix"``) on ``like``'s device
        and, for floating tables, in its dtype; cached per device and dtype so that layers pay for the copy once."""
        if name.startswith("inv:"):
            source = self._involution_signs[name[4:]]
        elif isinstance(getattr(self, name, None), torch.Tensor):
            source = getattr(self, name)
        else:
            raise ValueError(f"table: expected the name of one of the algebra's constant tables, found {name!r}")
        dtype = like.dtype if source.is_floating_point() else source.dtype
        key = (name, like.device, dtype)
        table = self._cache.get(key)
        if table is None:
            table = source.to(device=like.device, dtype=dtype)
            self._cache[key] = table
        return table

    def _check(self, x: torch.Tensor, what: str) -> None:
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"{what}: expected a tensor of shape (..., {self.dim}), found {type(x).__name__}")
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(
                f"{what}: expected a multivector tensor of shape (..., {self.dim}) for {self!r}, "
                f"found shape {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise ValueError(f"{what}: expected a floating-point tensor, found dtype {x.dtype}")

    def _check_grade(self, grade: int, what: str) -> None:
        if isinstance(grade, bool) or not isinstance(grade, int) or not 0 <= grade <= self.n:
            raise ValueError(f"{what}: expected a grade between 0 and {self.n}, found {grade!r}")

    # ------------------------------------------------------------------ products

    def _sparse_product(self, a: torch.Tensor, b: torch.Tensor, coefficient: torch.Tensor) -> torch.Tensor:
        """``out[..., k] = sum_i coefficient[..., i, k] a[..., i] b[..., J[i, k]]`` (4^n multiply-adds).

        ``coefficient`` is ``(dim, dim)`` or ``(channels, dim, dim)``; a channel axis must be the last leading
        axis of the broadcast inputs. The inputs are moved to the blade-major layout ``(dim, channels, items)``
        of :meth:`blade_major_product` and back.
        """
        dim = self.dim
        dtype = torch.promote_types(torch.promote_types(a.dtype, b.dtype), coefficient.dtype)
        a, b, coefficient = a.to(dtype), b.to(dtype), coefficient.to(dtype)
        if coefficient.ndim == 3 and coefficient.shape[0] == 1:
            coefficient = coefficient[0]
        if coefficient.ndim == 2:
            shape = torch.broadcast_shapes(a.shape[:-1], b.shape[:-1])
            items, channels = math.prod(shape), 1
            coefficient = coefficient.unsqueeze(0)
        else:
            shape = torch.broadcast_shapes(a.shape[:-1], b.shape[:-1], coefficient.shape[:1])
            items, channels = math.prod(shape[:-1]), shape[-1]

        def blade_major(t: torch.Tensor) -> torch.Tensor:
            return t.expand(*shape, dim).reshape(items, channels, dim).permute(2, 1, 0).contiguous()

        out_t = self.blade_major_product(blade_major(a), blade_major(b), coefficient)
        return out_t.permute(2, 1, 0).reshape(*shape, dim)

    def blade_major_product(self, a_t: torch.Tensor, b_t: torch.Tensor, coefficient: torch.Tensor) -> torch.Tensor:
        """The coefficient-weighted product on blade-major tensors ``(dim, channels, items)``.

        ``out[k, c, m] = sum_i coefficient[c, i, k] a[i, c, m] b[J[i, k], c, m]`` with ``coefficient``
        ``(channels or 1, dim, dim)`` (for example :meth:`expand_path_weights` of per-channel path weights). In
        this layout every gather moves whole contiguous rows and every coefficient scales a contiguous run of
        items; layers that chain several operations stay in it to avoid transposes. Differentiable (twice).
        """
        if a_t.ndim != 3 or a_t.shape[0] != self.dim or b_t.shape != a_t.shape:
            raise ValueError(
                f"blade_major_product: expected two tensors of shape ({self.dim}, channels, items), "
                f"found {tuple(a_t.shape)} and {tuple(b_t.shape)}"
            )
        coef_t = coefficient.permute(1, 2, 0)
        index = self.table("product_index", b_t)
        return _BladeMajorProduct.apply(a_t.contiguous(), b_t.contiguous(), coef_t, index)

    def geometric_product(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The geometric product ``a b``.

        Parameters
        ----------
        a, b:
            multivectors ``(..., dim)``; leading axes broadcast.

        Returns
        -------
        torch.Tensor
            ``(..., dim)``: ``(a b)_k = sum_i c[i, k] a_i b_{J[i, k]}``.
        """
        self._check(a, "geometric_product: a")
        self._check(b, "geometric_product: b")
        return self._sparse_product(a, b, self.table("product_sign", b))

    def outer_product(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The outer (wedge) product ``a ^ b``: ``e_A ^ e_B = s(A, B) e_{A or B}`` when ``A`` and ``B`` are disjoint,
        0 otherwise; it does not depend on the metric. Shapes as :meth:`geometric_product`."""
        self._check(a, "outer_product: a")
        self._check(b, "outer_product: b")
        return self._sparse_product(a, b, self.table("wedge_sign", b))

    def path_weighted_product(self, a: torch.Tensor, b: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """The geometric product with one weight per grade path: ``sum_{l,o,r} w_{lor} <<a>_l <b>_r>_o``.

        Parameters
        ----------
        a, b:
            multivectors ``(..., dim)``.
        weights:
            ``(..., num_paths)``, one weight per entry of :attr:`paths`; its leading axes broadcast against the
            leading axes of ``a`` and ``b`` (for per-channel weights ``(channels, num_paths)`` and features
            ``(batch, channels, dim)``).

        Returns
        -------
        torch.Tensor
            ``(..., dim)``. The weights are expanded to a ``(..., dim, dim)`` coefficient table
            ``w[..., path_index[i, k]] * c[i, k]``, so the cost stays ``4^n`` per multivector.
        """
        self._check(a, "path_weighted_product: a")
        self._check(b, "path_weighted_product: b")
        if weights.ndim == 0 or weights.shape[-1] != self.num_paths:
            raise ValueError(
                f"path_weighted_product: expected weights of shape (..., {self.num_paths}) (one per grade path), "
                f"found shape {tuple(weights.shape)}"
            )
        return self._sparse_product(a, b, self.expand_path_weights(weights))

    def expand_path_weights(self, weights: torch.Tensor) -> torch.Tensor:
        """``(..., num_paths)`` path weights to the ``(..., dim, dim)`` table ``w[..., path_index[i, k]] * c[i, k]``
        indexed ``[left blade, output blade]`` (the right blade is ``product_index[i, k]``)."""
        index = self.table("path_index", weights)
        return weights[..., index] * self.table("product_sign", weights)

    # ------------------------------------------------------------------ grades and involutions

    def get_grade(self, x: torch.Tensor, grade: int) -> torch.Tensor:
        """The grade-``grade`` coefficients of ``x``: ``(..., dim)`` -> ``(..., binom(n, grade))``."""
        self._check(x, "get_grade: x")
        self._check_grade(grade, "get_grade: grade")
        return x[..., self.grade_slices[grade]]

    def grade_projection(self, x: torch.Tensor, grade: int) -> torch.Tensor:
        """``<x>_grade``: ``x`` with every blade of another grade set to zero, ``(..., dim)`` -> ``(..., dim)``."""
        self._check(x, "grade_projection: x")
        self._check_grade(grade, "grade_projection: grade")
        mask = self.table("blade_grades", x) == grade
        return x * mask.to(x.dtype)

    def embed(self, values: torch.Tensor, grade: int) -> torch.Tensor:
        """Put ``values`` ``(..., binom(n, grade))`` into grade ``grade`` of a zero multivector ``(..., dim)``.

        Scalars go in as ``(..., 1)`` with ``grade=0``, vectors as ``(..., n)`` with ``grade=1``.
        """
        self._check_grade(grade, "embed: grade")
        size = self.grade_sizes[grade]
        if not isinstance(values, torch.Tensor) or values.ndim == 0 or values.shape[-1] != size:
            shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
            raise ValueError(f"embed: expected values of shape (..., {size}) for grade {grade}, found {shape}")
        out = values.new_zeros(*values.shape[:-1], self.dim)
        out[..., self.grade_slices[grade]] = values
        return out

    def _involution(self, x: torch.Tensor, which: str) -> torch.Tensor:
        self._check(x, which)
        return x * self.table("inv:" + which, x)

    def grade_involution(self, x: torch.Tensor) -> torch.Tensor:
        """The grade involution ``alpha(x) = sum_g (-1)^g <x>_g``, an automorphism: ``alpha(ab) = alpha(a) alpha(b)``."""
        return self._involution(x, "grade_involution")

    def reverse(self, x: torch.Tensor) -> torch.Tensor:
        """The reversion ``sum_g (-1)^(g(g-1)/2) <x>_g``, an anti-automorphism: ``rev(ab) = rev(b) rev(a)``."""
        return self._involution(x, "reverse")

    def conjugate(self, x: torch.Tensor) -> torch.Tensor:
        """The Clifford conjugation ``sum_g (-1)^(g(g+1)/2) <x>_g = alpha(rev(x))``."""
        return self._involution(x, "conjugate")

    # ------------------------------------------------------------------ quadratic form and norms

    def quadratic_form(self, x: torch.Tensor) -> torch.Tensor:
        """``q(x) = <rev(x) x>_0 = sum_A (prod_{i in A} m_i) x_A^2``: ``(..., dim)`` -> ``(...)``.

        The sum of squares for a Euclidean metric; indefinite for mixed signatures.
        """
        self._check(x, "quadratic_form: x")
        return (x * x * self.table("blade_squares", x)).sum(-1)

    def grade_quadratic_forms(self, x: torch.Tensor) -> torch.Tensor:
        """``q(<x>_g)`` for every grade ``g``: ``(..., dim)`` -> ``(..., n + 1)``."""
        self._check(x, "grade_quadratic_forms: x")
        weighted = x * x * self.table("blade_squares", x)
        out = weighted.new_zeros(*weighted.shape[:-1], self.n + 1)
        return out.index_add_(-1, self.table("blade_grades", x), weighted)

    @staticmethod
    def smooth_abs_sqrt(q: torch.Tensor, eps: float = 1e-16) -> torch.Tensor:
        """``(q^2 + eps)^(1/4)``, a smooth ``sqrt|q|`` (the norms below, and the layers' blade-major paths)."""
        # Two square roots, not ``** 0.25``: several times faster than pow, forward and backward, on CPU.
        return torch.sqrt(torch.sqrt(q * q + eps))

    def norm(self, x: torch.Tensor, eps: float = 1e-16) -> torch.Tensor:
        """The smooth norm ``(q(x)^2 + eps)^(1/4)`` (``~ sqrt|q(x)|``, differentiable at 0): ``(..., dim)`` -> ``(...)``."""
        return self.smooth_abs_sqrt(self.quadratic_form(x), eps)

    def grade_norms(self, x: torch.Tensor, eps: float = 1e-16) -> torch.Tensor:
        """The smooth norm of every grade part, ``(q(<x>_g)^2 + eps)^(1/4)``: ``(..., dim)`` -> ``(..., n + 1)``."""
        return self.smooth_abs_sqrt(self.grade_quadratic_forms(x), eps)

    # ------------------------------------------------------------------ versors and the Clifford group

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        """The inverse of a versor, ``x^-1 = rev(x) / q(x)`` (valid when ``rev(x) x`` is the scalar ``q(x) != 0``,
        which holds for every product of invertible vectors). Raises ``ValueError`` if some ``q(x)`` is zero."""
        q = self.quadratic_form(x)
        if bool((q == 0).any()):
            raise ValueError("inverse: expected an invertible versor (q(x) = <rev(x) x>_0 != 0), found q(x) = 0")
        return self.reverse(x) / q.unsqueeze(-1)

    def parity(self, w: torch.Tensor) -> torch.Tensor:
        """``(...)`` bool tensor: True where the versor ``w`` is odd (no even-grade part), False where even.

        Raises ``ValueError`` where ``w`` has both parts (it is then not a versor) or is zero.
        """
        self._check(w, "parity: w")
        odd_blades = (self.table("blade_grades", w) % 2).bool()
        has_odd = (w[..., odd_blades] != 0).any(-1)
        has_even = (w[..., ~odd_blades] != 0).any(-1)
        if bool((has_odd == has_even).any()):
            raise ValueError(
                "parity: expected a versor with a purely even or purely odd grade part (a product of vectors), "
                "found a multivector with both parts (or zero)"
            )
        return has_odd

    def versor_action(self, w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The twisted conjugation ``rho(w)(x) = w alpha_w(x) w^-1`` of the Clifford group.

        ``alpha_w`` is the grade involution when ``w`` is odd and the identity when ``w`` is even. ``rho(w)``
        preserves grades, acts on vectors as the orthogonal map of ``w`` (a product of ``k`` reflections,
        determinant ``(-1)^k``) and is an algebra automorphism: ``rho(w)(ab) = rho(w)(a) rho(w)(b)``.

        Parameters
        ----------
        w:
            versors ``(..., dim)`` (products of invertible vectors, e.g. from :meth:`random_versor`).
        x:
            multivectors ``(..., dim)``; leading axes broadcast against ``w`` (use ``w[..., None, :]`` to act
            with one versor per batch item on ``(batch, channels, dim)`` features).

        Returns
        -------
        torch.Tensor
            ``(..., dim)`` in the dtype of ``x`` (``w`` is cast to it).
        """
        self._check(x, "versor_action: x")
        w = w.to(x.dtype)
        odd = self.parity(w).unsqueeze(-1)
        twisted = torch.where(odd, self.grade_involution(x), x)
        return self.geometric_product(self.geometric_product(w, twisted), self.inverse(w))

    def random_versor(
        self,
        k: int,
        generator: torch.Generator | None = None,
        *,
        shape: Sequence[int] = (),
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
        normalize: bool = True,
    ) -> torch.Tensor:
        """The product of ``k`` random vectors, ``(*shape, dim)``: even for even ``k`` (a rotor), odd otherwise.

        Vector components are standard normal; a vector is redrawn while ``|q(v)| < 1/4 |v|^2`` (Euclidean norm),
        so that every factor is well away from the null cone and the versor is well conditioned for any
        signature. With ``normalize`` the result is divided by ``sqrt|q(w)|``, which leaves ``rho(w)`` unchanged.
        ``k = 0`` gives the scalar 1.
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"random_versor: expected a non-negative number of vectors k, found {k!r}")
        if device is None:
            device = generator.device if generator is not None else torch.device("cpu")
        shape = tuple(shape)
        metric = torch.tensor(self.metric, dtype=torch.float64, device=device)
        w = torch.zeros(*shape, self.dim, dtype=torch.float64, device=device)
        w[..., 0] = 1.0
        for _ in range(k):
            v = torch.randn(*shape, self.n, generator=generator, dtype=torch.float64, device=device)
            for _attempt in range(1000):
                bad = (v * v * metric).sum(-1).abs() < 0.25 * (v * v).sum(-1)
                if not bool(bad.any()):
                    break
                redraw = torch.randn(*shape, self.n, generator=generator, dtype=torch.float64, device=device)
                v = torch.where(bad.unsqueeze(-1), redraw, v)
            else:
                raise ValueError(f"random_versor: metric {self.metric} has no well-conditioned invertible vectors")
            w = self.geometric_product(w, self.embed(v, 1))
        if normalize:
            w = w / self.quadratic_form(w).abs().sqrt().unsqueeze(-1)
        return w.to(dtype)

    def vector_matrix(self, w: torch.Tensor) -> torch.Tensor:
        """The ``(..., n, n)`` matrix ``M`` of ``rho(w)`` on grade 1: ``rho(w)(sum_j v_j e_j) = sum_i (M v)_i e_i``.

        It satisfies ``M^T G M = G`` for the metric ``G = diag(metric)`` (orthogonal for a Euclidean metric) and
        ``det M = (-1)^(parity of w)``.
        """
        self._check(w, "vector_matrix: w")
        basis = self.embed(torch.eye(self.n, dtype=w.dtype, device=w.device), 1)
        images = self.versor_action(w.unsqueeze(-2), basis)
        return self.get_grade(images, 1).transpose(-1, -2)

    def versor_from_orthogonal(self, matrix: torch.Tensor) -> torch.Tensor:
        """A versor ``w`` with ``rho(w)(v) = Q v`` on vectors, for an orthogonal ``(n, n)`` matrix ``Q``.

        Only for a Euclidean metric (all +1). ``Q`` is written as a product of at most ``n`` Householder
        reflections ``H_v x = x - 2 (v.x / v.v) v = rho(v)(x)``, and ``w`` is the product of those vectors.
        """
        if set(self.metric) != {1}:
            raise ValueError(f"versor_from_orthogonal: expected a Euclidean metric (all +1), found {self.metric}")
        if not isinstance(matrix, torch.Tensor) or matrix.shape != (self.n, self.n):
            shape = tuple(matrix.shape) if isinstance(matrix, torch.Tensor) else type(matrix).__name__
            raise ValueError(f"versor_from_orthogonal: expected an ({self.n}, {self.n}) matrix, found {shape}")
        m = matrix.to(torch.float64).clone()
        err = (m.T @ m - torch.eye(self.n, dtype=m.dtype, device=m.device)).abs().max().item()
        if err > 1e-8:
            raise ValueError(f"versor_from_orthogonal: expected an orthogonal matrix, found Q^T Q - I up to {err:.3g}")
        w = torch.zeros(self.dim, dtype=m.dtype, device=m.device)
        w[0] = 1.0
        eye = torch.eye(self.n, dtype=m.dtype, device=m.device)
        for i in range(self.n):
            # Reflect the current image of e_i back onto e_i; the columns already fixed are orthogonal to v.
            v = m[:, i] - eye[:, i]
            if float(v.norm()) < 1e-12:
                continue
            m = m - 2.0 * torch.outer(v, v @ m) / (v @ v)
            w = self.geometric_product(w, self.embed(v, 1))
        return (w / self.quadratic_form(w).sqrt()).to(matrix.dtype)


#: On CPU the product runs over blocks of items with ``dim * channels * items`` of at most this many elements, so
#: that the temporaries of one left blade stay in cache. Measured on the project's 2-core machine (fwd+bwd, 28
#: channels, 2,000 items): 2^19 beat 2^18 by 1.4x at n = 3 (one block, so no block copies) and 1.05x at n = 5; 2^20
#: and whole passes were slower.
_CPU_BLOCK_ELEMENTS = 2**19

#: Inputs with ``dim * dim * channels * items`` up to this many elements build the whole ``(dim, dim, channels,
#: items)`` intermediate at once (Python overhead dominates there).
_CPU_VECTORISED_ELEMENTS = 2**18


def _vectorised(t: torch.Tensor) -> bool:
    """Whether to build the whole ``(dim, dim, channels, items)`` intermediate at once.

    Yes on CUDA (few large kernels win there) and for small inputs (Python overhead dominates); otherwise the
    CPU path loops over item blocks and left blades with two reused buffers.
    """
    return t.is_cuda or t.numel() * t.shape[0] <= _CPU_VECTORISED_ELEMENTS


def _item_blocks(t: torch.Tensor) -> list[tuple[int, int]]:
    items = t.shape[-1]
    step = max(1, _CPU_BLOCK_ELEMENTS // (t.shape[0] * t.shape[1]))
    return [(m0, min(items, m0 + step)) for m0 in range(0, items, step)]


def _gather_rows(b_t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``out[i, k] = b_t[index[i, k]]``: ``(dim, C, m)`` -> ``(dim, dim, C, m)``."""
    dim = index.shape[0]
    return b_t.index_select(0, index.reshape(-1)).view(dim, dim, *b_t.shape[1:])


def _product_kernel(a_t: torch.Tensor, b_t: torch.Tensor, coef_t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Blade-major sparse product: ``out[k] = sum_i coef[i, k] * a[i] * b[index[i, k]]``.

    ``a_t, b_t``: ``(dim, channels, items)`` contiguous; ``coef_t``: ``(dim, dim, channels or 1)``.
    Differentiable when autograd is recording (double backward); otherwise the CPU path writes into reused
    buffers, one block of items at a time.
    """
    if _vectorised(a_t) or torch.is_grad_enabled():
        return (_gather_rows(b_t, index) * (coef_t.unsqueeze(-1) * a_t.unsqueeze(1))).sum(0)
    out = torch.empty_like(a_t)
    coef_b = coef_t.unsqueeze(-1)
    for m0, m1 in _item_blocks(a_t):
        # Contiguous copies of the block make every per-blade step below one flat pass (about 1.5x faster than
        # working on strided slices of the whole tensor).
        a_blk, b_blk = a_t[..., m0:m1].contiguous(), b_t[..., m0:m1].contiguous()
        acc, buf = torch.empty_like(a_blk), torch.empty_like(b_blk)
        for i in range(a_t.shape[0]):
            torch.index_select(b_blk, 0, index[i], out=buf)
            buf.mul_(a_blk[i])
            if i == 0:
                torch.mul(buf, coef_b[i], out=acc)
            else:
                acc.addcmul_(buf, coef_b[i])
        out[..., m0:m1] = acc
    return out


def _coefficient_grad(a_t: torch.Tensor, b_t: torch.Tensor, g_t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``grad[i, k, c] = sum_items a[i, c] b[index[i, k], c] g[k, c]``: ``(dim, dim, channels)``."""
    if _vectorised(a_t) or torch.is_grad_enabled():
        return (_gather_rows(b_t, index) * g_t.unsqueeze(0) * a_t.unsqueeze(1)).sum(-1)
    dim = a_t.shape[0]
    grad = a_t.new_zeros(dim, dim, a_t.shape[1])
    for m0, m1 in _item_blocks(a_t):
        a_blk, b_blk = a_t[..., m0:m1].contiguous(), b_t[..., m0:m1].contiguous()
        g_blk = g_t[..., m0:m1].contiguous()
        buf = torch.empty_like(b_blk)
        for i in range(dim):
            torch.index_select(b_blk, 0, index[i], out=buf)
            grad[i] += buf.mul_(g_blk).mul_(a_blk[i]).sum(-1)
    return grad


def _fused_left_and_coefficient_grad(
    a_t: torch.Tensor, b_t: torch.Tensor, g_t: torch.Tensor, coef_t: torch.Tensor, index: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``grad_a`` and ``grad_c`` in one blocked CPU pass: both need ``H_i = g * b[index[i]]`` for every ``i``.

    ``grad_a[i] = sum_k c[i, k] H_i[k]`` and ``grad_c[i, k] = sum_items a[i] H_i[k]``; sharing the gather and the
    product with ``g`` saves about a fifth of the backward's memory traffic.
    """
    dim = a_t.shape[0]
    grad_a = torch.empty_like(a_t)
    grad_c = a_t.new_zeros(dim, dim, a_t.shape[1])
    coef_b = coef_t.unsqueeze(-1)
    for m0, m1 in _item_blocks(a_t):
        a_blk, b_blk = a_t[..., m0:m1].contiguous(), b_t[..., m0:m1].contiguous()
        g_blk = g_t[..., m0:m1].contiguous()
        buf, tmp, grad_a_blk = torch.empty_like(b_blk), torch.empty_like(b_blk), torch.empty_like(a_blk)
        for i in range(dim):
            torch.index_select(b_blk, 0, index[i], out=buf)
            buf.mul_(g_blk)
            grad_c[i] += torch.mul(buf, a_blk[i], out=tmp).sum(-1)
            torch.sum(buf.mul_(coef_b[i]), 0, out=grad_a_blk[i])
        grad_a[..., m0:m1] = grad_a_blk
    return grad_a, grad_c


class _BladeMajorProduct(torch.autograd.Function):
    """The sparse bilinear product on blade-major tensors, with a backward that is itself two such products.

    Tensors are ``(dim, channels, items)``. With ``out[k] = sum_i c[i, k] a[i] b[J[i, k]]`` and the xor table
    symmetric (``J[i, k] = J[k, i]``):
    ``grad_a = product(g, b; c^T)``, ``grad_b[j] = sum_i c[i, J[i, j]] a[i] g[J[i, j]] = product(a, g; c_R)``, and
    ``grad_c[i, k] = sum a[i] b[J[i, k]] g[k]``. So nothing of size ``dim^2`` per item is ever stored, and the
    backward is differentiable again (second derivatives, e.g. forces from energies).
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx,
        a_t: torch.Tensor,
        b_t: torch.Tensor,
        coef_t: torch.Tensor,
        index: torch.Tensor,
    ) -> torch.Tensor:
        ctx.save_for_backward(a_t, b_t, coef_t, index)
        return _product_kernel(a_t, b_t, coef_t, index)

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, g_t: torch.Tensor
    ) -> tuple[torch.Tensor | None, ...]:
        a_t, b_t, coef_t, index = ctx.saved_tensors  # type: ignore[attr-defined]
        g_t = g_t.contiguous()
        grad_a = grad_b = grad_c = None
        needs = ctx.needs_input_grad  # type: ignore[attr-defined]
        fuse = needs[0] and needs[2] and not (_vectorised(a_t) or torch.is_grad_enabled())
        if fuse:
            grad_a, grad_c = _fused_left_and_coefficient_grad(a_t, b_t, g_t, coef_t, index)
        elif needs[0]:
            grad_a = _BladeMajorProduct.apply(g_t, b_t, coef_t.transpose(0, 1), index)
        if needs[1]:
            coef_r = coef_t.gather(1, index.unsqueeze(-1).expand(-1, -1, coef_t.shape[-1]))
            grad_b = _BladeMajorProduct.apply(a_t, g_t, coef_r, index)
        if needs[2] and not fuse:
            grad_c = _coefficient_grad(a_t, b_t, g_t, index)
        return grad_a, grad_b, grad_c, None
