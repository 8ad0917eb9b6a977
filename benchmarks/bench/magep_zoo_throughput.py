"""Zoo generation throughput: the vectorised (grouped-convolution) CNN trainer against torch.func.vmap and a
one-network-at-a-time loop, side by side in one run, and their arithmetic rate against the machine's float32
matmul rate on the same threads.

    python -m benchmarks.bench magep_zoo_throughput        (options: --networks 64 --batch-size 8 --threads 2)
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from benchmarks.common import time_interleaved, write_results
from magep_nfn.zoo import CNNZooSettings, grouped_small_cnn, sample_cnn_config, small_cnn_flops, train_cnn_group
from magep_nfn.zoo.cnn import _single_small_cnn, init_small_cnn_params


def _matmul_gflops(n: int = 1024, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def _step_fns(m: int, batch: int, size: int) -> dict[str, object]:
    """One training step (forward, backward) of m networks, three ways."""
    gens = [torch.Generator().manual_seed(i) for i in range(m)]
    params = [p.requires_grad_() for p in init_small_cnn_params(torch.full((m,), 0.1), gens)]
    x = torch.randn(batch, m, size, size)
    y = torch.randint(0, 10, (batch, m))
    last = size
    for _ in range(3):
        last = (last - 3) // 2 + 1
    keep = torch.ones(batch, m, 16, last, last)
    vmapped = torch.func.vmap(lambda p, xb, k: _single_small_cnn(p, xb, k, "relu"))

    def grouped() -> None:
        logits = grouped_small_cnn(params, x, "relu", keep)
        torch.autograd.grad(F.cross_entropy(logits.permute(0, 2, 1), y), params)

    def vmap() -> None:
        logits = vmapped(params, x.transpose(0, 1)[:, :, None], keep.transpose(0, 1)).transpose(0, 1)
        torch.autograd.grad(F.cross_entropy(logits.permute(0, 2, 1), y), params)

    singles = [[p[i : i + 1].detach().clone().requires_grad_() for p in params] for i in range(m)]

    def loop() -> None:
        for i in range(m):
            logits = grouped_small_cnn(singles[i], x[:, i : i + 1], "relu", keep[:, i : i + 1])
            torch.autograd.grad(F.cross_entropy(logits.permute(0, 2, 1), y[:, i : i + 1]), singles[i])

    return {"grouped_conv": grouped, "vmap": vmap, "loop": loop}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="magep_zoo_throughput", description=__doc__)
    defaults = CNNZooSettings()
    parser.add_argument("--networks", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--image-size", type=int, default=defaults.image_size)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--end-to-end-networks", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    m, b, size = args.networks, args.batch_size, args.image_size

    matmul = _matmul_gflops()
    steps = time_interleaved(_step_fns(m, b, size), repeats=args.repeats, warmup=1)
    flops = m * b * small_cnn_flops(size)
    per_step: dict[str, dict[str, float]] = {}
    for name, t in steps.items():
        seconds = t["median_ms"] / 1e3
        gflops = flops / seconds / 1e9
        per_step[name] = {
            **t,
            "gflops": gflops,
            "fraction_of_matmul_rate": gflops / matmul,
            "networks_per_minute_at_zoo_steps": 60.0 * m / (seconds * defaults.steps),
        }
    base = per_step["loop"]["median_ms"]
    for name in per_step:
        per_step[name]["speedup_vs_loop"] = base / per_step[name]["median_ms"]

    # End to end (data streams, dropout, optimizer, test evaluation at the checkpoints): the zoo's own settings.
    from magep_nfn.zoo.mnist import cnn_inputs, load_mnist, stratified_split

    images, labels = load_mnist()
    tr, te = stratified_split(labels, defaults.test_per_class, defaults.seed)
    x, y = cnn_inputs(images, size), torch.tensor(labels)
    configs = [sample_cnn_config(i, "relu", "adam", 0) for i in range(args.end_to_end_networks)]
    e2e = {}
    for name in ("vectorised", "one_at_a_time"):
        start = time.perf_counter()
        if name == "vectorised":
            train_cnn_group(configs, (x[tr], y[tr]), (x[te], y[te]), defaults.steps, defaults.checkpoints, b)
        else:
            for c in configs:
                train_cnn_group([c], (x[tr], y[tr]), (x[te], y[te]), defaults.steps, defaults.checkpoints, b)
        seconds = time.perf_counter() - start
        e2e[name] = {"seconds": seconds, "networks_per_minute": 60.0 * len(configs) / seconds}
    e2e["speedup"] = e2e["one_at_a_time"]["seconds"] / e2e["vectorised"]["seconds"]

    payload = {
        "networks": m,
        "batch_size": b,
        "image_size": size,
        "threads": args.threads,
        "flops_per_image_train": small_cnn_flops(size),
        "matmul_gflops": matmul,
        "train_step": per_step,
        "end_to_end": {
            "networks": len(configs),
            "steps": defaults.steps,
            "checkpoints": list(defaults.checkpoints),
            "test_images": len(te),
            **e2e,
        },
        "note": "machine shared with other jobs: absolute rates vary with load; ratios are measured side by side",
    }
    path = write_results("magep_zoo_throughput", payload)
    print(f"wrote {path}")
    for name, r in per_step.items():
        print(
            f"{name:13s} {r['median_ms']:8.1f} ms/step  {r['gflops']:6.2f} GFLOP/s "
            f"({100 * r['fraction_of_matmul_rate']:.1f}% of matmul {matmul:.0f})  x{r['speedup_vs_loop']:.2f} vs loop"
        )
    print(f"end to end: {e2e}")


if __name__ == "__main__":
    main()
