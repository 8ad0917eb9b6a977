import pytest
import torch

from weightspace_core.scatter import scatter_mean, scatter_sum, segment_mean, segment_sum


def loop_scatter(src: torch.Tensor, index: torch.Tensor, dim_size: int, mean: bool) -> torch.Tensor:
    out = torch.zeros(dim_size, *src.shape[1:], dtype=src.dtype)
    for k in range(dim_size):
        rows = src[index == k]
        if len(rows):
            out[k] = rows.mean(0) if mean else rows.sum(0)
    return out


@pytest.mark.parametrize("mean", [False, True])
def test_scatter_matches_loop(mean: bool) -> None:
    g = torch.Generator().manual_seed(0)
    src = torch.randn(50, 3, 4, dtype=torch.float64, generator=g)
    index = torch.randint(0, 9, (50,), generator=g)  # bucket 9 stays empty
    fn = scatter_mean if mean else scatter_sum
    torch.testing.assert_close(fn(src, index, dim_size=10), loop_scatter(src, index, 10, mean))
    moved = fn(src.movedim(0, 2), index, dim_size=10, dim=2)
    torch.testing.assert_close(moved.movedim(2, 0), loop_scatter(src, index, 10, mean))


@pytest.mark.parametrize("fn", [scatter_sum, scatter_mean])
def test_scatter_gradients(fn) -> None:
    src = torch.randn(12, 3, dtype=torch.float64, requires_grad=True)
    index = torch.tensor([0, 1, 1, 3, 3, 3, 0, 2, 2, 1, 0, 3])
    assert torch.autograd.gradcheck(lambda s: fn(s, index, 5), (src,))


@pytest.mark.parametrize(("fn", "ref"), [(segment_sum, scatter_sum), (segment_mean, scatter_mean)])
def test_segments(fn, ref) -> None:
    src = torch.randn(9, 2, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([2, 0, 4, 3])
    index = torch.tensor([0, 0, 2, 2, 2, 2, 3, 3, 3])
    torch.testing.assert_close(fn(src, lengths), ref(src, index, 4))
    assert torch.autograd.gradcheck(lambda s: fn(s, lengths), (src,))


def test_bad_input() -> None:
    src = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="int64"):
        scatter_sum(src, torch.tensor([0, 1, 0, 1], dtype=torch.int32), 2)
    with pytest.raises(ValueError, match=r"values in \[0, 2\)"):
        scatter_sum(src, torch.tensor([0, 1, 2, 1]), 2)
    with pytest.raises(ValueError, match="shape \\(4,\\)"):
        scatter_mean(src, torch.tensor([0, 1]), 2)
    with pytest.raises(ValueError, match="sum to 4"):
        segment_sum(src, torch.tensor([1, 2]))
