"""The main job (``nox -s demo``): each module here has a ``main(argv)`` showing one package's headline result
in a few minutes on a laptop CPU. ``ORDER`` fixes the sequence; new packages append themselves."""

ORDER = ["weightspace_core", "clifford_egnn", "magep_nfn", "transformer_nfn"]
