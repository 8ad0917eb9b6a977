"""Zoo generation throughput: M transformers trained at once (stacked bmm) against a one-at-a-time loop.

Both candidates do the same work per call: one optimizer step of each of ``M`` zoo transformers (the zoo's
architecture, Adam, batch ``B`` of 28x28 digits, dropout 0.1), forward, cross-entropy, backward, update.
``vectorised``: :func:`transformer_nfn.zoo.train.stacked_forward` + :class:`StackedOptimizer` over stacked
parameters; ``loop``: ``M`` separate :class:`ZooTransformer` modules, each with its own ``torch.optim.Adam``.
Reported: median time per call, model-samples per second, and the speed-up (loop time / vectorised time).

``python -m benchmarks.bench transformer_zoo_throughput [--models 32 --batch 8 --repeats 5]``
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from benchmarks.common import time_interleaved, write_results
from transformer_nfn.zoo import ZooTransformer
from transformer_nfn.zoo.train import StackedOptimizer, ZooArchitecture, init_stacked_params, stacked_forward


def _candidates(models: int, batch: int, device: str) -> dict:
    arch = ZooArchitecture()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(models, batch, 1, 28, 28, generator=g).to(device)
    y = torch.randint(0, 10, (models, batch), generator=g).to(device)
    params = init_stacked_params(arch, torch.full((models,), 0.1), g, device=device)
    opt = StackedOptimizer(params, "adam", torch.full((models,), 1e-3), torch.full((models,), 1e-6))
    g_drop = torch.Generator(device=device).manual_seed(1)

    def vectorised() -> None:
        logits = stacked_forward(params, x, arch, dropout=0.1, generator=g_drop)
        losses = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none").view(models, batch).mean(1)
        losses.sum().backward()
        opt.step()

    nets = [ZooTransformer(dropout=0.1).to(device).train() for _ in range(models)]
    opts = [torch.optim.Adam(n.parameters(), lr=1e-3, weight_decay=1e-6) for n in nets]

    def loop() -> None:
        for m in range(models):
            loss = F.cross_entropy(nets[m](x[m]), y[m])
            opts[m].zero_grad()
            loss.backward()
            opts[m].step()

    def synced(fn):  # type: ignore[no-untyped-def]
        def call() -> None:
            fn()
            if device.startswith("cuda"):
                torch.cuda.synchronize()

        return call

    return {"vectorised": synced(vectorised), "loop": synced(loop)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="transformer_zoo_throughput", description=__doc__)
    parser.add_argument("--models", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8, help="the zoo's default batch size")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    timings = time_interleaved(_candidates(args.models, args.batch, args.device), args.repeats, args.warmup)
    samples = args.models * args.batch
    for t in timings.values():
        t["model_samples_per_s"] = samples / (t["median_ms"] / 1e3)
    speedup = timings["loop"]["median_ms"] / timings["vectorised"]["median_ms"]
    path = write_results(
        "transformer_zoo_throughput",
        {
            "what": "one Adam step of each of M zoo transformers (forward, CE, backward, update), batch B each",
            "models": args.models,
            "batch": args.batch,
            "device": args.device,
            "timings": timings,
            "speedup_vectorised_over_loop": speedup,
        },
    )
    for k, t in timings.items():
        print(f"{k:>10}: {t['median_ms']:8.1f} ms/step  {t['model_samples_per_s']:8.0f} model-samples/s")
    print(f"speed-up vectorised / loop: {speedup:.2f}x  -> {path}")


if __name__ == "__main__":
    main()
