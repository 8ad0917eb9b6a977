"""Transformer-NFN encoder branch at the zoo shape: parameters per term family and forward+backward time.

Candidates, measured side by side in one run (interleaved) on the same batch of 16 zoo-shaped weight spaces
(2 blocks, D = 32, 2 heads, D_k = D_v = 16, D_A = 64), each the published encoder branch's core
(:class:`TransformerNFNLinear` 1 -> 10 channels, partial ReLU, :class:`TransformerNFNInvariant` 10 -> 10 per
block):

- ``fused``: the package's implementation (full ``D^3`` terms; the same 1.79 M parameters as the published one);
- ``termwise``: the SAME parameters evaluated term by term with a loop over heads
  (:mod:`transformer_nfn.nn.reference`), the way the equations (and the published code) are laid out;
- ``fused_rank{r}``: the low-rank option for the ``D^3`` terms.

Also reported: the float64 equivariance / invariance error of each candidate under a random group element.

Run: ``python -m benchmarks.bench transformer_nfn_layers`` (``--device cuda`` on a GPU machine,
``--repeats N``, ``--threads N``). Wall time on a shared machine depends on the other jobs; the process CPU time
per call (``cpu_median_ms``, one thread) is the steadier number.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from benchmarks.common import forward_backward, time_interleaved, write_results
from transformer_nfn import TransformerSpec, TransformerWeightSpace, sample_group_element
from transformer_nfn.nn import TransformerNFNInvariant, TransformerNFNLinear, TransformerPartialReLU
from transformer_nfn.nn.reference import termwise_invariant, termwise_linear
from weightspace_core.testing import assert_equivariant, assert_invariant

ZOO_SPEC = TransformerSpec(num_blocks=2, embed_dim=32, num_heads=2, key_dim=16, value_dim=16, ffn_dim=64)
PUBLISHED = {"params": 1.79e6, "forward_backward_ms": 29.0, "batch_size": 16}


class EncoderBranch(nn.Module):
    """Equivariant 1 -> ``channels``, partial ReLU, invariant ``channels`` -> ``features`` per block."""

    def __init__(
        self, spec: TransformerSpec, channels: int = 10, features: int = 10, qk_rank: int | None = None
    ) -> None:
        super().__init__()
        self.linear = TransformerNFNLinear(spec, 1, channels, qk_rank=qk_rank)
        self.relu = TransformerPartialReLU()
        self.pool = TransformerNFNInvariant(spec, channels, features)

    def forward(self, ws: TransformerWeightSpace) -> torch.Tensor:
        return self.pool(self.relu(self.linear(ws)))


class TermwiseEncoderBranch(nn.Module):
    """The same parameters as ``fused``, evaluated term by term."""

    def __init__(self, fused: EncoderBranch) -> None:
        super().__init__()
        self.fused = fused

    def forward(self, ws: TransformerWeightSpace) -> torch.Tensor:
        hidden = self.fused.relu(termwise_linear(self.fused.linear, ws))
        return termwise_invariant(self.fused.pool, hidden)


def _cpu_times(fns: dict[str, Callable[[], None]], repeats: int) -> dict[str, dict[str, float]]:
    """Process CPU time per call (ms), interleaved: on a shared machine it is far less sensitive than wall time to
    other jobs taking the cores (with one torch thread it is the compute time of the call)."""
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start = time.process_time()
            fn()
            samples[key].append((time.process_time() - start) * 1e3)
    return {k: {"cpu_median_ms": statistics.median(v), "cpu_min_ms": min(v)} for k, v in samples.items()}


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--ranks", type=int, nargs="*", default=[8, 32])
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: on the project's shared 2-core machines, more threads spin against "
        "other jobs and time several times slower); 0 keeps torch's choice",
    )
    parser.add_argument("--name", default="transformer_nfn_layers")
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)

    gen = torch.Generator().manual_seed(0)
    ws = TransformerWeightSpace.randn(ZOO_SPEC, args.batch_size, 1, generator=gen)
    ws = ws.map(lambda t: 0.2 * t).to(device)  # the zoo's init std range is 0.1 .. 0.5

    fused = EncoderBranch(ZOO_SPEC).to(device)
    candidates: dict[str, nn.Module] = {"fused": fused, "termwise": TermwiseEncoderBranch(fused)}
    for r in args.ranks:
        candidates[f"fused_rank{r}"] = EncoderBranch(ZOO_SPEC, qk_rank=r).to(device)

    with torch.no_grad():
        ref = fused(ws)
        match = (candidates["termwise"](ws) - ref).abs().max().item() / ref.abs().max().item()

    steps = {name: forward_backward(m, ws) for name, m in candidates.items()}
    timings = time_interleaved(steps, repeats=args.repeats, warmup=args.warmup)
    cpu = _cpu_times(steps, repeats=args.repeats) if device.type == "cpu" else {k: {} for k in steps}

    g = sample_group_element(ZOO_SPEC, generator=torch.Generator().manual_seed(1))
    small = ws[:4].to("cpu")
    report = {}
    base = timings["termwise"]["median_ms"]
    for name, m in candidates.items():
        branch = m.fused if isinstance(m, TermwiseEncoderBranch) else m
        cpu_branch = EncoderBranch(ZOO_SPEC, qk_rank=branch.linear.qk_rank)
        cpu_branch.load_state_dict({k: v.cpu() for k, v in branch.state_dict().items()})
        with torch.no_grad():
            cpu_branch.linear.bias.normal_(generator=torch.Generator().manual_seed(2))
        eq_err = assert_equivariant(cpu_branch.linear, small, g.act, rtol=1e-9)
        inv_err = assert_invariant(cpu_branch, small, g.act, rtol=1e-9)
        report[name] = {
            "params": _params(branch),
            "params_equivariant_layer": _params(branch.linear),
            "params_invariant_layer": _params(branch.pool),
            "params_per_term_family": branch.linear.parameter_counts(),
            "qk_rank": branch.linear.qk_rank,
            **timings[name],
            **cpu[name],
            "speedup_vs_termwise": base / timings[name]["median_ms"],
            "float64_equivariance_error_linear": eq_err,
            "float64_invariance_error_branch": inv_err,
        }
    counts = report["fused"]["params_per_term_family"]
    payload = {
        "spec": str(ZOO_SPEC),
        "batch_size": args.batch_size,
        "device": str(device),
        "fused_vs_termwise_max_relative_difference": match,
        "published_reference": {
            **PUBLISHED,
            "note": "quoted from the issue (published code, another run, this machine class); not re-measured here",
        },
        "fused_vs_published_ms_ratio": timings["fused"]["median_ms"] / PUBLISHED["forward_backward_ms"],
        "fused_cpu_vs_published_ms_ratio": (
            cpu["fused"]["cpu_median_ms"] / PUBLISHED["forward_backward_ms"] if cpu["fused"] else None
        ),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "d_cubed_share_of_equivariant_params": counts["qk_to_wb_bb"] / sum(counts.values()),
        "candidates": report,
    }
    path = write_results(args.name, payload)
    for name, r in report.items():
        print(
            f"{name:>16}: {r['params'] / 1e6:.3f} M params, {r['median_ms']:.2f} ms fwd+bwd wall, "
            f"{r.get('cpu_median_ms', float('nan')):.2f} ms CPU (x{r['speedup_vs_termwise']:.2f} vs termwise), "
            f"equivariance err {r['float64_equivariance_error_linear']:.1e}"
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
