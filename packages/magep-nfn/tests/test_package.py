import importlib.metadata

import magep_nfn


def test_version_matches_metadata() -> None:
    assert magep_nfn.__version__ == importlib.metadata.version("magep-nfn")
