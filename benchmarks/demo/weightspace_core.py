"""weightspace-core: a random element of the hidden-neuron monomial group changes every weight of a network but
not the function it computes, as long as the group matches the activation (and only then)."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from weightspace_core import WeightSpace
from weightspace_core.groups import sample_monomial
from weightspace_core.testing import relative_error, to_float64


def _mlp(widths: list[int], activation: type[nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        layers += [nn.Linear(n_in, n_out)] + ([activation()] if i < len(widths) - 2 else [])
    return nn.Sequential(*layers)


def _small_cnn(activation: type[nn.Module]) -> nn.Sequential:
    convs: list[nn.Module] = []
    for c_in in (1, 16, 16):
        convs += [nn.Conv2d(c_in, 16, 3, stride=2), activation()]
    return nn.Sequential(*convs, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


def main(argv: list[str] | None = None) -> None:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    cases = [
        ("MLP 3-17-5-11-2", lambda act: _mlp([3, 17, 5, 11, 2], act), torch.randn(64, 3)),
        ("Small-CNN-Zoo CNN", _small_cnn, torch.randn(16, 1, 32, 32)),
    ]
    print(f"{'network':<20}{'activation':<12}{'group':<8}{'weights changed':>17}{'output changed':>16}")
    for name, build, x in cases:
        for activation in (nn.ReLU, nn.Tanh):
            net = to_float64(build(activation))
            ws = WeightSpace.from_module(net)
            for kind in ("scale", "sign"):
                g = sample_monomial(ws.spec, kind, scale_range=(1e-2, 1e2), generator=generator)
                moved = g.act_on_module(net)
                with torch.no_grad():
                    out_err = relative_error(moved(x.double()), net(x.double()))
                w_err = relative_error(WeightSpace.from_module(moved), ws)
                verdict = "same function" if out_err < 1e-10 else "different"
                print(f"{name:<20}{activation.__name__:<12}{kind:<8}{w_err:>17.2e}{out_err:>16.2e}  {verdict}")
    print("ReLU networks keep their function under positive scalings, tanh networks under signs.")


if __name__ == "__main__":
    main()
