import importlib.metadata

import clifford_egnn


def test_version_matches_metadata() -> None:
    assert clifford_egnn.__version__ == importlib.metadata.version("clifford-egnn")
