"""Model zoos for the MAGEP-NFN tasks: the architectures, vectorised trainers and the on-disk generator.

- :class:`SmallCNN`, :class:`SIREN`: the networks of the CNN and INR zoos (plain ``nn.Module``s).
- :func:`train_cnn_group`, :func:`fit_sirens`: train or fit many networks at once.
- :func:`generate_cnn_zoo`, :func:`generate_inr_zoo` and ``python -m magep_nfn.zoo {cnn,inr} ROOT``: resumable,
  shardable generation into a Hugging Face ``datasets`` folder (needs the ``zoo`` extra: datasets, mlxtend,
  scipy; imported only when used).
"""

from magep_nfn.zoo.cnn import (
    CNN_GRID,
    OPTIMIZERS,
    CNNConfig,
    CNNGroupResult,
    VectorisedOptimizer,
    grouped_small_cnn,
    sample_cnn_config,
    small_cnn_flops,
    train_cnn_group,
    train_cnn_loop,
)
from magep_nfn.zoo.generate import (
    CNNZooSettings,
    INRZooSettings,
    completed_chunks,
    generate_cnn_zoo,
    generate_inr_zoo,
    parse_shard,
    read_manifest,
)
from magep_nfn.zoo.inr import coordinate_grid, dilate, fit_sirens, psnr, stacked_siren
from magep_nfn.zoo.models import ACTIVATIONS, SIREN, SmallCNN, siren_spec, small_cnn_spec

__all__ = [
    "ACTIVATIONS",
    "CNN_GRID",
    "OPTIMIZERS",
    "SIREN",
    "CNNConfig",
    "CNNGroupResult",
    "CNNZooSettings",
    "INRZooSettings",
    "SmallCNN",
    "VectorisedOptimizer",
    "completed_chunks",
    "coordinate_grid",
    "dilate",
    "fit_sirens",
    "generate_cnn_zoo",
    "generate_inr_zoo",
    "grouped_small_cnn",
    "parse_shard",
    "psnr",
    "read_manifest",
    "sample_cnn_config",
    "siren_spec",
    "small_cnn_flops",
    "small_cnn_spec",
    "stacked_siren",
    "train_cnn_group",
    "train_cnn_loop",
]
