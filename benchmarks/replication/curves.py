"""The LAPT stages' dev MLM loss against the step: an intrinsic signal of each init method that needs no
fine-tuning (does a heuristic start, and stay, below RANDOM?).

Read from each cached LAPT stage's ``lapt_results.json`` (``dev_loss_curve``; step 0 is the LAPT input, evaluated
before the first update). Step 0 can also be measured without a LAPT run (``initial_dev_loss``, cached under
``<work_dir>/step0/``), and the unit JSONs of earlier runs give each model's best dev loss. The table goes to
``benchmarks/results/replication_<budget>_lapt_curves.md``, with a figure per language beside it
(``…_lapt_curves_<language>.png`` and the plotted numbers as ``.csv``):

    python benchmarks/replication/curves.py --budget cpu_long --language myv     # step 0 of every init, table
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd  # noqa: E402
from grid import HERE, NO_LAPT, SOURCE_VOCAB, Budget, StagePaths, enumerate_units  # noqa: E402
from tables import relative_to_repo, row_order  # noqa: E402

from langadapt import atomic_file, write_json  # noqa: E402
from langadapt.analysis.curves import read_lapt_run  # noqa: E402
from langadapt.analysis.figures import FigureOutput, new_figure, save_figure  # noqa: E402
from langadapt.layout import LAPT_RESULTS_FILE

logger = logging.getLogger("langadapt.replication")
ModelKey = tuple[str, str, str]  # (language, init, mode)


def step0_path(paths: StagePaths, language: str, init: str) -> Path:
    return paths.stage_root / "step0" / language / f"{init}.json"


def initial_dev_loss(budget: Budget, paths: StagePaths, language: str, init: str, source: str) -> float:
    """The dev MLM loss of a model's LAPT input (step 0 of its curve; the same for FULL and EMB), built if needed
    and cached in ``step0/<language>/<init>.json``. Measured by the LAPT recipe itself (an evaluation before a
    single EMB step, in a scratch directory), so it is the loss of the LAPT runs on the same masked dev lines."""
    from stages import ensure_replaced, ensure_source_mlm, lapt_arguments, recipe

    cache = step0_path(paths, language, init)
    if cache.is_file():
        return json.loads(cache.read_text(encoding="utf-8"))["loss"]
    if init == SOURCE_VOCAB:
        model_dir = ensure_source_mlm(paths, source)
    else:
        model_dir = ensure_replaced(budget, paths, language, init, source)
    paths.stage_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=paths.stage_root, prefix=".step0.") as scratch:
        model_args, lapt_args, training_args = lapt_arguments(
            budget, model_dir, language, "emb", Path(scratch) / "run", resume=False
        )
        lapt_args.freeze_transformer_steps = 0
        training_args.max_steps = 1
        training_args.eval_on_start = True
        recipe("lapt").main(model_args, lapt_args, training_args)
        results = json.loads((Path(scratch) / "run" / LAPT_RESULTS_FILE).read_text(encoding="utf-8"))
    (step, loss), *_ = [(p["step"], p["loss"]) for p in results["dev_loss_curve"]]
    if step != 0:
        raise RuntimeError(f"{model_dir}: the first dev evaluation is at step {step}, not 0")
    write_json(cache, {"language": language, "init": init, "model": str(model_dir), "loss": loss})
    return loss


def read_lapt_curve(lapt_dir: Path) -> tuple[dict[int, float], int] | None:
    """({step: dev loss}, best step) of a finished LAPT run, None while its ``lapt_results.json`` is missing
    (`langadapt.analysis.curves.read_lapt_run` would read an unfinished run's checkpoints: not wanted here)."""
    if not (lapt_dir / LAPT_RESULTS_FILE).is_file():
        return None
    run = read_lapt_run(lapt_dir)
    return dict(run.curve), run.best_step


def collect_curves(paths: StagePaths, budget: Budget) -> dict[ModelKey, dict[str, Any]]:
    """(language, init, mode) → {"losses": {step: dev loss}, "best_step"} of every model of the budget's grid
    with a finished LAPT stage, and of the first LAPT mode's models whose step 0 alone is known."""
    curves = {}
    for unit in enumerate_units(budget, seeds=budget.seeds[:1]):
        if unit.mode == NO_LAPT:
            continue
        losses, best_step = read_lapt_curve(paths.lapt(*unit.model_key)) or ({}, None)
        step0 = step0_path(paths, unit.language, unit.init)
        if 0 not in losses and step0.is_file() and (losses or unit.mode == budget.lapt_modes[0]):
            losses[0] = json.loads(step0.read_text(encoding="utf-8"))["loss"]
        if losses:
            curves[unit.model_key] = {"losses": losses, "best_step": best_step}
    return curves


def collect_reference(results_dir: Path) -> dict[ModelKey, tuple[int, float]]:
    """(language, init, mode) → (best step, best dev loss) of the LAPT runs recorded in unit JSONs (earlier runs
    of the same budget, whose stages may be gone). When a stage was rebuilt between seeds, the units record two
    runs: the lowest seed's, fine-tuned first, is the earlier one."""
    first: dict[ModelKey, tuple[int, tuple[int, float]]] = {}
    for path in Path(results_dir).glob("*/*/*/seed*/results.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("lapt"):
            key = (record["language"], record["init_method"], record["lapt_mode"])
            run = (record["lapt"]["best_step"], record["lapt"]["best_dev_loss"])
            if key not in first or record["seed"] < first[key][0]:
                first[key] = (record["seed"], run)
    return {key: run for key, (_, run) in first.items()}


def _gap(losses: dict[int, float], reference: dict[int, float], step: int) -> str:
    return f"{losses[step] - reference[step]:+.3f}" if step in losses and step in reference else ""


def curves_table(
    curves: dict[ModelKey, dict[str, Any]], language: str, reference: dict[ModelKey, tuple[int, float]] | None = None
) -> list[str]:
    """Markdown rows: one per LAPT model of ``language`` in [ES] Table 1's order, one column per evaluated step,
    the difference from FULL RANDOM at step 0 and at the last step both have (negative: below RANDOM), and the
    best dev loss recorded in the unit JSONs of earlier runs."""
    reference = reference or {}
    mine = {f"{mode} / {init}": curve for (lang, init, mode), curve in curves.items() if lang == language}
    earlier = {f"{mode} / {init}": value for (lang, init, mode), value in reference.items() if lang == language}
    if not mine and not earlier:
        return []
    steps = sorted({step for curve in mine.values() for step in curve["losses"]})
    random_losses = mine.get("full / random", {}).get("losses", {})
    lines = [
        "| LAPT model | " + " | ".join(f"step {s}" for s in steps) + " | best step | vs FULL random: step 0 | "
        "vs FULL random: last common step | earlier run: best dev loss (step) |",
        "|---" * (len(steps) + 5) + "|",
    ]
    for row in sorted(set(mine) | set(earlier), key=row_order):
        losses = mine.get(row, {}).get("losses", {})
        best = mine.get(row, {}).get("best_step")
        cells = [f"{losses[s]:.3f}" if s in losses else "" for s in steps]
        common = [s for s in steps if s in losses and s in random_losses]
        first = _gap(losses, random_losses, 0)
        last = f"{_gap(losses, random_losses, common[-1])} (step {common[-1]})" if common and common[-1] else ""
        old = f"{earlier[row][1]:.3f} ({earlier[row][0]})" if row in earlier else ""
        lines.append(
            f"| {row} | " + " | ".join(cells) + f" | {'' if best is None else best} | {first} | {last} | {old} |"
        )
    return lines


def curves_figure(curves: dict[ModelKey, dict[str, Any]], language: str) -> FigureOutput | None:
    """Two panels for ``language``: each LAPT run's dev loss against the step (FULL solid, EMB dashed; runs with at
    least two evaluations), and its difference from FULL RANDOM at every step both have (below 0: below RANDOM).
    None without a curve to draw."""
    mine = {f"{mode} / {init}": curve["losses"] for (lang, init, mode), curve in curves.items() if lang == language}
    drawn = sorted((row for row, losses in mine.items() if len(losses) >= 2), key=row_order)
    if not drawn:
        return None
    random_losses = mine.get("full / random", {})
    figure = new_figure(width=10.5, height=4.4)
    loss_ax, gap_ax = figure.subplots(1, 2)
    rows = []
    for k, row in enumerate(drawn):
        steps = sorted(mine[row])
        style = {"color": f"C{k % 10}", "marker": "os^D"[k % 4], "markersize": 4,
                 "linestyle": "--" if row.startswith("emb") else "-"}  # fmt: skip
        loss_ax.plot(steps, [mine[row][s] for s in steps], label=row, **style)
        common = [s for s in steps if s in random_losses]
        if row != "full / random" and common:
            gap_ax.plot(common, [mine[row][s] - random_losses[s] for s in common], **style)
        rows += [{"model": row, "step": s, "dev_loss": mine[row][s],
                  "minus_full_random": mine[row][s] - random_losses[s] if s in random_losses else None}
                 for s in steps]  # fmt: skip
    loss_ax.set(xlabel="LAPT step", ylabel="dev MLM loss (nats per masked token)", title=f"{language}: dev loss")
    gap_ax.axhline(0.0, color="black", linewidth=0.8)
    gap_ax.set(xlabel="LAPT step", ylabel="dev loss minus FULL random's", title="below 0: below RANDOM")
    for ax in (loss_ax, gap_ax):
        ax.grid(alpha=0.3)
    figure.legend(loc="outside right upper", fontsize="small")
    return FigureOutput(f"lapt_curves_{language}", figure, pd.DataFrame(rows))


def write_curves_report(
    paths: StagePaths, budget: Budget, output: str | Path, results_dir: str | Path | None = None
) -> Path | None:
    """Rewrite the loss-vs-step Markdown table of the budget's LAPT stages (nothing if there is no data);
    ``results_dir`` (default ``results/<budget>``) adds the best dev losses of earlier runs' unit JSONs."""
    curves = collect_curves(paths, budget)
    reference = collect_reference(Path(results_dir or HERE / "results" / budget.name))
    if not curves and not reference:
        return None
    lines = [
        f"# LAPT dev MLM loss against the step — budget `{budget.name}`",
        "",
        f"Generated {datetime.date.today().isoformat()} by `python benchmarks/replication/curves.py --budget "
        f"{budget.name}` (and after each LAPT stage of `run.py`) from {len(curves)} models' `lapt_results.json` "
        f"and `step0/` records under `{relative_to_repo(paths.stage_root)}`. Dev MLM loss (nats per masked token) "
        f"on the same {budget.setting('lapt', 'dev_draws')} masked dev lines for every model of a language; step 0 is the model "
        f"before LAPT (FULL and EMB start from the same one); FULL trains only the embeddings and head for the first "
        f"{budget.setting('lapt', 'freeze_transformer_steps')} of {budget.setting('lapt', 'max_steps')} steps. The last column is the best dev loss recorded in the "
        "unit JSONs of earlier runs of this budget (their stages may be gone).",
    ]
    if any(init == SOURCE_VOCAB for _, init, _ in curves):
        lines[-1] += (
            " The full-vocabulary rows (`source`) cut the same dev lines into the source tokenizer's pieces, not the "
            "new vocabulary's: their loss is per masked piece of another segmentation, so their losses and gaps are "
            "comparable with each other's and not with the replaced-vocabulary rows."
        )
    for language in budget.languages:
        rows = curves_table(curves, language, reference)
        if rows:
            lines += ["", f"### {language}", "", *rows]
        figure = curves_figure(curves, language)
        if figure is not None:  # PNG + the plotted numbers as CSV, beside the table
            stem = Path(output).with_name(f"{Path(output).stem}_{language}")
            save_figure(figure, stem)
            lines += ["", f"![LAPT dev loss against the step, {language}]({stem.name}.png) (data: `{stem.name}.csv`)"]
    with atomic_file(output) as out:
        out.write("\n".join(lines) + "\n")
    return Path(output)


def main(argv: list[str] | None = None) -> Path | None:
    from run import parse_args
    from stages import resolve_source

    from langadapt import setup_logging

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no_step0", action="store_true", help="Only rewrite the table (measure nothing).")
    own, rest = parser.parse_known_args(argv)
    args, budget = parse_args(rest)  # the harness's options: --budget, --language, --init, --work_dir, …
    setup_logging("INFO")
    paths = StagePaths(args.work_dir, args.shared_dir)
    if not own.no_step0:
        source = resolve_source(budget)
        for language in args.language or budget.languages:
            for init in [*budget.init_methods, SOURCE_VOCAB]:  # the 250k source last: the slowest
                if args.init is None or init in args.init:
                    loss = initial_dev_loss(budget, paths, language, init, source)
                    logger.info("step 0 dev loss of %s/%s: %.4f", language, init, loss)
    return write_curves_report(paths, budget, args.lapt_curves_output, args.results_dir)


if __name__ == "__main__":
    main()
