"""The vectorised trainer: batched forward equals ZooTransformer, optimizers equal torch.optim, models independent."""

from __future__ import annotations

import itertools

import pytest
import torch

from transformer_nfn.zoo import ZooTransformer
from transformer_nfn.zoo.train import (
    OPTIMIZERS,
    StackedOptimizer,
    ZooArchitecture,
    init_stacked_params,
    stack_state_dicts,
    stacked_forward,
    unstack_state_dict,
    warmup_cosine,
)

ARCH = ZooArchitecture()


def test_param_shapes_match_the_module() -> None:
    sd = ZooTransformer().state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items() if k != "embedding.pos_embedding"} == ARCH.param_shapes()
    assert ARCH.num_params == sum(p.numel() for p in ZooTransformer().parameters())


def test_stacked_forward_equals_zoo_transformer_float64() -> None:
    g = torch.Generator().manual_seed(0)
    params = init_stacked_params(ARCH, torch.tensor([0.1, 0.3, 0.5]), g, dtype=torch.float64)
    with torch.no_grad():
        for p in params.values():
            p.add_(0.05 * torch.randn(p.shape, generator=g, dtype=torch.float64))  # non-zero biases too
    x = torch.randn(4, 1, 28, 28, generator=g, dtype=torch.float64)
    per_model = torch.randn(3, 4, 1, 28, 28, generator=g, dtype=torch.float64)
    with torch.no_grad():
        shared = stacked_forward(params, x.expand(3, *x.shape), ARCH)
        own = stacked_forward(params, per_model, ARCH)
    for m in range(3):
        net = ZooTransformer().double().eval()
        net.load_state_dict(unstack_state_dict(params, m, ARCH))
        with torch.no_grad():
            torch.testing.assert_close(shared[m], net(x), rtol=1e-12, atol=1e-12)
            torch.testing.assert_close(own[m], net(per_model[m]), rtol=1e-12, atol=1e-12)
    restacked = stack_state_dicts([unstack_state_dict(params, m, ARCH) for m in range(3)], ARCH)
    assert all(torch.equal(restacked[k], params[k].detach()) for k in ARCH.param_shapes())


def test_dropout_is_off_at_zero_and_per_model() -> None:
    g = torch.Generator().manual_seed(1)
    params = init_stacked_params(ARCH, torch.tensor([0.2, 0.2]), g)
    x = torch.randn(2, 3, 1, 28, 28, generator=g)
    with torch.no_grad():
        ref = stacked_forward(params, x, ARCH)
        assert torch.equal(stacked_forward(params, x, ARCH, dropout=0.0, generator=g), ref)
        mixed = stacked_forward(params, x, ARCH, dropout=torch.tensor([0.0, 0.5]), generator=g)
        assert torch.allclose(mixed[0], ref[0])
        assert not torch.allclose(mixed[1], ref[1])
        a = stacked_forward(params, x, ARCH, dropout=0.2, generator=torch.Generator().manual_seed(5))
        b = stacked_forward(params, x, ARCH, dropout=0.2, generator=torch.Generator().manual_seed(5))
        assert torch.equal(a, b)


def test_models_are_independent() -> None:
    g = torch.Generator().manual_seed(2)
    params = init_stacked_params(ARCH, torch.tensor([0.2, 0.2, 0.2]), g)
    logits = stacked_forward(params, torch.randn(3, 2, 1, 28, 28, generator=g), ARCH)
    logits[1].sum().backward()
    for p in params.values():
        assert p.grad is not None
        assert torch.count_nonzero(p.grad[0]) == 0
        assert torch.count_nonzero(p.grad[2]) == 0


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_stacked_optimizer_equals_torch_optim(name: str) -> None:
    lrs, l2s = torch.tensor([0.01, 0.003]), torch.tensor([1e-2, 1e-4])
    g = torch.Generator().manual_seed(3)
    init = torch.randn(2, 5, 4, generator=g, dtype=torch.float64)
    targets = torch.randn(4, 2, 5, 4, generator=g, dtype=torch.float64)
    stacked = {"w": init.clone().requires_grad_(True)}
    opt = StackedOptimizer(stacked, name, lr=lrs.double(), l2=l2s.double())
    singles = [init[m].clone().requires_grad_(True) for m in range(2)]
    make = {
        "sgd": lambda p, lr, wd: torch.optim.SGD([p], lr=lr, weight_decay=wd),
        "sgd_momentum": lambda p, lr, wd: torch.optim.SGD([p], lr=lr, momentum=0.9, weight_decay=wd),
        "adam": lambda p, lr, wd: torch.optim.Adam([p], lr=lr, weight_decay=wd),
        "rmsprop": lambda p, lr, wd: torch.optim.RMSprop([p], lr=lr, weight_decay=wd),
    }[name]
    torch_opts = [make(singles[m], float(lrs[m]), float(l2s[m])) for m in range(2)]
    factors = [0.5, 1.0, 0.8, 0.3]
    for step, factor in enumerate(factors):
        ((stacked["w"] - targets[step]) ** 3).abs().sum().backward()
        opt.step(factor)
        for m in range(2):
            for group in torch_opts[m].param_groups:
                group["lr"] = float(lrs[m]) * factor
            torch_opts[m].zero_grad()
            ((singles[m] - targets[step, m]) ** 3).abs().sum().backward()
            torch_opts[m].step()
    for m in range(2):
        torch.testing.assert_close(stacked["w"][m].detach(), singles[m].detach(), rtol=1e-10, atol=1e-12)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="optimizer"):
        StackedOptimizer({"w": torch.zeros(2, 3)}, "adamw", torch.ones(2), torch.ones(2))
    with pytest.raises(ValueError, match=r"lr, l2: expected shape \(2,\)"):
        StackedOptimizer({"w": torch.zeros(2, 3)}, "sgd", torch.ones(3), torch.ones(2))
    with pytest.raises(ValueError, match="init_std"):
        init_stacked_params(ARCH, torch.tensor([0.1, -1.0]))
    with pytest.raises(ValueError, match=r"images: expected shape \(M, B, C, H, W\)"):
        stacked_forward(init_stacked_params(ARCH, torch.tensor([0.1])), torch.zeros(1, 1, 28, 28), ARCH)


def test_warmup_cosine_schedule() -> None:
    values = [warmup_cosine(s, 100, 10) for s in range(100)]
    assert values[9] == 1.0
    assert values[0] == pytest.approx(0.1)
    assert all(a >= b for a, b in itertools.pairwise(values[10:]))
    assert warmup_cosine(100, 100, 10) == pytest.approx(0.0)
    torch.testing.assert_close(torch.tensor(warmup_cosine(55, 100, 10)), torch.tensor(0.5))
