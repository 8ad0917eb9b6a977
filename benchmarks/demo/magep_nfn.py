"""magep-nfn: which weight-space models give the same prediction for two CNNs that compute the same function?

Ten Small-CNN-Zoo networks are transformed by random hidden-channel permutations with positive scalings (factors
1e-2 to 1e2): the networks' logits do not change, and neither should a generalisation predictor's output. Only
the monomial-equivariant models (MAGEP-NFN, Monomial-NFN) pass; NP, HNP, STATNN and a flat MLP see different
inputs and answer differently. Untrained models: invariance is a property of the architecture, not of training.
"""

from __future__ import annotations

import torch
from torch import nn

from magep_nfn.models import BACKBONES, InvariantModel
from weightspace_core import WeightSpace
from weightspace_core.groups import sample_monomial
from weightspace_core.testing import relative_error


def _small_cnn() -> nn.Sequential:
    convs: list[nn.Module] = []
    for c_in in (1, 16, 16):
        convs += [nn.Conv2d(c_in, 16, 3, stride=2), nn.ReLU()]
    return nn.Sequential(*convs, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10)).double()


def main(argv: list[str] | None = None) -> None:
    torch.manual_seed(0)
    nets = [_small_cnn() for _ in range(10)]
    ws = WeightSpace.stack([WeightSpace.from_module(net) for net in nets])
    g = sample_monomial(
        ws.spec, "scale", scale_range=(1e-2, 1e2), num_elements=10, generator=torch.Generator().manual_seed(1)
    )
    moved = g.act(ws)
    x = torch.randn(4, 1, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        logit_change = max(relative_error(moved[k].clone_module(net)(x), net(x)) for k, net in enumerate(nets))
    print(f"Small-CNN-Zoo spec '{ws.spec}', 10 networks, random permutations x scalings in [1e-2, 1e2]")
    print(f"largest relative change of the networks' logits: {logit_change:.1e}\n")
    print(f"{'backbone':<10}{'parameters':>12}{'prediction change':>20}")
    for backbone in BACKBONES:
        model = InvariantModel(ws.spec, 1, backbone, hidden_channels=8, generator=torch.Generator().manual_seed(0))
        model = model.double().eval()
        with torch.no_grad():
            change = relative_error(model(moved), model(ws))
        params = sum(p.numel() for p in model.parameters())
        verdict = "invariant" if change < 1e-9 else "NOT invariant"
        print(f"{backbone:<10}{params:>12,}{change:>20.2e}  {verdict}")


if __name__ == "__main__":
    main()
