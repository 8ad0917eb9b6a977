"""Run the demos of ``benchmarks.demo.ORDER`` in sequence (or those named on the command line)."""

from __future__ import annotations

import importlib
import sys
import time

from benchmarks.demo import ORDER


def main(argv: list[str] | None = None) -> int:
    names = list(sys.argv[1:] if argv is None else argv) or ORDER
    unknown = sorted(set(names) - set(ORDER))
    if unknown:
        print(f"unknown demo(s) {unknown}; available: {ORDER}", file=sys.stderr)
        return 2
    total = time.perf_counter()
    for name in names:
        print(f"\n=== demo: {name}", flush=True)
        start = time.perf_counter()
        importlib.import_module(f"benchmarks.demo.{name}").main([])
        print(f"=== {name} done in {time.perf_counter() - start:.1f} s", flush=True)
    print(f"\nall demos done in {time.perf_counter() - total:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
