import pytest
import torch
from torch import nn

from weightspace_core import LayerSpec, NetworkSpec, WeightSpace


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def cnn() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2),
        nn.ReLU(),
        nn.Conv2d(16, 8, 3, stride=2),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 10),
    )


def test_spec_round_trip_and_properties() -> None:
    text = "16x1x3x3,16x16x3x3,16x16x3x3,10x16"
    spec = NetworkSpec.parse(text)
    assert str(spec) == text
    assert NetworkSpec.parse(str(spec)) == spec
    assert spec == NetworkSpec.cnn([1, 16, 16, 16], dense=[10])
    assert spec.widths == (1, 16, 16, 16, 10)
    assert spec.num_layers == 4
    assert spec.num_params == 4970
    assert NetworkSpec.mlp([2, 32, 32, 1]).num_params == 2 * 32 + 32 + 32 * 32 + 32 + 32 + 1


def test_spec_errors() -> None:
    with pytest.raises(ValueError, match="layer 2 expects 4 inputs but layer 1 has 3 outputs"):
        NetworkSpec((LayerSpec(3, 2), LayerSpec(5, 4)))
    with pytest.raises(ValueError, match="convolution after a dense layer"):
        NetworkSpec((LayerSpec(3, 2), LayerSpec(5, 3, (3, 3))))
    with pytest.raises(ValueError, match="OUTxIN"):
        NetworkSpec.parse("3x2,5")
    with pytest.raises(ValueError, match="at least one layer"):
        NetworkSpec(())


def test_from_module_matches_parameters_and_round_trips() -> None:
    torch.manual_seed(0)
    net = cnn()
    ws = WeightSpace.from_module(net)
    assert (ws.batch_size, ws.channels, ws.num_layers) == (1, 1, 3)
    assert tuple(ws.weights[0].shape) == (1, 1, 16, 1, 3, 3)
    assert tuple(ws.biases[2].shape) == (1, 1, 10)
    torch.testing.assert_close(ws.flatten()[0], nn.utils.parameters_to_vector(net.parameters()).detach())
    other = cnn()
    (ws * 3.0).load_into(other)
    torch.testing.assert_close(
        nn.utils.parameters_to_vector(other.parameters()), 3.0 * nn.utils.parameters_to_vector(net.parameters())
    )


def test_state_dict_round_trip() -> None:
    net = cnn()
    ws = WeightSpace.from_state_dict(net.state_dict(), spec=WeightSpace.from_module(net).spec)
    torch.testing.assert_close(ws.flatten(), WeightSpace.from_module(net).flatten())


def test_flatten_unflatten_with_channels() -> None:
    spec = NetworkSpec.parse("4x2x3x3,5x4,3x5")
    ws = WeightSpace.randn(spec, batch_size=3, channels=2, generator=gen())
    flat = ws.flatten()
    assert tuple(flat.shape) == (3, 2 * spec.num_params)
    back = WeightSpace.unflatten(flat, spec, channels=2)
    for a, b in zip(back.tensors(), ws.tensors()):
        assert torch.equal(a, b)


def test_map_arithmetic_stack_index() -> None:
    spec = NetworkSpec.mlp([3, 4, 2])
    a = WeightSpace.randn(spec, batch_size=2, generator=gen(0))
    b = WeightSpace.randn(spec, batch_size=2, generator=gen(1))
    torch.testing.assert_close((a + b - b).flatten(), a.flatten())
    torch.testing.assert_close((2 * a / 2).flatten(), a.flatten())
    torch.testing.assert_close((-a).flatten(), -a.flatten())
    torch.testing.assert_close(a.map(torch.relu).flatten(), torch.relu(a.flatten()))
    stacked = WeightSpace.stack([a, b])
    assert stacked.batch_size == 4
    torch.testing.assert_close(stacked[2:].flatten(), b.flatten())
    torch.testing.assert_close(stacked[1].flatten(), a.flatten()[1:2])
    both = WeightSpace.cat_channels([a, b])
    assert both.channels == 2
    assert both.to(torch.float64).dtype == torch.float64
    with pytest.raises(AttributeError, match="immutable"):
        a.weights = ()  # type: ignore[misc]


def test_bad_input() -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 4)
            self.norm = nn.BatchNorm1d(4)

    with pytest.raises(ValueError, match="'norm' of type BatchNorm1d.*expected only nn.Linear and nn.Conv2d"):
        WeightSpace.from_module(Odd())
    with pytest.raises(ValueError, match="expected a bias"):
        WeightSpace.from_module(nn.Sequential(nn.Linear(3, 4, bias=False)))
    spec = NetworkSpec.mlp([3, 4, 2])
    a = WeightSpace.zeros(spec)
    with pytest.raises(ValueError, match="expected matching specs, found '4x3,2x4' and '5x3,2x5'"):
        _ = a + WeightSpace.zeros(NetworkSpec.mlp([3, 5, 2]))
    with pytest.raises(ValueError, match="do not broadcast"):
        _ = WeightSpace.zeros(spec, batch_size=2) + WeightSpace.zeros(spec, batch_size=3)
    state = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)).state_dict()
    state["1.weight"] = torch.zeros(2, 5)
    with pytest.raises(ValueError, match=r"key '1.weight': expected shape \(2, 4\), found \(2, 5\)"):
        WeightSpace.from_state_dict(state, spec=spec)
    del state["1.weight"]
    with pytest.raises(ValueError, match="expected key '1.weight'"):
        WeightSpace.from_state_dict(state)
    with pytest.raises(ValueError, match="'0.running_mean'"):
        WeightSpace.from_state_dict({"0.weight": torch.zeros(2, 2), "0.running_mean": torch.zeros(2)})
    with pytest.raises(ValueError, match="expected a module with spec '4x3,2x4', found '5x3,2x5'"):
        a.load_into(nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 2)))
    with pytest.raises(ValueError, match="single network"):
        WeightSpace.zeros(spec, batch_size=2).load_into(nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)))
    with pytest.raises(ValueError, match="expected shape \\(B, 50\\)"):
        WeightSpace.unflatten(torch.zeros(1, 49), NetworkSpec.mlp([3, 8, 2]))
    with pytest.raises(ValueError, match="layer 1: expected weight .* and bias"):
        WeightSpace([torch.zeros(1, 1, 3, 2)], [torch.zeros(1, 1, 4)])
