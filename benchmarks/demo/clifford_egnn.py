"""clifford-egnn demo: a short n-body comparison of CG-EGNN (K = 2, path features), CGENN and EGNN.

Generates a small n-body data set (500 / 200 / 200 simulations, a few seconds with the vectorised simulator),
checks that CG-EGNN is E(3)-equivariant in float64 (a random reflection, translation and node permutation),
then trains the three models for the same number of Adam steps on the same data and prints test MSE and
training throughput. A few minutes on 2 CPU cores; the full-size equal-budget run is
``python -m benchmarks.nbody.compare`` (results in ``benchmarks/results/nbody.json``).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import lightning as L
import torch

from benchmarks.nbody import NBodyDataModule, NBodyRegression, ThroughputMeter
from clifford_egnn.models import CGEGNN, EGNN
from weightspace_core.groups import Euclidean
from weightspace_core.testing import assert_equivariant


def _equivariance_error() -> float:
    torch.manual_seed(0)
    model = CGEGNN(1, 1, 8, 2, hops=2, path_features=True).double()
    gen = torch.Generator().manual_seed(0)
    x, v = torch.randn(5, 3, generator=gen, dtype=torch.float64), torch.randn(5, 1, 3, dtype=torch.float64)
    h = torch.randn(5, 1, dtype=torch.float64)
    g = Euclidean.sample(3, det=-1, generator=gen)
    perm = torch.randperm(5, generator=gen)

    def run(inp: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return model(inp[0], inp[1], inp[2]).positions

    return assert_equivariant(
        run,
        (x, v, h),
        lambda inp: (g.apply(inp[0])[perm], g.apply_to_vectors(inp[1])[perm], inp[2][perm]),
        lambda y: g.apply(y)[perm],
        rtol=1e-9,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"CG-EGNN equivariance (reflection + translation + permutation, float64): {_equivariance_error():.1e}")
    root = tempfile.mkdtemp(prefix="nbody_demo_")
    start = time.perf_counter()
    data = dict(root=root, num_train=500, num_val=200, num_test=200, batch_size=args.batch_size)
    NBodyDataModule(**data).prepare_data()
    print(f"generated 900 n-body simulations in {time.perf_counter() - start:.1f} s")
    candidates = {
        "CG-EGNN (K=2, paths)": (lambda: CGEGNN(1, 1, 28, 3, hops=2, path_features=True, edge_features=1), 4e-3),
        "CGENN (K=1)": (lambda: CGEGNN(1, 1, 28, 3, hops=1, path_features=False, edge_features=1), 4e-3),
        "EGNN": (lambda: EGNN(1, 1, 64, 4, edge_features=1), 5e-4),
    }
    rows = []
    for name, (build, lr) in candidates.items():
        L.seed_everything(0, verbose=False)
        meter = ThroughputMeter(skip=3)
        trainer = L.Trainer(
            max_steps=args.steps,
            max_epochs=-1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            limit_val_batches=0,
            callbacks=[meter],
        )
        module = NBodyRegression(build(), lr=lr, weight_decay=1e-4, warmup_steps=args.steps // 10)
        datamodule = NBodyDataModule(**data)
        trainer.fit(module, datamodule=datamodule)
        test = trainer.test(module, datamodule=datamodule, verbose=False)[0]["test/mse"]
        rows.append((name, test, meter.graphs_per_second))
    print(f"\nn-body, {args.steps} Adam steps each, batch {args.batch_size}, 500 training simulations:")
    print(f"{'model':22s} {'test MSE':>10s} {'graphs/s':>10s}")
    for name, mse, throughput in rows:
        print(f"{name:22s} {mse:10.4f} {throughput:10.1f}")


if __name__ == "__main__":
    main()
