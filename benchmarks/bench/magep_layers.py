"""MAGEP-NFN layers against their baselines, side by side in one run, at the Small-CNN-Zoo shape.

Candidates: ``MAGEPLinear`` (raw and with the gain normalisation), ``MonomialLinear``, ``NPLinear`` and
``HNPLinear`` from ``magep_nfn.nn``, and the NP and HNP layers of the published ``nfn`` package (PyPI, MIT) as
an external reference. For each: parameter count, forward+backward wall time (calls interleaved so that machine
load hits all alike) and peak memory of one forward+backward. Ratios are against the ``nfn`` NPLinear.

    python -m benchmarks.bench magep_layers          (the defaults below)
    python -m benchmarks.bench.magep_layers --batch 32 --channels 20 --repeats 10 --device cpu --threads 1
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

import torch
from torch import nn

from benchmarks.common import peak_memory_mb, time_interleaved, write_results
from magep_nfn.nn import HNPLinear, MAGEPLinear, MonomialLinear, NPLinear
from weightspace_core import NetworkSpec, WeightSpace

SPEC = "16x1x3x3,16x16x3x3,16x16x3x3,10x16"  # Small CNN Zoo: three 3x3 convs of 16 filters, dense 16 -> 10


def _step(module: nn.Module, x: object, unwrap: Callable[[object], tuple[torch.Tensor, ...]]) -> Callable[[], None]:
    """Forward, sum of every output tensor, backward (parameter gradients only), gradients cleared."""

    def step() -> None:
        out = unwrap(module(x))
        sum(t.sum() for t in out).backward()
        module.zero_grad(set_to_none=True)
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    return step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="magep_layers", description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1: steadier timings on a shared machine)"
    )
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    spec = NetworkSpec.parse(SPEC)
    c = args.channels
    ws = WeightSpace.randn(spec, batch_size=args.batch, channels=c, generator=torch.Generator().manual_seed(args.seed))
    ws = ws.to(device)

    def ours(out: object) -> tuple[torch.Tensor, ...]:
        return out.tensors()  # type: ignore[attr-defined]

    def gen() -> torch.Generator:
        return torch.Generator().manual_seed(args.seed)

    candidates: dict[str, tuple[nn.Module, object, Callable[[object], tuple[torch.Tensor, ...]]]] = {
        "MAGEPLinear": (MAGEPLinear(spec, c, c, generator=gen()), ws, ours),
        "MAGEPLinear(normalize)": (MAGEPLinear(spec, c, c, normalize=True, generator=gen()), ws, ours),
        "MonomialLinear": (MonomialLinear(spec, c, c, generator=gen()), ws, ours),
        "NPLinear": (NPLinear(spec, c, c, generator=gen()), ws, ours),
        "HNPLinear": (HNPLinear(spec, c, c, generator=gen()), ws, ours),
    }
    nfn_version = None
    try:
        import importlib.metadata

        from nfn.common import WeightSpaceFeatures, network_spec_from_wsfeat
        from nfn.layers import HNPLinear as NfnHNPLinear
        from nfn.layers import NPLinear as NfnNPLinear

        nfn_version = importlib.metadata.version("nfn")
        feats = WeightSpaceFeatures(ws.weights, ws.biases)
        nfn_spec = network_spec_from_wsfeat(feats)

        def theirs(out: object) -> tuple[torch.Tensor, ...]:
            return (*out.weights, *out.biases)  # type: ignore[attr-defined]

        candidates["nfn.NPLinear"] = (NfnNPLinear(nfn_spec, c, c), feats, theirs)
        candidates["nfn.HNPLinear"] = (NfnHNPLinear(nfn_spec, c, c), feats, theirs)
    except ImportError:
        print("the nfn package is not installed: the external reference is skipped")

    steps = {}
    for name, (module, x, unwrap) in candidates.items():
        module.to(device)
        steps[name] = _step(module, x, unwrap)
    timings = time_interleaved(steps, repeats=args.repeats, warmup=args.warmup)
    memory = {name: peak_memory_mb(step) for name, step in steps.items()}

    reference = "nfn.NPLinear" if "nfn.NPLinear" in timings else "NPLinear"
    ref_ms = timings[reference]["median_ms"]
    rows = {}
    for name, (module, _, _) in candidates.items():
        rows[name] = {
            "parameters": sum(p.numel() for p in module.parameters()),
            **timings[name],
            "peak_memory_mb": memory[name],
            f"median_over_{reference}": timings[name]["median_ms"] / ref_ms,
        }
        print(
            f"{name:24s} params {rows[name]['parameters']:>9d}  fwd+bwd median {timings[name]['median_ms']:9.1f} ms"
            f" (min {timings[name]['min_ms']:8.1f})  x{rows[name][f'median_over_{reference}']:.2f}"
            f"  peak {memory[name]:8.1f} MiB"
        )
    target_met = rows["MAGEPLinear"]["median_ms"] <= ref_ms
    payload = {
        "shape": {"spec": SPEC, "batch": args.batch, "in_channels": c, "out_channels": c, "dtype": "float32"},
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        # absolute times on a shared CPU scale with the load; the ratios, measured interleaved, do not
        "load_average_1_5_15min": list(os.getloadavg()),
        "nfn_version": nfn_version,
        "reference": reference,
        "target": f"MAGEPLinear forward+backward median no slower than {reference}",
        "target_met": target_met,
        "layers": rows,
    }
    path = write_results("magep_layers", payload)
    print(f"target ({payload['target']}): {'met' if target_met else 'NOT met'}; wrote {path}")


if __name__ == "__main__":
    main()
