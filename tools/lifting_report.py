"""Markdown tables of the lifting ablations and robustness suite from the runs' ``test_metrics.json``.

python tools/lifting_report.py runs            # after bash tools/lifting_ablations.sh
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sic.tasks.report import latest_metrics

ROWS = {  # run directory -> row label, in table order
    "lifting-plain-transformer": "plain transformer lifter (no refinement, no text)",
    "lifting-no-text": "GAtFuN, no text",
    "lifting-static-prompts": "GAtFuN + static CoOp prompts",
    "lifting-no-spatial-pooling": "GAtFuN + adaptive prompts, no spatial pooling",
    "lifting-no-temporal-pooling": "GAtFuN + adaptive prompts, no temporal pooling",
    "lifting-inject-attention": "GAtFuN + adaptive prompts, attention branch only",
    "lifting-inject-refinement": "GAtFuN + adaptive prompts, refinement branch only",
    "lifting-quickstart": "GAtFuN + adaptive prompts (full)",
}
CLEAN = ("mpjpe", "pa_mpjpe", "mpjve", "accel", "pck", "auc")


def corruption_labels(values: dict[str, float]) -> list[str]:
    """The corruption loaders of a run, in the order they appear."""
    return list(dict.fromkeys(k.split("/")[1] for k in values if k.startswith("test/") and "@" in k.split("/")[1]))


def ablation_table(runs: dict[str, dict[str, float]]) -> str:
    head = "| model | P1 MPJPE | P2 PA-MPJPE | MPJVE | accel | PCK@150 | AUC | P1 mean over corruptions |"
    lines = [head, "|" + "---|" * 8]
    for name, values in runs.items():
        cells = [f"{values.get(f'test/clean/{m}', float('nan')):.1f}" for m in CLEAN]
        corrupted = [values[f"test/{c}/mpjpe"] for c in corruption_labels(values)]
        mean = sum(corrupted) / len(corrupted) if corrupted else float("nan")
        lines.append(f"| {ROWS.get(name, name)} | " + " | ".join(cells) + f" | {mean:.1f} |")
    return "\n".join(lines)


def robustness_table(runs: dict[str, dict[str, float]], metric: str = "mpjpe") -> str:
    labels = corruption_labels(next(iter(runs.values())))
    names = list(runs)
    lines = [
        "| corruption | "
        + " | ".join(ROWS.get(n, n).replace("GAtFuN + adaptive prompts", "adaptive") for n in names)
        + " |",
        "|" + "---|" * (len(names) + 1),
    ]
    for label in ["clean", *labels]:
        lines.append(
            f"| {label} | "
            + " | ".join(f"{runs[n].get(f'test/{label}/{metric}', float('nan')):.1f}" for n in names)
            + " |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, help="directory holding the lifting-* runs")
    args = parser.parse_args()
    runs = {n: v for n in ROWS if (v := latest_metrics(args.runs / n)) is not None}
    if not runs:
        raise SystemExit(f"no tested lifting runs under {args.runs} (expected {', '.join(ROWS)})")
    print("## Ablations (clean test, mm; PCK and AUC in %)\n")
    print(ablation_table(runs))
    print("\n## Robustness: P1 MPJPE (mm) per corruption and severity\n")
    print(robustness_table(runs))
    print("\n## Robustness: MPJPE on the occluded or damaged joints only (mm)\n")
    print(
        robustness_table(
            {
                n: {k.replace("/mpjpe_occluded", "/mpjpe"): v for k, v in r.items() if k.endswith("/mpjpe_occluded")}
                for n, r in runs.items()
            }
        )
    )


if __name__ == "__main__":
    main()
