"""Weight-space data sets: the public release formats and the project's own zoos.

- :func:`load_small_cnn_zoo`: a Small CNN Zoo release folder (``weights.npy``, ``metrics.csv.gz``,
  ``layout.csv``), TensorFlow layouts converted to torch; :func:`split_indices` is its protocol's split.
- :func:`load_nfn_inr_directory`: the NFN INR release (a directory of SIREN state dicts, label in the path).
- :func:`load_cnn_zoo`, :func:`load_inr_zoo`: folders written by ``python -m magep_nfn.zoo``.

Loading tables needs pandas and own zoos need ``datasets`` (the ``zoo`` extra); both are imported on use.
"""

from magep_nfn.data.own import load_cnn_zoo, load_inr_zoo, load_zoo_dataset
from magep_nfn.data.release import (
    CNNZoo,
    INRZoo,
    LayoutEntry,
    convert_tf_weights,
    load_nfn_inr_directory,
    load_small_cnn_zoo,
    read_layout,
    split_indices,
)

__all__ = [
    "CNNZoo",
    "INRZoo",
    "LayoutEntry",
    "convert_tf_weights",
    "load_cnn_zoo",
    "load_inr_zoo",
    "load_nfn_inr_directory",
    "load_small_cnn_zoo",
    "load_zoo_dataset",
    "read_layout",
    "split_indices",
]
