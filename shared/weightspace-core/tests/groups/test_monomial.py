import pytest
import torch

from weightspace_core.groups import Monomial, Permutation, sample_diagonal


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("cls", [Permutation, Monomial])
def test_apply_matches_matrix_along_every_axis(cls: type) -> None:
    g = cls.sample(5, generator=gen())
    x = torch.randn(3, 5, 5, 2, dtype=torch.float64, generator=gen(1))
    for dim in (1, 2, -3):
        expected = torch.movedim(torch.movedim(x, dim, -1) @ g.matrix().T, -1, dim)
        torch.testing.assert_close(g.apply(x, dim), expected)


@pytest.mark.parametrize("kind", ["scale", "sign", "permutation"])
def test_monomial_group_laws(kind: str) -> None:
    g = Monomial.sample(6, kind=kind, generator=gen(0))
    h = Monomial.sample(6, kind=kind, generator=gen(1))
    eye = torch.eye(6, dtype=torch.float64)
    torch.testing.assert_close((g @ h).matrix(), g.matrix() @ h.matrix())
    torch.testing.assert_close((g @ g.inverse()).matrix(), eye)
    torch.testing.assert_close(g.inverse().matrix(), torch.linalg.inv(g.matrix()))
    torch.testing.assert_close(g.transpose().matrix(), g.matrix().T)
    x = torch.randn(4, 6, dtype=torch.float64)
    torch.testing.assert_close(g.apply_inverse_transpose(x), x @ torch.linalg.inv(g.matrix()))


def test_permutation_group_laws() -> None:
    g, h = Permutation.sample(7, generator=gen(0)), Permutation.sample(7, generator=gen(1))
    torch.testing.assert_close((g @ h).matrix(), g.matrix() @ h.matrix())
    torch.testing.assert_close(g.inverse().matrix(), g.matrix().T)
    assert torch.equal((g @ g.inverse()).perm, torch.arange(7))


def test_sampling_is_deterministic_per_generator() -> None:
    a = Monomial.sample(8, generator=gen(3))
    b = Monomial.sample(8, generator=gen(3))
    assert torch.equal(a.perm, b.perm)
    assert torch.equal(a.diag, b.diag)


def test_diagonal_kinds() -> None:
    scales = sample_diagonal(10_000, "scale", (1e-2, 1e2), gen())
    assert scales.min() >= 1e-2
    assert scales.max() <= 1e2
    # log-uniform: about half the factors fall below 1
    assert 0.45 < (scales < 1).double().mean().item() < 0.55
    signs = sample_diagonal(1000, "sign", generator=gen())
    assert set(signs.tolist()) == {-1.0, 1.0}
    assert torch.equal(sample_diagonal(4, "permutation"), torch.ones(4, dtype=torch.float64))


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="permutation of 0..2"):
        Permutation(torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match="int64"):
        Permutation(torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="non-zero"):
        Monomial(torch.tensor([1.0, 0.0]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="expected 3 entries along axis -1"):
        Permutation.sample(3).apply(torch.zeros(4))
    with pytest.raises(ValueError, match="kind"):
        sample_diagonal(3, "rotation")
    with pytest.raises(ValueError, match="scale_range"):
        sample_diagonal(3, "scale", (2.0, 1.0))
    with pytest.raises(ValueError, match="compose"):
        Permutation.sample(3) @ Permutation.sample(4)
