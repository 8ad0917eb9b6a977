"""Fitting many SIRENs to MNIST digits at once, and the editing targets (3x3 grey dilation).

M SIRENs ``2 -> 32 -> 32 -> 1`` (omega_0 = 30) are held as stacked parameters and evaluated with batched matrix
products on the shared 28x28 coordinate grid; the loss is the sum over SIRENs of each one's pixel MSE, so each
SIREN is fitted to its own image exactly as if alone (full-batch Adam).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from magep_nfn.zoo.cnn import VectorisedOptimizer
from magep_nfn.zoo.models import siren_spec

__all__ = ["coordinate_grid", "dilate", "fit_sirens", "psnr", "stacked_siren"]


def coordinate_grid(size: int = 28, device: torch.device | str | None = None) -> torch.Tensor:
    """Pixel-centre coordinates ``(size*size, 2)`` in [-1, 1], row-major, as ``(row, column)``.

    >>> coordinate_grid(2).tolist()
    [[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]
    """
    axis = torch.linspace(-1.0, 1.0, size, device=device)
    return torch.stack(torch.meshgrid(axis, axis, indexing="ij"), dim=-1).reshape(-1, 2)


def dilate(images: np.ndarray, size: int = 3) -> np.ndarray:
    """Grey dilation of images ``(N, H, W)``: the maximum over a ``size x size`` window (odd ``size``), edges
    repeated; the same as ``scipy.ndimage.grey_dilation(images, size=(1, size, size), mode="nearest")``.

    >>> dilate(np.eye(3)[None])[0].astype(int).tolist()
    [[1, 1, 1], [1, 1, 1], [1, 1, 1]]
    """
    if size < 1 or size % 2 == 0:
        raise ValueError(f"dilate: expected an odd window size, found {size}")
    x = torch.as_tensor(np.ascontiguousarray(images))[:, None]
    pad = size // 2
    x = torch.nn.functional.pad(x.double(), (pad,) * 4, mode="replicate")
    return torch.nn.functional.max_pool2d(x, size, stride=1)[:, 0].numpy().astype(images.dtype)


def psnr(mse: torch.Tensor | np.ndarray, peak: float = 1.0) -> torch.Tensor | np.ndarray:
    """Peak signal-to-noise ratio ``10 log10(peak^2 / mse)`` in dB."""
    return 10.0 * (np.log10(peak**2 / mse) if isinstance(mse, np.ndarray) else torch.log10(peak**2 / mse))


def stacked_siren(params: Sequence[torch.Tensor], coords: torch.Tensor, omega_0: float = 30.0) -> torch.Tensor:
    """Outputs ``(M, P, n_L)`` of M SIRENs with stacked parameters ``[W1 (M, n1, n0), b1 (M, n1), ...]`` at
    coordinates ``(P, n0)``: ``sin(omega_0 (W h + b))`` on hidden layers, linear last layer."""
    h = coords.expand(params[0].shape[0], *coords.shape)
    last = len(params) // 2 - 1
    for i in range(0, len(params), 2):
        h = torch.baddbmm(params[i + 1][:, None], h, params[i].transpose(1, 2))
        if i // 2 < last:
            h = torch.sin(omega_0 * h)
    return h


def fit_sirens(
    images: torch.Tensor,
    seeds: Sequence[int],
    steps: int = 300,
    lr: float = 1e-3,
    omega_0: float = 30.0,
    widths: Sequence[int] = (2, 32, 32, 1),
    on_step: Callable[[int], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fit one SIREN per image, all at once.

    Parameters
    ----------
    images:
        ``(M, H, W)`` grey levels in [0, 1] (on the device to fit on).
    seeds:
        M seeds of the SIREN initialisations (:meth:`SIREN.reset_parameters`).

    Returns
    -------
    ``(weights (M, P), mse (M,))``: the flattened weights (``WeightSpace.flatten`` order, torch layout) and each
    fit's final pixel mean squared error.
    """
    from magep_nfn.zoo.models import SIREN

    m, size = images.shape[0], images.shape[-1]
    if len(seeds) != m:
        raise ValueError(f"fit_sirens: expected {m} seeds, found {len(seeds)}")
    device = images.device
    inits = []
    for seed in seeds:
        net = SIREN(widths, omega_0)
        net.reset_parameters(torch.Generator().manual_seed(int(seed)))
        inits.append([p.detach() for p in net.parameters()])
    params = [torch.stack(ps).to(device).requires_grad_() for ps in zip(*inits)]
    opt = VectorisedOptimizer("adam", params, torch.full((m,), lr))
    coords = coordinate_grid(size, device)
    target = images.reshape(m, -1, 1)
    for step in range(1, steps + 1):
        mse = (stacked_siren(params, coords, omega_0) - target).pow(2).mean(dim=(1, 2))
        opt.step(torch.autograd.grad(mse.sum(), params))
        if on_step is not None:
            on_step(step)
    with torch.no_grad():
        mse = (stacked_siren(params, coords, omega_0) - target).pow(2).mean(dim=(1, 2))
        flat = torch.cat([p.detach().reshape(m, -1) for p in params], dim=1)
    expected = siren_spec(widths).num_params
    assert flat.shape[1] == expected
    return flat, mse
