"""How much a LAPT stage's dev loss moves when nothing but chance changes: the same replaced model, the same
training lines and masks, another training seed (the dropout draws) or rows laid out one line per row instead of
packed. The loss-vs-step table compares init methods by tenths of a nat; this says which gaps exceed that noise.

Each run is the budget's own LAPT stage (`stages.lapt_arguments`) with ``seed`` (and ``packing``) changed, written
to ``<work_dir>/lapt_noise/<language>/<init>/<mode>/seed<S>[-unpacked]/`` and skipped when finished (one run per
directory: rerun the command to continue). The table goes to ``benchmarks/results/replication_<budget>_lapt_noise.md``:

    python benchmarks/replication/lapt_noise.py --budget cpu_long --language myv --init random script script+posn \
        --train_seeds 1 2
    python benchmarks/replication/lapt_noise.py --budget cpu_long --language myv --init script+posn --unpacked
"""

from __future__ import annotations

import argparse
import datetime
import logging
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from curves import read_lapt_curve  # noqa: E402
from grid import HERE, SOURCE_VOCAB, Budget, StagePaths  # noqa: E402
from tables import relative_to_repo, row_order  # noqa: E402

from langadapt import atomic_file  # noqa: E402
from langadapt.layout import LAPT_RESULTS_FILE  # noqa: E402

logger = logging.getLogger("langadapt.replication")
RESULTS = HERE.parent / "results"


def run_dir(paths: StagePaths, language: str, init: str, mode: str, seed: int, packed: bool) -> Path:
    return paths.root / "lapt_noise" / language / init / mode / f"seed{seed}{'' if packed else '-unpacked'}"


def run_variant(budget: Budget, paths: StagePaths, language: str, init: str, mode: str, seed: int, packed: bool):
    """One LAPT run of the budget's stage for (language, init, mode) with training seed ``seed`` (and one line per
    row unless ``packed``); skipped when its ``lapt_results.json`` exists."""
    from stages import lapt_arguments, recipe

    output = run_dir(paths, language, init, mode, seed, packed)
    if (output / LAPT_RESULTS_FILE).is_file():
        return output
    model_args, lapt_args, training_args = lapt_arguments(
        budget, paths.replaced(language, init), language, mode, output, resume=False
    )
    training_args.seed = seed
    lapt_args.packing = packed
    recipe("lapt").main(model_args, lapt_args, training_args)
    return output


def collect_runs(paths: StagePaths, language: str) -> dict[str, dict[str, dict[int, float]]]:
    """``"mode / init"`` → {run label → {step: dev loss}}: the budget's own stage (label ``stage``, its training
    seed and packing as configured) and every finished variant under ``lapt_noise/``."""
    runs: dict[str, dict[str, dict[int, float]]] = {}
    noise_root = paths.root / "lapt_noise" / language
    for directory in sorted(noise_root.glob("*/*/seed*")) if noise_root.is_dir() else []:
        init, mode = directory.parent.parent.name, directory.parent.name
        finished = read_lapt_curve(directory)
        if finished:
            runs.setdefault(f"{mode} / {init}", {})[directory.name] = finished[0]
    for row in list(runs):
        mode, init = row.split(" / ")
        stage = read_lapt_curve(paths.lapt(language, init, mode))
        if stage:
            runs[row] = {"stage": stage[0], **runs[row]}
    return runs


def noise_table(runs: dict[str, dict[str, dict[int, float]]], steps: list[int]) -> list[str]:
    """Markdown rows: each run's dev loss at ``steps``, then per model the spread (max − min) and the sample std
    of the last step over its runs."""
    lines = [
        "| LAPT model | run | " + " | ".join(f"step {s}" for s in steps) + " |",
        "|---|---|" + "---|" * len(steps),
    ]
    for row in sorted(runs, key=row_order):
        for label, curve in runs[row].items():
            cells = [f"{curve[s]:.3f}" if s in curve else "" for s in steps]
            lines.append(f"| {row} | {label} | " + " | ".join(cells) + " |")
        last = [curve[steps[-1]] for curve in runs[row].values() if steps[-1] in curve]
        if len(last) >= 2:
            spread = f"spread {max(last) - min(last):.3f}, std {statistics.stdev(last):.3f} over {len(last)} runs"
            lines.append(f"| {row} | **step {steps[-1]}** | " + " | ".join([""] * (len(steps) - 1) + [spread]) + " |")
    return lines


def write_noise_report(paths: StagePaths, budget: Budget, output: Path, command: str) -> Path | None:
    sections = []
    for language in budget.languages:
        runs = collect_runs(paths, language)
        if runs:
            steps = sorted({step for model in runs.values() for curve in model.values() for step in curve})
            sections += ["", f"### {language}", "", *noise_table(runs, steps)]
    if not sections:
        return None
    lines = [
        f"# LAPT dev loss: run-to-run variation — budget `{budget.name}`",
        "",
        f"Generated {datetime.date.today().isoformat()} by `{command}` from the runs under "
        f"`{relative_to_repo(paths.root / 'lapt_noise')}` and the budget's own LAPT stages (`stage`: training seed "
        f"{budget.setting('lapt', 'seed')}, {'packed rows' if budget.setting('lapt', 'packing') else 'one line per row'}"
        "). Every run of a model starts from the same replaced model and trains on the same lines with "
        "the same masks; `seedN` changes only the training seed (the dropout draws), `-unpacked` lays the lines out "
        "one per row (same loss and gradients per step up to dropout and float rounding). Dev MLM loss in nats per "
        f"masked token on the same {budget.setting('lapt', 'dev_draws')} masked dev lines.",
        *sections,
    ]
    with atomic_file(output) as out:
        out.write("\n".join(lines) + "\n")
    return output


def main(argv: list[str] | None = None) -> Path | None:
    from run import parse_args

    from langadapt import setup_logging

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--train_seeds", type=int, nargs="+", default=[], help="Training seeds to run (not the budget's own)."
    )
    parser.add_argument("--unpacked", action="store_true", help="Also the stage's seed, one line per row.")
    parser.add_argument("--table_only", action="store_true", help="Only rewrite the table (run nothing).")
    own, rest = parser.parse_known_args(argv)
    args, budget = parse_args(rest)  # the harness's options: --budget, --language, --init, --lapt_mode, …
    setup_logging("INFO")
    paths = StagePaths(args.work_dir, args.shared_dir)
    modes = [mode for mode in (args.lapt_mode or ["full"]) if mode != "none"]
    # Other seeds keep the stage's row layout (only the seed changes); --unpacked reruns the stage's seed one line per row.
    stage_seed, stage_packed = budget.setting("lapt", "seed"), budget.setting("lapt", "packing")
    variants = [(seed, stage_packed) for seed in own.train_seeds] + ([(stage_seed, False)] if own.unpacked else [])
    if not own.table_only:
        for language in args.language or budget.languages:
            for init in [init for init in args.init or budget.init_methods if init != SOURCE_VOCAB]:
                for mode in modes:
                    for seed, packed in variants:
                        logger.info("=== LAPT %s/%s/%s, seed %d%s", language, init, mode, seed, "" if packed else
                                    ", unpacked")  # fmt: skip
                        run_variant(budget, paths, language, init, mode, seed, packed)
    output = RESULTS / f"replication_{budget.name}_lapt_noise.md"
    return write_noise_report(
        paths, budget, output, f"python benchmarks/replication/lapt_noise.py --budget {budget.name}"
    )


if __name__ == "__main__":
    main()
