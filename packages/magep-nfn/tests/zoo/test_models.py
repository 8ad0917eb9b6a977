import pytest
import torch

from magep_nfn.zoo import SIREN, SmallCNN, siren_spec, small_cnn_spec
from weightspace_core import WeightSpace
from weightspace_core.groups import sample_monomial
from weightspace_core.testing import assert_function_preserved, assert_sensitive


def test_small_cnn_spec_and_shapes() -> None:
    net = SmallCNN("relu")
    assert WeightSpace.from_module(net).spec == small_cnn_spec()
    assert small_cnn_spec().num_params == 4970
    assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize(("activation", "kind"), [("relu", "scale"), ("tanh", "sign"), ("tanh", "permutation")])
def test_small_cnn_function_preserved_by_its_group(activation: str, kind: str) -> None:
    gen = torch.Generator().manual_seed(0)
    net = SmallCNN(activation)
    g = sample_monomial(small_cnn_spec(), kind, generator=gen)
    assert_function_preserved(net, g.act_on_module, torch.randn(3, 1, 32, 32, generator=gen), rtol=1e-10)


def test_small_cnn_tanh_not_preserved_by_scaling() -> None:
    gen = torch.Generator().manual_seed(1)
    net = SmallCNN("tanh").double()
    g = sample_monomial(small_cnn_spec(), "scale", generator=gen)
    moved = g.act_on_module(net)
    assert_sensitive(lambda m: m(torch.randn(3, 1, 32, 32, dtype=torch.float64, generator=gen)), net, lambda m: moved)


def test_siren_function_preserved_by_signs_not_scalings() -> None:
    gen = torch.Generator().manual_seed(2)
    net = SIREN()
    x = torch.rand(20, 2, generator=gen) * 2 - 1
    g = sample_monomial(siren_spec(), "sign", generator=gen)
    assert_function_preserved(net, g.act_on_module, x, rtol=1e-10)
    h = sample_monomial(siren_spec(), "scale", generator=gen)
    net64 = SIREN().double()
    x64 = x.double()
    assert_sensitive(lambda m: m(x64), net64, lambda m: h.act_on_module(m))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="activation"):
        SmallCNN("gelu")
    with pytest.raises(ValueError, match="dropout"):
        SmallCNN(dropout=1.0)
    with pytest.raises(ValueError, match="widths"):
        SIREN([2])
