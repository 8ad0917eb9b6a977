"""Benchmarks: each module here has a ``main(argv)`` that measures candidates side by side in one run and writes
``benchmarks/results/<name>.json``. ``python -m benchmarks.bench [name ...]`` runs them all (or those named)."""
