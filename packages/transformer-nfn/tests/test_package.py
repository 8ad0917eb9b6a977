import importlib.metadata

import transformer_nfn


def test_version_matches_metadata() -> None:
    assert transformer_nfn.__version__ == importlib.metadata.version("transformer-nfn")
