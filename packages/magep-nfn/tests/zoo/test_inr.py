import numpy as np
import pytest
import torch

from magep_nfn.zoo import SIREN, coordinate_grid, dilate, fit_sirens, psnr, siren_spec, stacked_siren
from weightspace_core import WeightSpace


def test_stacked_siren_matches_module() -> None:
    nets = [SIREN() for _ in range(3)]
    params = [torch.stack(ps) for ps in zip(*[[p.detach() for p in n.parameters()] for n in nets])]
    coords = coordinate_grid(5)
    out = stacked_siren(params, coords)
    for m, net in enumerate(nets):
        torch.testing.assert_close(out[m], net(coords), rtol=1e-5, atol=1e-6)


def test_fit_sirens_fits_each_image_and_matches_module() -> None:
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(2, 8, 8, generator=gen)
    weights, mse = fit_sirens(images, [0, 1], steps=30, lr=1e-3)
    start = ((images - images.mean()) ** 2).mean()
    assert weights.shape == (2, siren_spec().num_params)
    assert bool((mse < start).all())
    net = WeightSpace.unflatten(weights[1:], siren_spec()).load_into(SIREN())
    rendered = net(coordinate_grid(8)).reshape(8, 8)
    assert torch.isclose(((rendered - images[1]) ** 2).mean(), mse[1], rtol=1e-3)
    assert float(psnr(np.array([0.01]))[0]) == 20.0


def test_dilate_matches_scipy_grey_dilation() -> None:
    ndimage = pytest.importorskip("scipy.ndimage")
    images = np.random.default_rng(0).random((3, 9, 7)).astype(np.float32)
    np.testing.assert_array_equal(dilate(images), ndimage.grey_dilation(images, size=(1, 3, 3), mode="nearest"))


def test_dilate_is_a_3x3_maximum() -> None:
    img = np.zeros((1, 5, 5), np.float32)
    img[0, 2, 2] = 0.5
    out = dilate(img)
    assert out[0, 1:4, 1:4].min() == 0.5
    assert out.sum() == 9 * 0.5
