import itertools
from collections.abc import Callable

import pytest
import torch
from torch import nn

from weightspace_core import NetworkSpec, WeightSpace
from weightspace_core.groups import MonomialAction, sample_monomial
from weightspace_core.testing import assert_function_preserved, assert_sensitive, relative_error


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def mlp(widths: list[int], activation: Callable[[], nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(widths) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def small_cnn_zoo_net(activation: Callable[[], nn.Module]) -> nn.Sequential:
    """The Small CNN Zoo architecture: three 3x3 stride-2 convs of 16 channels, global average pool, dense."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2),
        activation(),
        nn.Conv2d(16, 16, 3, stride=2),
        activation(),
        nn.Conv2d(16, 16, 3, stride=2),
        activation(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),
    )


MLP_WIDTHS = [[3, 17, 5, 11, 2], [2, 32, 32, 32, 1], [4, 9, 23, 6, 13, 3]]


@pytest.mark.parametrize("widths", MLP_WIDTHS)
@pytest.mark.parametrize(("kind", "activation"), [("scale", nn.ReLU), ("sign", nn.Tanh), ("permutation", nn.GELU)])
def test_mlp_function_preserved(widths: list[int], kind: str, activation: Callable[[], nn.Module]) -> None:
    torch.manual_seed(0)
    net = mlp(widths, activation)
    g = sample_monomial(WeightSpace.from_module(net).spec, kind, scale_range=(1e-2, 1e2), generator=gen())
    x = torch.randn(32, widths[0])
    assert assert_function_preserved(net, g.act_on_module, x, rtol=1e-10) < 1e-10


@pytest.mark.parametrize(("kind", "activation"), [("scale", nn.ReLU), ("sign", nn.Tanh)])
def test_small_cnn_zoo_function_preserved(kind: str, activation: Callable[[], nn.Module]) -> None:
    torch.manual_seed(0)
    net = small_cnn_zoo_net(activation)
    spec = WeightSpace.from_module(net).spec
    assert str(spec) == "16x1x3x3,16x16x3x3,16x16x3x3,10x16"
    assert spec.num_params == 4970
    g = sample_monomial(spec, kind, generator=gen())
    x = torch.randn(8, 1, 32, 32)
    assert assert_function_preserved(net, g.act_on_module, x, rtol=1e-10) < 1e-10


def test_weights_really_change() -> None:
    net = mlp([3, 8, 8, 2], nn.ReLU)
    ws = WeightSpace.from_module(net)
    g = sample_monomial(ws.spec, "scale", generator=gen())
    assert relative_error(g.act(ws), ws) > 0.1


@pytest.mark.parametrize(("kind", "activation"), [("scale", nn.Tanh), ("sign", nn.ReLU)])
def test_wrong_group_for_activation_changes_function(kind: str, activation: Callable[[], nn.Module]) -> None:
    """Negative control: scalings do not preserve tanh networks, signs do not preserve ReLU networks."""
    torch.manual_seed(0)
    net = mlp([3, 16, 16, 2], activation)
    g = sample_monomial(WeightSpace.from_module(net).spec, kind, generator=gen())
    x = torch.randn(32, 3, dtype=torch.float64)
    assert_sensitive(lambda m: m(x), net, g.act_on_module, min_error=1e-3)


def test_group_laws_on_weight_space() -> None:
    spec = NetworkSpec.parse("16x1x3x3,16x16x3x3,10x16")
    ws = WeightSpace.randn(spec, batch_size=3, channels=2, dtype=torch.float64, generator=gen())
    g = sample_monomial(spec, "scale", generator=gen(1))
    h = sample_monomial(spec, "sign", generator=gen(2))
    assert relative_error(g.inverse().act(g.act(ws)), ws) < 1e-14
    assert relative_error((g @ h).act(ws), g.act(h.act(ws))) < 1e-14
    assert relative_error(MonomialAction.identity(spec).act(ws), ws) == 0.0


def test_hidden_element_matches_action() -> None:
    spec = NetworkSpec.mlp([3, 5, 4, 2])
    ws = WeightSpace.randn(spec, dtype=torch.float64, generator=gen())
    g = sample_monomial(spec, "scale", generator=gen(1))
    g1, g2 = g.hidden(1).matrix(), g.hidden(2).matrix()
    w1, w2, w3 = (w[0, 0] for w in ws.weights)
    out = g.act(ws)
    torch.testing.assert_close(out.weights[0][0, 0], g1 @ w1)
    torch.testing.assert_close(out.weights[1][0, 0], g2 @ w2 @ torch.linalg.inv(g1))
    torch.testing.assert_close(out.weights[2][0, 0], w3 @ torch.linalg.inv(g2))
    torch.testing.assert_close(out.biases[1][0, 0], g2 @ ws.biases[1][0, 0])
    torch.testing.assert_close(out.biases[2], ws.biases[2])


def test_one_element_per_network() -> None:
    spec = NetworkSpec.mlp([3, 6, 6, 2])
    ws = WeightSpace.randn(spec, batch_size=4, dtype=torch.float64, generator=gen())
    g = sample_monomial(spec, "scale", num_elements=4, generator=gen(1))
    out = g.act(ws)
    for b in range(4):
        single = MonomialAction(spec, [d[b : b + 1] for d in g.diags], [p[b : b + 1] for p in g.perms])
        assert relative_error(out[b], single.act(ws[b])) < 1e-15
    assert relative_error(g.inverse().act(out), ws) < 1e-14


def test_bad_input() -> None:
    spec = NetworkSpec.mlp([3, 6, 2])
    g = sample_monomial(spec, "scale", num_elements=2)
    with pytest.raises(ValueError, match="spec '6x3,2x6'"):
        g.act(WeightSpace.zeros(NetworkSpec.mlp([3, 7, 2]), batch_size=2))
    with pytest.raises(ValueError, match="batch_size=3"):
        g.act(WeightSpace.zeros(spec, batch_size=3))
    with pytest.raises(ValueError, match="single group element"):
        g.act_on_module(mlp([3, 6, 2], nn.ReLU))
    with pytest.raises(ValueError, match="kind"):
        sample_monomial(spec, "rotation")
    with pytest.raises(ValueError, match="1 hidden layers"):
        MonomialAction(spec, [], [])
