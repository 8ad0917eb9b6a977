"""The Small Transformer Zoo: the architecture (:class:`ZooTransformer`), generation and loading."""

from transformer_nfn.zoo.generate import ZooGrid, ZooSchedule, generate_zoo
from transformer_nfn.zoo.model import (
    ZooAttention,
    ZooEncoderBlock,
    ZooPatchEmbedding,
    ZooTransformer,
    sinusoidal_position_encoding,
)

__all__ = [
    "ZooAttention",
    "ZooEncoderBlock",
    "ZooGrid",
    "ZooPatchEmbedding",
    "ZooSchedule",
    "ZooTransformer",
    "generate_zoo",
    "sinusoidal_position_encoding",
]
