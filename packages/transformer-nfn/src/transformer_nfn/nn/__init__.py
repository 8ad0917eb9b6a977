"""Transformer-NFN layers: equivariant linear, partial ReLU, invariant pooling."""

from transformer_nfn.nn.activation import TransformerPartialReLU
from transformer_nfn.nn.invariant import TransformerNFNInvariant
from transformer_nfn.nn.linear import TransformerNFNLinear, attention_sums, global_features

__all__ = [
    "TransformerNFNInvariant",
    "TransformerNFNLinear",
    "TransformerPartialReLU",
    "attention_sums",
    "global_features",
]
