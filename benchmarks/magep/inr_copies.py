"""INR classification accuracy against the number of SIRENs per training digit, from the INR results files.

    python -m benchmarks.magep.inr_copies

Reads every ``magep_inr_classification*.json`` in the results folder that ``benchmarks.magep.results`` wrote
(one per ``--train-copies`` setting; each records ``train_copies_per_digit``), checks that they share the
training budget (epochs, width, depth, batch size, learning rate, seed, standardisation) and the number of test
digits, and writes ``magep_inr_copies.json`` (test accuracy, plain and sign-augmented,
per backbone and number of copies, with the files it read) and the plot ``magep_inr_copies.png``, and prints the
table in Markdown. It trains nothing: the numbers are those of the files it names.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS_DIR, write_results

#: Budget entries that must agree between the files compared (everything but the copies).
SHARED_BUDGET = ("epochs", "hidden_channels", "num_layers", "standardize_inr_inputs", "batch_size", "seed", "lr")


def collect(results_dir: Path) -> dict[int, dict[str, Any]]:
    """The INR classification files of ``results_dir``, keyed by ``train_copies_per_digit``.

    Raises ``FileNotFoundError`` when there is none and ``ValueError`` when two files disagree on the budget or
    the test split, or two hold the same number of copies.
    """
    files = sorted(results_dir.glob("magep_inr_classification*.json"))
    if not files:
        raise FileNotFoundError(f"inr_copies: expected magep_inr_classification*.json in {results_dir}, found none")
    runs: dict[int, dict[str, Any]] = {}
    reference: tuple[str, dict[str, Any], int] | None = None
    for path in files:
        record = json.loads(path.read_text())
        copies = int(record["train_copies_per_digit"])
        shared = {k: record["budget"].get(k) for k in SHARED_BUDGET}
        if reference is None:
            reference = (path.name, shared, record["splits"]["test"])
        elif (shared, record["splits"]["test"]) != reference[1:]:
            raise ValueError(
                f"inr_copies: {path.name} was trained with {shared} and {record['splits']['test']} test digits; "
                f"expected the budget and test split of {reference[0]}: {reference[1]}, {reference[2]}"
            )
        if copies in runs:
            raise ValueError(f"inr_copies: {path.name} and {runs[copies]['file']} both hold {copies} copies per digit")
        runs[copies] = {"file": path.name, **record}
    return {k: runs[k] for k in sorted(runs)}


def markdown_table(accuracy: dict[str, dict[str, dict[str, float]]]) -> str:
    """Test accuracy per backbone (rows) and copies (columns), plus the sign-augmented accuracy at the most copies."""
    copies = sorted({int(k) for row in accuracy.values() for k in row})
    most = str(copies[-1])
    label = [f"{k} {'copy' if k == 1 else 'copies'}" for k in copies]
    lines = ["| backbone | " + " | ".join(label) + f" | {label[-1]}, augmented |", "|---" * (len(copies) + 2) + "|"]
    for backbone, row in accuracy.items():
        cells = [f"{row[str(k)]['test_acc']:.3f}" if str(k) in row else "" for k in copies]
        aug = f"{row[most]['test_aug_acc']:.3f}" if most in row else ""
        lines.append(f"| {backbone} | " + " | ".join(cells) + f" | {aug} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.magep.inr_copies", description=__doc__)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    runs = collect(args.results_dir)
    backbones = list(dict.fromkeys(b for run in runs.values() for b in run["results"]))
    table = {
        b: {
            str(k): {
                "test_acc": run["results"][b]["test_acc"],
                "test_aug_acc": run["results"][b]["test_aug_acc"],
            }
            for k, run in runs.items()
            if b in run["results"]
        }
        for b in backbones
    }
    probes = {str(k): run["probes"] for k, run in runs.items() if "probes" in run}
    sources = {
        str(k): {"file": run["file"], "command": run["command"], "splits": run["splits"]} for k, run in runs.items()
    }

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4))
    for b in backbones:
        xs = [int(k) for k in table[b]]
        ax.plot(xs, [table[b][str(k)]["test_acc"] for k in xs], marker="o", label=b)
    probed = [k for k in runs if "last_layer_magnitudes" in runs[k].get("probes", {})]
    if probed:
        values = [runs[k]["probes"]["last_layer_magnitudes"] for k in probed]
        ax.plot(probed, values, color="black", linestyle="--", label="probe: |W3|, W3^2, b3")
    ax.axhline(0.1, color="grey", linestyle=":", label="chance")
    ax.set_xticks(list(runs))
    ax.set_xlabel("SIRENs per training digit (independent initial draws)")
    ax.set_ylabel("test accuracy (copy 0 of each test digit)")
    ax.set_title("MNIST INR classification against training copies")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    args.results_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.results_dir / "magep_inr_copies.png", dpi=120)
    plt.close(fig)
    payload = {"accuracy": table, "probes": probes, "sources": sources}
    write_results("magep_inr_copies", payload, results_dir=args.results_dir)
    print(markdown_table(table))
    return payload


if __name__ == "__main__":
    main()
