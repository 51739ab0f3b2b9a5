"""Per-run details of the e5-small sweep (one row per results JSON) as a Markdown table.

python benchmarks/e5_baseline/details.py [RESULTS_DIR]   (default benchmarks/e5_baseline/results)
"""

from __future__ import annotations

import sys
from pathlib import Path

from langadapt.evaluation import collect_results

METRICS = {"pos": ("accuracy",), "parse": ("uas", "las"), "ner": ("f1", "precision", "recall")}


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results")
    rows = sorted(collect_results([root]), key=lambda r: (r["task"], r["regime"], r["language"], r["seed"]))
    print("| task | regime | lang | seed | test metrics (×100) | train / dev / test sentences | epochs | steps "
          "| best dev step | embedding rows | wall time |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        metrics = ", ".join(
            f"{name} {100 * r['metrics'][name]:.1f}" for name in METRICS.get(r["task"], (r["metric"],))
        )
        rows_trained = r.get("embedding_rows_trained") or "(not recorded)"
        print(
            f"| {r['task']} | {r['regime']} | {r['language']} | {r['seed']} | {metrics} "
            f"| {r['n_train']} / {r['n_dev']} / {r['n_test']} | {r['epochs_run']:g} | {r['steps']} "
            f"| {r['best_dev']['step']} | {rows_trained} | {r['wall_time_s'] / 60:.1f} min |"
        )


if __name__ == "__main__":
    main()
