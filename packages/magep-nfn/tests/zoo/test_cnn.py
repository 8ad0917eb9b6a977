import numpy as np
import pytest
import torch

from magep_nfn.zoo import (
    CNNConfig,
    SmallCNN,
    VectorisedOptimizer,
    grouped_small_cnn,
    sample_cnn_config,
    small_cnn_flops,
    small_cnn_spec,
    train_cnn_group,
    train_cnn_loop,
)
from magep_nfn.zoo.cnn import init_small_cnn_params
from weightspace_core import WeightSpace


def _data(n: int, size: int = 28, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, size, size, generator=gen) * 2 - 1, torch.randint(0, 10, (n,), generator=gen)


def _configs(activation: str, optimizer: str, m: int = 3) -> list[CNNConfig]:
    return [
        CNNConfig(i, activation, optimizer, lr, 1e-4, 0.1, 0.0, frac)
        for i, lr, frac in zip(range(m), (1e-2, 5e-3, 2e-2), (1.0, 0.5, 0.25))
    ]


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_grouped_forward_matches_small_cnn_modules(activation: str) -> None:
    gens = [torch.Generator().manual_seed(i) for i in range(3)]
    params = init_small_cnn_params(torch.tensor([0.1, 0.2, 0.3]), gens)
    x = torch.randn(4, 3, 32, 32)
    logits = grouped_small_cnn(params, x, activation)
    for m in range(3):
        ws = WeightSpace.unflatten(torch.cat([p[m].reshape(1, -1) for p in params], 1), small_cnn_spec())
        net = ws.load_into(SmallCNN(activation))
        torch.testing.assert_close(logits[:, m], net(x[:, m : m + 1]), rtol=1e-4, atol=1e-5)
    shared = grouped_small_cnn(params, x[:, :1], activation)
    torch.testing.assert_close(shared[:, 0], logits[:, 0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd"])
def test_vectorised_training_equals_one_at_a_time(optimizer: str) -> None:
    train, test = _data(40), _data(20, seed=1)
    configs = _configs("relu", optimizer)
    together = train_cnn_group(configs, train, test, steps=4, checkpoint_steps=[0, 2, 4], batch_size=5)
    alone = train_cnn_loop(configs, train, test, steps=4, checkpoint_steps=[0, 2, 4], batch_size=5)
    vmapped = train_cnn_group(configs, train, test, 4, [0, 2, 4], batch_size=5, layout="vmap")
    assert together.weights.shape == (3, 3, 4970)
    np.testing.assert_allclose(together.weights, alone.weights, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(together.weights, vmapped.weights, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(together.test_accuracy, alone.test_accuracy)
    assert not np.allclose(together.weights[0], together.weights[-1])


def test_recorded_accuracy_is_that_of_the_module() -> None:
    train, (x, y) = _data(40), _data(30, seed=1)
    result = train_cnn_group(_configs("tanh", "adam", 2), train, (x, y), steps=3, checkpoint_steps=[3], batch_size=5)
    ws = WeightSpace.unflatten(torch.as_tensor(result.weights[-1]), small_cnn_spec())
    for m in range(2):
        net = ws[m].load_into(SmallCNN("tanh"))
        acc = (net(x).argmax(-1) == y).float().mean().item()
        assert result.test_accuracy[-1, m] == pytest.approx(acc)


def test_optimizer_is_per_network() -> None:
    p = [torch.zeros(3, 2)]
    opt = VectorisedOptimizer("adam", p, torch.tensor([0.1, 0.0, 0.2]))
    opt.step([torch.ones(3, 2)])
    torch.testing.assert_close(p[0][:, 0], torch.tensor([-0.1, 0.0, -0.2]))
    with pytest.raises(ValueError, match="adagrad"):
        VectorisedOptimizer("adagrad", p, torch.ones(3))


def test_group_must_share_activation_and_optimizer() -> None:
    train = _data(10)
    mixed = [_configs("relu", "adam")[0], _configs("tanh", "adam")[1]]
    with pytest.raises(ValueError, match="one activation and optimizer"):
        train_cnn_group(mixed, train, train, 1, [1])
    with pytest.raises(ValueError, match="checkpoint steps"):
        train_cnn_group(_configs("relu", "adam"), train, train, 1, [2])


def test_sampled_configs_depend_on_seed_and_id_only() -> None:
    a = [sample_cnn_config(i, "relu", "sgd", 5) for i in range(20)]
    assert a == [sample_cnn_config(i, "relu", "sgd", 5) for i in range(20)]
    assert len({c.learning_rate for c in a}) > 1
    assert small_cnn_flops(32, train=False) * 3 == small_cnn_flops(32)
