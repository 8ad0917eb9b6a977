"""CliffordAlgebra against oracles (complex numbers, quaternions, anticommutation) and the algebra laws."""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck

import clifford_egnn.algebra as algebra_module
from clifford_egnn import CliffordAlgebra
from weightspace_core.groups import Orthogonal

F64 = torch.float64
#: n = 2..6 and mixed signatures, degenerate ones included.
METRICS = [
    (1, 1),
    (1, -1),
    (1, 1, 1),
    (1, 1, 0),
    (0, 1, -1),
    (1, 1, 1, -1),
    (1, -1, 0, 1),
    (1, 1, 1, 1, 1),
    (1, -1, 0, 1, -1),
    (1, 1, 1, 1, 1, 1),
]


def _random(alg: CliffordAlgebra, *shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, alg.dim, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _blade(alg: CliffordAlgebra, name: str) -> torch.Tensor:
    x = torch.zeros(alg.dim, dtype=F64)
    x[alg.blade_names.index(name)] = 1.0
    return x


# ------------------------------------------------------------------ structure


def test_blades_are_short_lex_bitmaps() -> None:
    alg = CliffordAlgebra((1, 1, 1))
    assert alg.n == 3
    assert alg.dim == 8
    assert alg.blade_names == ["1", "e1", "e2", "e3", "e12", "e13", "e23", "e123"]
    assert alg.blade_bitmaps.tolist() == [0, 1, 2, 4, 3, 5, 6, 7]
    assert alg.blade_grades.tolist() == [0, 1, 1, 1, 2, 2, 2, 3]
    assert alg.grade_sizes == (1, 3, 3, 1)
    assert [(s.start, s.stop) for s in alg.grade_slices] == [(0, 1), (1, 4), (4, 7), (7, 8)]


@pytest.mark.parametrize("n", range(1, 7))
def test_dimensions(n: int) -> None:
    alg = CliffordAlgebra((1,) * n)
    assert alg.dim == 2**n == len(alg.blade_names)
    assert sum(alg.grade_sizes) == alg.dim
    assert alg.signature == (n, 0, 0)


def test_grade_paths_of_euclidean_3d() -> None:
    alg = CliffordAlgebra((1, 1, 1))
    assert alg.grade_paths.shape == (4, 4, 4)
    assert alg.num_paths == 20 == int(alg.grade_paths.sum())
    assert (0, 0, 0) in alg.paths
    assert (1, 0, 1) in alg.paths
    assert (1, 2, 1) in alg.paths
    assert (1, 1, 1) not in alg.paths


@pytest.mark.parametrize("metric", [(1, 1, 1), (1, -1, 1, 1), (1, 1, 1, 1, 1)])
def test_grade_paths_follow_the_selection_rule(metric: tuple[int, ...]) -> None:
    """<a_l b_r>_o is non-zero exactly for o in |l - r|, |l - r| + 2, ..., min(l + r, 2n - l - r)."""
    alg = CliffordAlgebra(metric)
    n = alg.n
    expected = {
        (left, out, right)
        for left in range(n + 1)
        for right in range(n + 1)
        for out in range(abs(left - right), min(left + right, 2 * n - left - right) + 1, 2)
    }
    assert set(alg.paths) == expected


def test_degenerate_metric_drops_vanishing_paths() -> None:
    """In Cl(0, 0, 1) e1 e1 = 0, so the path (1, 0, 1) does not exist."""
    assert (1, 0, 1) not in CliffordAlgebra((0,)).paths
    assert (1, 0, 1) in CliffordAlgebra((1,)).paths


# ------------------------------------------------------------------ oracles


def test_cl01_is_the_complex_numbers() -> None:
    alg = CliffordAlgebra((-1,))
    a, b = _random(alg, 50, seed=1), _random(alg, 50, seed=2)
    za, zb = torch.complex(a[:, 0], a[:, 1]), torch.complex(b[:, 0], b[:, 1])
    product = alg.geometric_product(a, b)
    assert torch.allclose(torch.complex(product[:, 0], product[:, 1]), za * zb, atol=1e-12)


def _hamilton(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    a1, b1, c1, d1 = p.unbind(-1)
    a2, b2, c2, d2 = q.unbind(-1)
    return torch.stack(
        [
            a1 * a2 - b1 * b2 - c1 * c2 - d1 * d2,
            a1 * b2 + b1 * a2 + c1 * d2 - d1 * c2,
            a1 * c2 - b1 * d2 + c1 * a2 + d1 * b2,
            a1 * d2 + b1 * c2 - c1 * b2 + d1 * a2,
        ],
        dim=-1,
    )


def test_cl02_is_the_quaternions() -> None:
    """i = e1, j = e2, k = e12: blades (1, e1, e2, e12) are the quaternion components (1, i, j, k)."""
    alg = CliffordAlgebra((-1, -1))
    i, j, k, one = _blade(alg, "e1"), _blade(alg, "e2"), _blade(alg, "e12"), _blade(alg, "1")
    gp = alg.geometric_product
    for unit in (i, j, k):
        assert torch.equal(gp(unit, unit), -one)
    assert torch.equal(gp(gp(i, j), k), -one)
    assert torch.equal(gp(i, j), k)
    assert torch.equal(gp(j, k), i)
    assert torch.equal(gp(k, i), j)
    a, b = _random(alg, 50, seed=3), _random(alg, 50, seed=4)
    assert torch.allclose(gp(a, b), _hamilton(a, b), atol=1e-12)


@pytest.mark.parametrize("metric", METRICS)
def test_basis_vectors_square_to_the_metric_and_anticommute(metric: tuple[int, ...]) -> None:
    alg = CliffordAlgebra(metric)
    vectors = alg.embed(torch.eye(alg.n, dtype=F64), 1)
    for a in range(alg.n):
        square = alg.geometric_product(vectors[a], vectors[a])
        assert torch.equal(square, metric[a] * _blade(alg, "1"))
        for b in range(a + 1, alg.n):
            ab = alg.geometric_product(vectors[a], vectors[b])
            assert torch.equal(ab, -alg.geometric_product(vectors[b], vectors[a]))
            assert torch.equal(ab, _blade(alg, f"e{a + 1}{b + 1}"))


# ------------------------------------------------------------------ algebra laws


@pytest.mark.parametrize("metric", METRICS)
def test_associative_and_distributive(metric: tuple[int, ...]) -> None:
    alg = CliffordAlgebra(metric)
    a, b, c = (_random(alg, 16, seed=s) for s in (5, 6, 7))
    gp = alg.geometric_product
    lhs, rhs = gp(gp(a, b), c), gp(a, gp(b, c))
    assert torch.allclose(lhs, rhs, rtol=1e-12, atol=1e-11 * float(rhs.abs().max()))
    assert torch.allclose(gp(a, b + c), gp(a, b) + gp(a, c), atol=1e-12)
    assert torch.allclose(gp(a + b, c), gp(a, c) + gp(b, c), atol=1e-12)
    assert torch.allclose(gp(2.5 * a, b), 2.5 * gp(a, b), atol=1e-12)
    one = _blade(alg, "1")
    assert torch.equal(gp(one, a), a)
    assert torch.equal(gp(a, one), a)


@pytest.mark.parametrize("metric", METRICS)
def test_involutions(metric: tuple[int, ...]) -> None:
    alg = CliffordAlgebra(metric)
    a, b = _random(alg, 8, seed=8), _random(alg, 8, seed=9)
    gp = alg.geometric_product
    assert torch.allclose(alg.reverse(gp(a, b)), gp(alg.reverse(b), alg.reverse(a)), atol=1e-12)
    assert torch.allclose(alg.grade_involution(gp(a, b)), gp(alg.grade_involution(a), alg.grade_involution(b)))
    assert torch.allclose(alg.conjugate(gp(a, b)), gp(alg.conjugate(b), alg.conjugate(a)), atol=1e-12)
    assert torch.equal(alg.conjugate(a), alg.grade_involution(alg.reverse(a)))
    for involution in (alg.reverse, alg.grade_involution, alg.conjugate):
        assert torch.equal(involution(involution(a)), a)
    signs = alg.reverse(torch.ones(alg.dim, dtype=F64))
    expected = [(-1.0) ** (g * (g - 1) // 2) for g in alg.blade_grades.tolist()]
    assert signs.tolist() == expected


@pytest.mark.parametrize("metric", [(1, 1, 1), (1, -1, 0, 1), (1, 1, 1, 1, 1)])
def test_outer_product(metric: tuple[int, ...]) -> None:
    alg = CliffordAlgebra(metric)
    e1, e2 = _blade(alg, "e1"), _blade(alg, "e2")
    assert torch.equal(alg.outer_product(e1, e2), _blade(alg, "e12"))
    assert torch.equal(alg.outer_product(e2, e1), -_blade(alg, "e12"))
    assert not alg.outer_product(e1, e1).any()
    u, v = alg.embed(torch.randn(2, alg.n, dtype=F64), 1).unbind(0)
    assert torch.allclose(alg.outer_product(u, v), alg.grade_projection(alg.geometric_product(u, v), 2))
    a, b, c = (_random(alg, 4, seed=s) for s in (10, 11, 12))
    op = alg.outer_product
    assert torch.allclose(op(op(a, b), c), op(a, op(b, c)), atol=1e-12)


@pytest.mark.parametrize("metric", METRICS)
def test_quadratic_form_and_norms(metric: tuple[int, ...]) -> None:
    alg = CliffordAlgebra(metric)
    x = _random(alg, 6, seed=13)
    scalar = alg.get_grade(alg.geometric_product(alg.reverse(x), x), 0).squeeze(-1)
    assert torch.allclose(alg.quadratic_form(x), scalar, atol=1e-12)
    assert torch.allclose(alg.grade_quadratic_forms(x).sum(-1), alg.quadratic_form(x), atol=1e-12)
    assert torch.allclose(alg.norm(x), alg.quadratic_form(x).abs().sqrt(), atol=1e-6)
    assert alg.grade_norms(x).shape == (6, alg.n + 1)
    for g in range(alg.n + 1):
        part = alg.grade_projection(x, g)
        assert torch.allclose(alg.grade_norms(x)[:, g], alg.norm(part))


def test_quadratic_form_is_the_sum_of_squares_in_euclidean_signature() -> None:
    alg = CliffordAlgebra((1, 1, 1, 1))
    x = _random(alg, 5, seed=14)
    assert torch.allclose(alg.quadratic_form(x), (x * x).sum(-1))


def test_norm_is_smooth_at_zero() -> None:
    alg = CliffordAlgebra((1, 1))
    x = torch.zeros(alg.dim, dtype=F64, requires_grad=True)
    alg.norm(x).backward()
    assert torch.isfinite(x.grad).all()


def test_embed_and_get_grade_round_trip() -> None:
    alg = CliffordAlgebra((1, 1, 1))
    v = torch.randn(4, 3, dtype=F64)
    mv = alg.embed(v, 1)
    assert mv.shape == (4, 8)
    assert torch.equal(alg.get_grade(mv, 1), v)
    assert not alg.get_grade(mv, 0).any()
    assert not alg.get_grade(mv, 2).any()
    s = alg.embed(torch.ones(4, 1, dtype=F64), 0)
    assert torch.equal(s[:, 0], torch.ones(4, dtype=F64))
    assert torch.equal(alg.get_grade(alg.embed(torch.ones(1), 3), 3), torch.ones(1))


# ------------------------------------------------------------------ versors and the Clifford group


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_versor_inverse_and_scalar_norm(metric: tuple[int, ...], k: int) -> None:
    alg = CliffordAlgebra(metric)
    w = alg.random_versor(k, torch.Generator().manual_seed(k), shape=(3,))
    one = _blade(alg, "1").expand(3, -1)
    assert torch.allclose(alg.geometric_product(w, alg.inverse(w)), one, atol=1e-10)
    assert torch.allclose(alg.geometric_product(alg.inverse(w), w), one, atol=1e-10)
    w_rev_w = alg.geometric_product(w, alg.reverse(w))
    assert torch.allclose(w_rev_w[..., 1:], torch.zeros_like(w_rev_w[..., 1:]), atol=1e-10)
    assert bool((alg.parity(w) == bool(k % 2)).all())


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_versor_action_is_a_grade_preserving_isometry_with_det_of_its_parity(metric: tuple[int, ...], k: int) -> None:
    alg = CliffordAlgebra(metric)
    w = alg.random_versor(k, torch.Generator().manual_seed(10 + k))
    x = _random(alg, 5, seed=15)
    y = alg.versor_action(w, x)
    for g in range(alg.n + 1):
        assert torch.allclose(alg.versor_action(w, alg.grade_projection(x, g)), alg.grade_projection(y, g), atol=1e-10)
    matrix = alg.vector_matrix(w)
    gram = torch.diag(torch.tensor(metric, dtype=F64))
    assert torch.allclose(matrix.T @ gram @ matrix, gram, atol=1e-9)
    assert math.isclose(torch.linalg.det(matrix).item(), (-1) ** k, abs_tol=1e-8)
    assert torch.allclose(alg.quadratic_form(y), alg.quadratic_form(x), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
@pytest.mark.parametrize("k", [2, 3])
def test_versor_action_on_vectors_is_an_orthogonal_matrix_in_euclidean_signature(n: int, k: int) -> None:
    alg = CliffordAlgebra((1,) * n)
    matrix = alg.vector_matrix(alg.random_versor(k, torch.Generator().manual_seed(k)))
    assert torch.allclose(matrix.T @ matrix, torch.eye(n, dtype=F64), atol=1e-10)
    assert math.isclose(torch.linalg.det(matrix).item(), (-1) ** k, abs_tol=1e-10)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_versor_action_commutes_with_the_geometric_product(metric: tuple[int, ...], k: int) -> None:
    alg = CliffordAlgebra(metric)
    w = alg.random_versor(k, torch.Generator().manual_seed(20 + k))
    a, b = _random(alg, 4, seed=16), _random(alg, 4, seed=17)
    rho = alg.versor_action
    lhs = rho(w, alg.geometric_product(a, b))
    rhs = alg.geometric_product(rho(w, a), rho(w, b))
    assert torch.allclose(lhs, rhs, rtol=1e-10, atol=1e-10 * float(rhs.abs().max()))


@pytest.mark.parametrize("metric", [(1, 1, 1), (1, -1, 0, 1)])
def test_versor_action_is_a_group_action(metric: tuple[int, ...]) -> None:
    alg = CliffordAlgebra(metric)
    gen = torch.Generator().manual_seed(30)
    w1, w2 = alg.random_versor(1, gen), alg.random_versor(2, gen)
    x = _random(alg, 3, seed=18)
    composed = alg.versor_action(alg.geometric_product(w1, w2), x)
    assert torch.allclose(composed, alg.versor_action(w1, alg.versor_action(w2, x)), atol=1e-10)
    scaled = alg.versor_action(-3.0 * w1, x)
    assert torch.allclose(scaled, alg.versor_action(w1, x), atol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
@pytest.mark.parametrize("det", [1, -1])
def test_versor_from_orthogonal_reproduces_the_matrix(n: int, det: int) -> None:
    alg = CliffordAlgebra((1,) * n)
    q = Orthogonal.sample(n, det=det, generator=torch.Generator().manual_seed(n))
    w = alg.versor_from_orthogonal(q.matrix())
    assert torch.allclose(alg.vector_matrix(w), q.matrix(), atol=1e-10)
    assert bool(alg.parity(w)) == (det == -1)
    v = torch.randn(7, n, dtype=F64)
    assert torch.allclose(alg.get_grade(alg.versor_action(w, alg.embed(v, 1)), 1), q.apply(v, dim=-1), atol=1e-10)


def test_versor_action_broadcasts_one_versor_per_item() -> None:
    alg = CliffordAlgebra((1, 1, 1))
    w = alg.random_versor(2, torch.Generator().manual_seed(0), shape=(4, 1))
    x = _random(alg, 4, 5, seed=19)
    y = alg.versor_action(w, x)
    assert y.shape == (4, 5, 8)
    assert torch.allclose(y[2], alg.versor_action(w[2, 0], x[2]))


def test_random_versor_is_reproducible_and_shaped() -> None:
    alg = CliffordAlgebra((1, -1, 1))
    a = alg.random_versor(3, torch.Generator().manual_seed(5), shape=(2, 3))
    b = alg.random_versor(3, torch.Generator().manual_seed(5), shape=(2, 3))
    assert a.shape == (2, 3, 8)
    assert torch.equal(a, b)
    assert torch.allclose(alg.quadratic_form(a).abs(), torch.ones(2, 3, dtype=F64))
    assert alg.random_versor(2, dtype=torch.float32).dtype == torch.float32
    assert torch.equal(alg.random_versor(0), _blade(alg, "1"))


# ------------------------------------------------------------------ implementation: dtypes, paths, gradients


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtypes_and_broadcasting(dtype: torch.dtype) -> None:
    alg = CliffordAlgebra((1, 1, 1))
    a = torch.randn(3, 1, 8, dtype=dtype)
    b = torch.randn(5, 8, dtype=dtype)
    out = alg.geometric_product(a, b)
    assert out.shape == (3, 5, 8)
    assert out.dtype == dtype
    ref = alg.geometric_product(a.double(), b.double())
    assert torch.allclose(out.double(), ref, atol=1e-5 if dtype == torch.float32 else 1e-12)


def _gather_reference(alg: CliffordAlgebra, a: torch.Tensor, b: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    coefficient = alg.expand_path_weights(w)
    return (a.unsqueeze(-1) * coefficient * b[..., alg.product_index]).sum(-2)


@pytest.mark.parametrize("metric", [(1, 1, 1), (1, -1, 0, 1, 1)])
@pytest.mark.parametrize(("items", "block_elements"), [(2, None), (300, None), (300, 2**11)])
def test_path_weighted_product_matches_a_plain_gather(
    metric: tuple[int, ...], items: int, block_elements: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both execution paths (one-shot for small inputs, blocked loop for large ones, with several blocks and a
    ragged last one when the block size is made small) and their gradients."""
    if block_elements is not None:
        monkeypatch.setattr(algebra_module, "_CPU_BLOCK_ELEMENTS", block_elements)
        monkeypatch.setattr(algebra_module, "_CPU_VECTORISED_ELEMENTS", 0)
    alg = CliffordAlgebra(metric)
    if block_elements is not None:
        assert len(algebra_module._item_blocks(torch.empty(alg.dim, 3, items))) > 2
    gen = torch.Generator().manual_seed(items)
    a = torch.randn(items, 3, alg.dim, generator=gen, dtype=F64, requires_grad=True)
    b = torch.randn(items, 3, alg.dim, generator=gen, dtype=F64, requires_grad=True)
    w = torch.randn(3, alg.num_paths, generator=gen, dtype=F64, requires_grad=True)
    out, ref = alg.path_weighted_product(a, b, w), _gather_reference(alg, a, b, w)
    assert torch.allclose(out, ref, atol=1e-12)
    g = torch.randn_like(out)
    for got, want in zip(torch.autograd.grad(out, (a, b, w), g), torch.autograd.grad(ref, (a, b, w), g)):
        assert torch.allclose(got, want, atol=1e-10)
    ones = torch.ones(alg.num_paths, dtype=F64)
    assert torch.allclose(alg.geometric_product(a, b), _gather_reference(alg, a, b, ones), atol=1e-12)


def test_blocked_loop_is_exercised_by_the_large_case() -> None:
    alg = CliffordAlgebra((1, -1, 0, 1, 1))
    assert not algebra_module._vectorised(torch.empty(alg.dim, 3, 300))
    assert len(algebra_module._item_blocks(torch.empty(alg.dim, 3, 7000))) > 1


def test_gradients_and_second_gradients() -> None:
    alg = CliffordAlgebra((1, -1, 0))
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(2, 3, alg.dim, generator=gen, dtype=F64, requires_grad=True)
    b = torch.randn(2, 3, alg.dim, generator=gen, dtype=F64, requires_grad=True)
    w = torch.randn(3, alg.num_paths, generator=gen, dtype=F64, requires_grad=True)
    assert gradcheck(alg.path_weighted_product, (a, b, w))
    assert gradgradcheck(alg.path_weighted_product, (a, b, w))
    assert gradcheck(alg.geometric_product, (a[0, 0], b))
    assert gradgradcheck(alg.geometric_product, (a[0, 0], b))


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("metric", [(1, 2), (1, 0.5), ("a",), (True, 1), 3])
def test_bad_metric_entries(metric: object) -> None:
    with pytest.raises(ValueError, match=r"metric: expected"):
        CliffordAlgebra(metric)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [0, 7])
def test_bad_number_of_basis_vectors(n: int) -> None:
    with pytest.raises(ValueError, match=r"between 1 and 6 entries .* found n = " + str(n)):
        CliffordAlgebra((1,) * n)


def test_metric_from_a_tensor() -> None:
    assert CliffordAlgebra(torch.tensor([1.0, -1.0, 0.0])).metric == (1, -1, 0)


def test_bad_multivector_shapes() -> None:
    alg = CliffordAlgebra((1, 1, 1))
    good, bad = torch.randn(4, 8), torch.randn(4, 7)
    for call in (
        lambda: alg.geometric_product(good, bad),
        lambda: alg.outer_product(bad, good),
        lambda: alg.reverse(bad),
        lambda: alg.quadratic_form(bad),
        lambda: alg.norm(bad),
        lambda: alg.versor_action(alg.random_versor(2), bad),
        lambda: alg.get_grade(bad, 1),
    ):
        with pytest.raises(
            ValueError, match=r"expected a multivector tensor of shape \(\.\.\., 8\).*found shape \(4, 7\)"
        ):
            call()
    with pytest.raises(ValueError, match=r"expected values of shape \(\.\.\., 3\) for grade 1"):
        alg.embed(torch.randn(4, 2), 1)
    with pytest.raises(ValueError, match=r"expected a grade between 0 and 3, found 4"):
        alg.get_grade(good, 4)
    with pytest.raises(ValueError, match=r"one per grade path"):
        alg.path_weighted_product(good, good, torch.randn(3))


def test_mixed_parity_is_not_a_versor() -> None:
    alg = CliffordAlgebra((1, 1, 1))
    with pytest.raises(ValueError, match="purely even or purely odd"):
        alg.versor_action(_blade(alg, "1") + _blade(alg, "e1"), torch.randn(8, dtype=F64))


def test_non_invertible_versor() -> None:
    alg = CliffordAlgebra((1, 0))
    with pytest.raises(ValueError, match=r"q\(x\) = 0"):
        alg.inverse(_blade(alg, "e2"))


def test_versor_from_orthogonal_needs_euclidean_metric_and_orthogonal_matrix() -> None:
    with pytest.raises(ValueError, match="Euclidean metric"):
        CliffordAlgebra((1, -1)).versor_from_orthogonal(torch.eye(2))
    with pytest.raises(ValueError, match="orthogonal matrix"):
        CliffordAlgebra((1, 1)).versor_from_orthogonal(2 * torch.eye(2))
