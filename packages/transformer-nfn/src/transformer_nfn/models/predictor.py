"""The Transformer-NFN accuracy predictor (spec section 4)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from transformer_nfn.nn import TransformerNFNInvariant, TransformerNFNLinear, TransformerPartialReLU
from transformer_nfn.weightspace import TransformerSpec, TransformerWeightSpace

__all__ = ["TransformerNFN", "extras_features", "mlp"]


def mlp(sizes: Sequence[int], final_activation: bool = True) -> nn.Sequential:
    """``Linear -> ReLU -> ... -> Linear [-> ReLU]`` through ``sizes``."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if final_activation or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def extras_features(ws: TransformerWeightSpace, prefix: str) -> torch.Tensor:
    """The extras whose key starts with ``prefix``, flattened in sorted key order: ``(B, n)``.

    ``embedding.pos_embedding`` (a fixed buffer, the same in every zoo network) is left out.
    """
    keys = [k for k in sorted(ws.extras) if k.startswith(prefix) and k != "embedding.pos_embedding"]
    if not keys:
        raise ValueError(f"extras_features: expected extras starting with {prefix!r}, found {sorted(ws.extras)}")
    return torch.cat([ws.extras[k].reshape(ws.batch_size, -1) for k in keys], dim=1)


class TransformerNFN(nn.Module):
    """Predicts a transformer's test accuracy from its weights; invariant to the encoder's maximal group.

    Three branches, concatenated, then ``Linear -> Sigmoid``:

    - encoder: :class:`TransformerNFNLinear` ``1 -> hidden_channels``, :class:`TransformerPartialReLU`,
      :class:`TransformerNFNInvariant` ``hidden_channels -> invariant_features`` per block, an MLP;
    - classifier weights (``classifier.*`` extras, flattened): an MLP;
    - embedding weights (``embedding.conv1.*``, MNIST only): an MLP.

    ``p = sigmoid(w^T [enc(W); cls(W); emb(W)] + c)``. Invariant to
    :class:`~transformer_nfn.TransformerGroupElement` acting on the input (the classifier and embedding are not
    acted on). Train with BCE against the accuracy in [0, 1] (the loss lives outside ``forward``).

    Parameters
    ----------
    spec:
        the encoder architecture.
    classifier_size, embedding_size:
        number of classifier / trainable embedding values per network; 0 drops that branch.
    hidden_channels, invariant_features:
        width of the equivariant layer and values per block of the invariant layer (the published model: 10, 10).
    hidden_dim:
        width of every branch MLP (two layers each).
    qk_rank:
        low-rank factorisation of the equivariant layer's ``D^3`` terms (``None``: full).

    Shapes: takes a :class:`~transformer_nfn.TransformerWeightSpace` with one channel and the extras the
    branches need; returns ``(B,)`` predictions in (0, 1).

    Examples
    --------
    >>> from transformer_nfn.zoo import ZooTransformer
    >>> ws = TransformerWeightSpace.from_state_dicts([ZooTransformer().state_dict() for _ in range(3)], num_heads=2)
    >>> model = TransformerNFN.for_weight_space(ws, hidden_dim=16)
    >>> model(ws).shape
    torch.Size([3])
    """

    def __init__(
        self,
        spec: TransformerSpec,
        classifier_size: int,
        embedding_size: int = 0,
        hidden_channels: int = 10,
        invariant_features: int = 10,
        hidden_dim: int = 100,
        qk_rank: int | None = None,
    ) -> None:
        super().__init__()
        if classifier_size < 0 or embedding_size < 0:
            raise ValueError(
                f"classifier_size, embedding_size: expected non-negative sizes, found {classifier_size}, {embedding_size}"
            )
        self.spec, self.classifier_size, self.embedding_size = spec, classifier_size, embedding_size
        self.equivariant = TransformerNFNLinear(spec, 1, hidden_channels, qk_rank=qk_rank)
        self.activation = TransformerPartialReLU()
        self.invariant = TransformerNFNInvariant(spec, hidden_channels, invariant_features)
        self.encoder_mlp = mlp([self.invariant.output_size, hidden_dim, hidden_dim])
        self.classifier_mlp = mlp([classifier_size, hidden_dim, hidden_dim]) if classifier_size else None
        self.embedding_mlp = mlp([embedding_size, hidden_dim, hidden_dim]) if embedding_size else None
        branches = 1 + (classifier_size > 0) + (embedding_size > 0)
        self.head = nn.Linear(branches * hidden_dim, 1)

    @classmethod
    def for_weight_space(
        cls, ws: TransformerWeightSpace, classifier: bool = True, embedding: bool = True, **kwargs: int | None
    ) -> TransformerNFN:
        """A predictor sized for ``ws`` (its spec and extras); ``classifier``/``embedding`` toggle branches."""
        has_embedding = any(k.startswith("embedding.conv1") for k in ws.extras)
        cls_size = extras_features(ws, "classifier.").shape[1] if classifier else 0
        emb_size = extras_features(ws, "embedding.").shape[1] if embedding and has_embedding else 0
        return cls(ws.spec, cls_size, emb_size, **kwargs)  # type: ignore[arg-type]

    def encode(self, ws: TransformerWeightSpace) -> torch.Tensor:
        """The encoder branch alone: ``(B, hidden_dim)`` invariant features."""
        return self.encoder_mlp(self.invariant(self.activation(self.equivariant(ws))))

    def forward(self, ws: TransformerWeightSpace) -> torch.Tensor:
        feats = [self.encode(ws)]
        if self.classifier_mlp is not None:
            feats.append(self.classifier_mlp(extras_features(ws, "classifier.")))
        if self.embedding_mlp is not None:
            feats.append(self.embedding_mlp(extras_features(ws, "embedding.")))
        return torch.sigmoid(self.head(torch.cat(feats, dim=1))).squeeze(-1)
