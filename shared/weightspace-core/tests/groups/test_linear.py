import pytest
import torch

from weightspace_core.groups import Euclidean, GeneralLinear, Orthogonal, haar_orthogonal


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("det", [None, 1, -1])
def test_orthogonal_sample(n: int, det: int | None) -> None:
    q = Orthogonal.sample(n, det=det, generator=gen(n))
    m = q.matrix()
    torch.testing.assert_close(m.T @ m, torch.eye(n, dtype=torch.float64))
    if det is not None:
        assert q.det == det


def test_haar_first_moment_vanishes() -> None:
    # E[Q] = 0 for Haar O(n); a sampler biased towards the identity would fail this.
    mean = torch.stack([haar_orthogonal(3, generator=gen(i)) for i in range(2000)]).mean(0)
    assert mean.abs().max() < 0.06


def test_orthogonal_group_laws() -> None:
    g, h = Orthogonal.sample(4, generator=gen(0)), Orthogonal.sample(4, generator=gen(1))
    torch.testing.assert_close((g @ h).matrix(), g.matrix() @ h.matrix())
    torch.testing.assert_close((g @ g.inverse()).matrix(), torch.eye(4, dtype=torch.float64))
    x = torch.randn(2, 4, 3, dtype=torch.float64)
    torch.testing.assert_close(g.apply(x, dim=1), torch.einsum("ij,bjk->bik", g.matrix(), x))


@pytest.mark.parametrize("condition", [1.0, 10.0, 1000.0])
def test_general_linear_condition_and_inverse(condition: float) -> None:
    a = GeneralLinear.sample(6, condition=condition, generator=gen())
    assert torch.linalg.cond(a.matrix()).item() <= condition * (1 + 1e-9)
    torch.testing.assert_close(a.inverse().matrix() @ a.matrix(), torch.eye(6, dtype=torch.float64))
    b = GeneralLinear.sample(6, generator=gen(1))
    torch.testing.assert_close((a @ b).inverse().matrix(), torch.linalg.inv(a.matrix() @ b.matrix()))
    torch.testing.assert_close(a.transpose().matrix(), a.matrix().T)
    x = torch.randn(5, 6, dtype=torch.float64)
    torch.testing.assert_close(a.apply_inverse_transpose(x), x @ torch.linalg.inv(a.matrix()))


def test_general_linear_determinant_takes_both_signs() -> None:
    signs = {int(torch.sign(torch.linalg.det(GeneralLinear.sample(3, generator=gen(i)).matrix()))) for i in range(20)}
    assert signs == {-1, 1}


def test_euclidean_points_and_vectors() -> None:
    g = Euclidean.sample(3, det=-1, generator=gen())
    h = Euclidean.sample(3, generator=gen(1))
    x = torch.randn(10, 3, dtype=torch.float64)
    torch.testing.assert_close(g.apply(x), x @ g.rotation.matrix().T + g.translation)
    torch.testing.assert_close(g.inverse().apply(g.apply(x)), x)
    torch.testing.assert_close((g @ h).apply(x), g.apply(h.apply(x)))
    # differences of points transform as vectors
    torch.testing.assert_close(g.apply(x)[1:] - g.apply(x)[:-1], g.apply_to_vectors(x[1:] - x[:-1]))
    homogeneous = torch.cat([x, torch.ones(10, 1, dtype=torch.float64)], 1) @ g.matrix().T
    torch.testing.assert_close(homogeneous[:, :3], g.apply(x))


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="Q\\^T Q = I"):
        Orthogonal(torch.ones(2, 2))
    with pytest.raises(ValueError, match="singular"):
        GeneralLinear(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="det"):
        Orthogonal.sample(3, det=0)
    with pytest.raises(ValueError, match="square"):
        GeneralLinear(torch.ones(2, 3))
    with pytest.raises(ValueError, match="translation of shape"):
        Euclidean(Orthogonal.identity(3), torch.zeros(2))
