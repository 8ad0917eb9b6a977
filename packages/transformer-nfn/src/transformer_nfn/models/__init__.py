"""Accuracy predictors: the Transformer-NFN model and its baselines."""

from transformer_nfn.models.baselines import (
    FlatMLPPredictor,
    GradientBoostedTreesPredictor,
    STATNNPredictor,
    statnn_features,
)
from transformer_nfn.models.predictor import TransformerNFN, extras_features, mlp

__all__ = [
    "FlatMLPPredictor",
    "GradientBoostedTreesPredictor",
    "STATNNPredictor",
    "TransformerNFN",
    "extras_features",
    "mlp",
    "statnn_features",
]
