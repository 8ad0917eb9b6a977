import pytest
import torch

from transformer_nfn import TransformerSpec, TransformerWeightSpace, sample_group_element
from transformer_nfn.models import FlatMLPPredictor, GradientBoostedTreesPredictor, STATNNPredictor, statnn_features
from transformer_nfn.zoo import ZooTransformer
from weightspace_core.testing import assert_invariant, assert_sensitive

SPEC = TransformerSpec.parse("L2-D6-h2-k2-v3-A5")


def random_ws(batch: int = 4, seed: int = 0) -> TransformerWeightSpace:
    return TransformerWeightSpace.randn(SPEC, batch, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def test_statnn_statistics_values() -> None:
    ws = random_ws()
    feats = statnn_features(ws, extras=False)
    assert feats.shape == (4, 7 * 8 * 2)
    w_a = ws.w_a[1, 0, 1].flatten()  # block 1 of network 1: the 6th tensor family, second block
    start = 7 * (2 * 4 + 1)
    expected = torch.stack(
        [
            w_a.mean(),
            w_a.var(unbiased=False),
            w_a.min(),
            *w_a.quantile(torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64)),
            w_a.max(),
        ]
    )
    torch.testing.assert_close(feats[1, start : start + 7], expected)


def test_statnn_invariant_to_permutations_not_to_gl() -> None:
    ws = random_ws()
    perms = sample_group_element(SPEC, linear=False, generator=torch.Generator().manual_seed(1))
    full = sample_group_element(SPEC, generator=torch.Generator().manual_seed(1))
    assert_invariant(lambda x: statnn_features(x, extras=False), ws, perms.act, rtol=1e-12)
    assert_sensitive(lambda x: statnn_features(x, extras=False), ws, full.act)


def test_flat_mlp_is_not_invariant() -> None:
    ws = random_ws()
    torch.manual_seed(0)
    model = FlatMLPPredictor(ws.flatten().shape[1], hidden=(16,))
    g = sample_group_element(SPEC, generator=torch.Generator().manual_seed(2))
    assert_sensitive(model, ws, g.act)
    assert model(ws.to(torch.float32)).shape == (4,)
    with pytest.raises(ValueError, match="FlatMLPPredictor: expected"):
        FlatMLPPredictor(3)(ws.to(torch.float32))


def test_statnn_predictor_with_zoo_extras() -> None:
    models = [ZooTransformer(6, 2, 2, 3, 2, 5, num_classes=3, image_size=8) for _ in range(2)]
    ws = TransformerWeightSpace.from_state_dicts([m.state_dict() for m in models], num_heads=2)
    n_extra = 6  # classifier fc1/fc2 weight+bias, embedding conv1 weight+bias (pos_embedding left out)
    assert statnn_features(ws).shape == (2, 7 * (16 + n_extra))
    assert STATNNPredictor(7 * (16 + n_extra), hidden=(8,))(ws).shape == (2,)


def test_gradient_boosted_trees_learn_a_weight_function() -> None:
    pytest.importorskip("sklearn")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    ws = random_ws(batch=200, seed=3)
    target = torch.sigmoid(ws.b_b[:, 0, 0, 0] + ws.b_b[:, 0, 1, 2])
    # one OpenMP thread: on a shared 2-core machine the spinning worker threads cost more than they give
    with threadpoolctl.threadpool_limits(1):
        gbt = GradientBoostedTreesPredictor(max_iter=30, max_bins=32, learning_rate=0.3, random_state=0)
        pred = gbt.fit(ws[:150], target[:150]).predict(ws[150:])
    baseline = ((target[150:] - target[:150].mean()) ** 2).mean()
    assert ((pred - target[150:]) ** 2).mean() < 0.5 * baseline
    with pytest.raises(ValueError, match="target: expected shape"):
        gbt.fit(ws, target[:3])


def test_gradient_boosted_trees_validate() -> None:
    with pytest.raises(ValueError, match="features"):
        GradientBoostedTreesPredictor(features="pca")
    with pytest.raises(ValueError, match="fit"):
        GradientBoostedTreesPredictor().predict(random_ws())
