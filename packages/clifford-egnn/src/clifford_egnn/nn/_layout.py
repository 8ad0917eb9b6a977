"""The two memory layouts of multivector features.

Node-major ``(..., channels, dim)`` is the public layout of every layer. Blade-major ``(dim, channels, items)``
is where chains of layers run: the grade-wise linear maps become one batched matrix product over blades, and
gates, norms and the sparse product move whole contiguous rows.
"""

from __future__ import annotations

import torch


def to_blade_major(x: torch.Tensor) -> torch.Tensor:
    """``(..., channels, dim)`` -> contiguous ``(dim, channels, items)``, items the flattened leading axes."""
    return x.reshape(-1, *x.shape[-2:]).permute(2, 1, 0).contiguous()


def from_blade_major(x_t: torch.Tensor, lead: torch.Size | tuple[int, ...]) -> torch.Tensor:
    """``(dim, channels, items)`` -> contiguous ``(*lead, channels, dim)``."""
    return x_t.permute(2, 1, 0).reshape(*lead, x_t.shape[1], x_t.shape[0]).contiguous()
