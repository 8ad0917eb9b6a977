"""The two architectures of the zoos: the Small CNN Zoo's CNN and the SIREN of the INR tasks.

Both are plain ``nn.Module``s whose ``nn.Conv2d``/``nn.Linear`` layers are registered in forward order, so
``WeightSpace.from_module`` and ``WeightSpace.load_into`` map them to and from the weight space in torch layout.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from weightspace_core import NetworkSpec

__all__ = ["ACTIVATIONS", "SIREN", "SmallCNN", "siren_spec", "small_cnn_spec"]

ACTIVATIONS = ("relu", "tanh")


def small_cnn_spec(in_channels: int = 1, channels: int = 16, num_layers: int = 3, num_classes: int = 10) -> NetworkSpec:
    """The weight-space spec of :class:`SmallCNN`: ``"16x1x3x3,16x16x3x3,16x16x3x3,10x16"`` by default.

    >>> small_cnn_spec().num_params
    4970
    """
    return NetworkSpec.cnn([in_channels] + [channels] * num_layers, [num_classes])


def siren_spec(widths: Sequence[int] = (2, 32, 32, 1)) -> NetworkSpec:
    """The weight-space spec of :class:`SIREN`: ``"32x2,32x32,1x32"`` by default (1,185 parameters)."""
    return NetworkSpec.mlp(list(widths))


class SmallCNN(nn.Module):
    """The CNN of the Small CNN Zoo (Unterthiner et al. 2020).

    ``x -> act(conv_1 x) -> act(conv_2 .) -> act(conv_3 .) -> mean over (h, w) -> dense``: three 3x3 convolutions
    of ``channels`` filters with stride 2 and no padding ('valid': 32 -> 15 -> 7 -> 3 pixels), global average
    pooling and a dense layer to ``num_classes`` logits; 4,970 parameters for one input channel.

    Its function is unchanged by the hidden-neuron monomial group of its weight space: permutations of the
    filters of each hidden layer, times positive scalings for ``"relu"`` or signs for ``"tanh"``.

    Parameters
    ----------
    activation:
        ``"relu"`` or ``"tanh"``.
    dropout:
        elementwise dropout rate on the activations of the last convolution (training only), as the zoo
        generator applies it.

    Examples
    --------
    >>> import torch
    >>> from weightspace_core import WeightSpace
    >>> net = SmallCNN("tanh")
    >>> net(torch.zeros(4, 1, 32, 32)).shape
    torch.Size([4, 10])
    >>> str(WeightSpace.from_module(net).spec)
    '16x1x3x3,16x16x3x3,16x16x3x3,10x16'
    """

    def __init__(
        self,
        activation: str = "relu",
        in_channels: int = 1,
        channels: int = 16,
        num_layers: int = 3,
        num_classes: int = 10,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"SmallCNN: expected activation in {ACTIVATIONS}, found {activation!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"SmallCNN: expected 0 <= dropout < 1, found {dropout}")
        self.activation = activation
        widths = [in_channels] + [channels] * num_layers
        self.convs = nn.ModuleList(nn.Conv2d(i, o, 3, stride=2) for i, o in itertools.pairwise(widths))
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)`` of images ``(B, in_channels, H, W)``."""
        act = torch.relu if self.activation == "relu" else torch.tanh
        for conv in self.convs:
            x = act(conv(x))
        return self.dense(self.dropout(x).mean(dim=(2, 3)))


class SIREN(nn.Module):
    """A sine-activated MLP (Sitzmann et al. 2020) mapping coordinates to values.

    ``h_0 = x``, ``h_i = sin(omega_0 (W^(i) h_{i-1} + b^(i)))`` for the hidden layers and a linear last layer
    ``y = W^(L) h_{L-1} + b^(L)``. ``omega_0`` stays outside the stored weights, as in the SIREN and NFN code.
    Since sin is odd, flipping the sign of a hidden neuron (its incoming row, bias and outgoing column) keeps
    the function: its weight space carries the hidden-neuron permutation-and-sign group.

    Parameters
    ----------
    widths:
        ``(n_0, ..., n_L)``; the INR zoos use ``(2, 32, 32, 1)``.
    omega_0:
        frequency factor of every sine layer (30).

    Examples
    --------
    >>> import torch
    >>> siren = SIREN()
    >>> siren(torch.zeros(5, 2)).shape
    torch.Size([5, 1])
    """

    def __init__(self, widths: Sequence[int] = (2, 32, 32, 1), omega_0: float = 30.0) -> None:
        super().__init__()
        if len(widths) < 2:
            raise ValueError(f"SIREN: expected at least two widths, found {list(widths)}")
        self.omega_0 = float(omega_0)
        self.layers = nn.ModuleList(nn.Linear(i, o) for i, o in itertools.pairwise(widths))
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """SIREN initialisation: first layer ``U(-1/n_in, 1/n_in)``, later ``U(-sqrt(6/n_in)/omega_0, ...)``.

        Biases follow torch's ``nn.Linear`` default ``U(-1/sqrt(n_in), 1/sqrt(n_in))``.
        """
        with torch.no_grad():
            for i, layer in enumerate(self.layers):
                n_in = layer.in_features
                bound = 1.0 / n_in if i == 0 else (6.0 / n_in) ** 0.5 / self.omega_0
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-(n_in**-0.5), n_in**-0.5, generator=generator)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        """Values ``(..., n_L)`` at coordinates ``(..., n_0)``."""
        h = coords
        for layer in self.layers[:-1]:
            h = torch.sin(self.omega_0 * layer(h))
        return self.layers[-1](h)
