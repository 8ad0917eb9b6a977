"""Accuracy prediction on the Small Transformer Zoo: Transformer-NFN against flat-MLP, STATNN and boosted trees.

- :class:`TransformerZooDataModule`: a zoo (this project's generated zoo, or the public release's format) under
  the zoo protocol (epoch-75 checkpoints, accuracy cut-off, 70/15/15 split), as
  :class:`~transformer_nfn.TransformerWeightSpace` batches.
- :class:`AccuracyPrediction`: trains any predictor of ``transformer_nfn.models`` with BCE against the test
  accuracy (Adam, linear warm-up then cosine decay) and reports Kendall's tau.
- ``python -m benchmarks.transformer_zoo fit --config benchmarks/configs/transformer_zoo/transformer_nfn.yaml``
  (LightningCLI), and ``python -m benchmarks.transformer_zoo.compare`` for the results table.
"""

from benchmarks.transformer_zoo.data import TransformerZooDataModule
from benchmarks.transformer_zoo.module import PREDICTORS, AccuracyPrediction, build_predictor, kendall_tau

__all__ = ["PREDICTORS", "AccuracyPrediction", "TransformerZooDataModule", "build_predictor", "kendall_tau"]
