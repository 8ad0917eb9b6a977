"""transformer-nfn: the maximal symmetry group of multi-head attention, and a predictor that respects it.

Eight zoo transformers (MNIST variant: 2 blocks, 2 heads) are transformed by random elements of the group: head
permutations, well-conditioned GL(D_k) and GL(D_v) factors per head, and the permutations P_O and P_A. Every
weight of the encoder changes, the logits do not, and `equivalent` recognises the copies. Transformer-NFN's
prediction is unchanged; the flat-MLP and STATNN baselines answer differently. Untrained predictors: invariance
is a property of the architecture.
"""

from __future__ import annotations

import torch

from transformer_nfn import TransformerWeightSpace, equivalent, sample_group_element
from transformer_nfn.models import FlatMLPPredictor, STATNNPredictor, TransformerNFN, statnn_features
from transformer_nfn.zoo import ZooTransformer
from weightspace_core.testing import relative_error


def main(argv: list[str] | None = None) -> None:
    torch.manual_seed(0)
    nets = [ZooTransformer().double().eval() for _ in range(8)]
    ws = TransformerWeightSpace.stack([TransformerWeightSpace.from_module(net) for net in nets])
    g = sample_group_element(ws.spec, num_elements=8, generator=torch.Generator().manual_seed(1))
    moved = g.act(ws)
    images = torch.rand(16, 1, 28, 28, dtype=torch.float64)
    with torch.no_grad():
        logit_change = max(
            relative_error(moved.load_into(ZooTransformer().double().eval(), index=k)(images), net(images))
            for k, net in enumerate(nets)
        )
    weight_change = relative_error(moved, ws)
    print(f"encoder spec '{ws.spec}', 8 networks, one random group element each")
    print(f"relative change of the encoder weights: {weight_change:.2f}; of the logits: {logit_change:.1e}")
    same = equivalent(ws, moved, full_block=True)
    perturbed = equivalent(ws, ws.map(lambda t: t + 1e-3 * torch.randn_like(t)), full_block=True)
    print(
        f"equivalent(original, transformed) = {same.all().item()}; equivalent(original, perturbed) = {perturbed.any().item()}\n"
    )

    size = ws.flatten().shape[1]
    predictors = {
        "Transformer-NFN": TransformerNFN.for_weight_space(ws),
        "flat MLP": FlatMLPPredictor(size),
        "STATNN": STATNNPredictor(statnn_features(ws).shape[1]),
    }
    print(f"{'predictor':<18}{'parameters':>12}{'prediction change':>20}")
    for name, model in predictors.items():
        model = model.double().eval()
        with torch.no_grad():
            change = relative_error(model(moved), model(ws))
        params = sum(p.numel() for p in model.parameters())
        print(f"{name:<18}{params:>12,}{change:>20.2e}  {'invariant' if change < 1e-9 else 'NOT invariant'}")


if __name__ == "__main__":
    main()
