from pathlib import Path

import pytest

from magep_nfn.zoo import CNNZooSettings, INRZooSettings

TINY_CNN = CNNZooSettings(
    networks_per_activation=6,
    optimizers=("adam", "sgd"),
    steps=2,
    checkpoints=(1, 2),
    batch_size=4,
    chunk_size=2,
    test_per_class=3,
)
TINY_INR = INRZooSettings(num_images=6, copies=1, steps=3, chunk_size=2)


@pytest.fixture
def tiny_cnn_settings() -> CNNZooSettings:
    """A 12-network CNN zoo in 6 chunks of 2 that trains in seconds."""
    return TINY_CNN


@pytest.fixture
def tiny_inr_settings() -> INRZooSettings:
    return TINY_INR


@pytest.fixture(scope="module")
def tiny_cnn_zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from magep_nfn.zoo import generate_cnn_zoo

    root = tmp_path_factory.mktemp("cnn_zoo")
    generate_cnn_zoo(root, TINY_CNN, progress=False)
    return root
