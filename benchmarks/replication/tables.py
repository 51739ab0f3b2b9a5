"""The replication table: `langadapt.evaluation`'s report table with compute columns and [ES]'s figures.

Rows (LAPT mode / init method) follow [ES] Table 1's order; cells are UPOS accuracy mean ± std over seeds
(×100); extra columns give the seeds per language, the LAPT FLOPs and wall time of the row's LAPT runs (mean
over languages; one LAPT run per model, shared by its seeds), the fine-tuning wall time per seed, and [ES]'s
Erzya figure (XLM-R base, 32k vocabulary, 100k steps) where the paper has the row.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from grid import INIT_METHODS, NO_LAPT, SOURCE_VOCAB, Budget

from langadapt import atomic_file
from langadapt.evaluation import build_table, collect_results

# [ES] Table 1, Erzya UD POS accuracy (docs/methods.md#reference-figures-es-table-1); FOCUS there is FOCUS+IDENT.
ES_TABLE_1 = {
    f"{NO_LAPT} / {SOURCE_VOCAB}": 56.3,
    f"full / {SOURCE_VOCAB}": 85.1,
    "full / random": 53.3,
    "full / ident": 59.1,
    "full / script": 71.5,
    "full / script+posn": 74.6,
    "full / script+posn+ident": 79.0,
    "full / focus": 76.1,
    "emb / random": 46.3,
    "emb / script+posn+ident": 55.6,
    "emb / focus": 48.6,
}
MODE_ORDER = (NO_LAPT, "full", "emb")
INIT_ORDER = (SOURCE_VOCAB, *INIT_METHODS)


def row_order(row: str) -> tuple[int, int, str]:
    mode, _, init = row.partition(" / ")
    rank = lambda values, v: values.index(v) if v in values else len(values)  # noqa: E731
    return rank(MODE_ORDER, mode), rank(INIT_ORDER, init), row


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _lapt_run_id(run: dict[str, Any]) -> tuple:
    """What tells two LAPT runs apart: not the directory (a stage rebuilt after its files were lost, or read
    through another path to the same work directory, keeps or changes it), but what the run measured (the wall
    time to 0.1 s, as newer unit JSONs store it)."""
    return run["flops"], round(run["wall_time_s"], 1), run["best_dev_loss"]


def _lapt_runs(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    runs = {_lapt_run_id(r["lapt"]): r["lapt"] for r in records if r.get("lapt")}
    return list(runs.values())


def rebuilt_stage_notes(results: list[dict[str, Any]]) -> list[str]:
    """A line per (language, LAPT model) whose seeds were fine-tuned from more than one run of its LAPT stage
    (rebuilt between seeds), naming each run's seeds, dev loss and FLOPs: the table's LAPT columns average them."""
    by_model: dict[tuple[str, str, str], dict[tuple, list[dict[str, Any]]]] = {}
    for record in results:
        if record.get("lapt"):
            key = (record["language"], record["lapt_mode"], record["init_method"])
            by_model.setdefault(key, {}).setdefault(_lapt_run_id(record["lapt"]), []).append(record)
    notes = []
    for (language, mode, init), runs in sorted(by_model.items(), key=lambda item: row_order(" / ".join(item[0][1:]))):
        if len(runs) < 2:
            continue
        described = []
        for records in sorted(runs.values(), key=lambda records: min(r["seed"] for r in records)):
            seeds, run = sorted(r["seed"] for r in records), records[0]["lapt"]
            described.append(
                f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))} from a run with dev loss "
                f"{run['best_dev_loss']:.3f}, {run['flops']:.2e} FLOPs"
            )
        notes.append(f"- {mode} / {init}, {language}: {'; '.join(described)}.")
    return notes


def seeds_column(records: list[dict[str, Any]]) -> str:
    per_language: dict[str, set] = {}
    for r in records:
        per_language.setdefault(r["language"], set()).add(r["seed"])
    return ", ".join(f"{lang} {len(seeds)}" for lang, seeds in sorted(per_language.items()))


def flops_column(records: list[dict[str, Any]]) -> str:
    value = _mean([run["flops"] for run in _lapt_runs(records)])
    return "0" if value is None else f"{value:.2e}"


def lapt_wall_column(records: list[dict[str, Any]]) -> str:
    value = _mean([run["wall_time_s"] for run in _lapt_runs(records)])
    return "0" if value is None else f"{value / 60:.1f} min"


def finetune_wall_column(records: list[dict[str, Any]]) -> str:
    return f"{_mean([r['wall_time_s'] for r in records]) / 60:.1f} min"


def epochs_column(records: list[dict[str, Any]]) -> str:
    """Mean epoch of the best dev checkpoint / mean epochs trained (a best epoch at the end: still improving)."""
    trained = [r for r in records if (r.get("best_dev") or {}).get("step") and r.get("steps") and r.get("epochs_run")]
    if not trained:
        return ""
    best = _mean([r["best_dev"]["step"] * r["epochs_run"] / r["steps"] for r in trained])
    return f"{best:.0f} / {_mean([r['epochs_run'] for r in trained]):.0f}"


def _shown_epochs(evaluated: set[float]) -> list[float]:
    """Which evaluated epochs get a column: 2^k and 3·2^k (1, 2, 3, 4, 6, 8, 12, 16, 24, … — the early epochs,
    where models leave the plateau, closely; the late ones sparsely) and the last."""
    marks = {m * 2**k for k in range(12) for m in (1, 3)}
    return sorted(e for e in evaluated if e in marks or e == max(evaluated))


def dev_curve_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every dev evaluation of every unit that recorded its dev curve: one row per (model, language, seed,
    epoch), in the table's row order — the CSV beside the report."""
    rows = []
    for record in results:
        for point in record.get("dev_curve") or []:
            rows.append({
                "row": f"{record['lapt_mode']} / {record['init_method']}", "language": record["language"],
                "seed": record["seed"], "epoch": float(point["epoch"]), "step": point["step"],
                "dev_accuracy": 100 * point["value"],
            })  # fmt: skip
    return sorted(rows, key=lambda r: (row_order(r["row"]), r["language"], r["seed"], r["epoch"]))


def dev_curve_table(results: list[dict[str, Any]]) -> list[str]:
    """Markdown lines: dev accuracy (×100, mean over the seeds that reached the epoch) against the fine-tuning
    epoch, per model and language; a cell some seeds did not reach (stopped early) says how many did, and one
    none reached says "stopped". Empty when no unit recorded its dev curve (older results)."""
    rows = dev_curve_rows(results)
    if not rows:
        return []
    epochs = _shown_epochs({r["epoch"] for r in rows})
    by_model: dict[tuple[str, str], dict[int, dict[float, float]]] = {}
    for r in rows:
        by_model.setdefault((r["row"], r["language"]), {}).setdefault(r["seed"], {})[r["epoch"]] = r["dev_accuracy"]
    lines = [
        "| | language | curves | " + " | ".join(f"ep {e:g}" for e in epochs) + " |",
        "|---|---|---|" + "---|" * len(epochs),
    ]
    for (row, language), seeds in by_model.items():
        cells = []
        for epoch in epochs:
            values = [curve[epoch] for curve in seeds.values() if epoch in curve]
            cell = f"{_mean(values):.1f}" if values else "stopped"
            cells.append(cell if len(values) in (0, len(seeds)) else f"{cell} ({len(values)} of {len(seeds)})")
        lines.append(f"| {row} | {language} | {len(seeds)} | " + " | ".join(cells) + " |")
    return lines


def build_replication_table(results: list[dict[str, Any]], title: str = ""):
    table = build_table(
        results,
        "accuracy",
        row_fields=("lapt_mode", "init_method"),
        extra={
            "seeds": seeds_column,
            "LAPT FLOPs": flops_column,
            "LAPT wall": lapt_wall_column,
            "FT wall / seed": finetune_wall_column,
            "FT epochs: best / run": epochs_column,
            "[ES] myv": lambda records: "",  # filled below from the row name
        },
        title=title,
    )
    table.rows.sort(key=row_order)
    table.extra["[ES] myv"] = {row: f"{ES_TABLE_1[row]:.1f}" if row in ES_TABLE_1 else "" for row in table.rows}
    return table


def rank_agreement(table, column: str = "myv") -> tuple[float, int] | None:
    """Kendall's τ between our means and [ES] Table 1 over the rows both have (None if fewer than 3)."""
    from scipy.stats import kendalltau

    rows = [r for r in table.rows if r in ES_TABLE_1 and (r, column) in table.cells]
    if len(rows) < 3:
        return None
    tau = kendalltau([table.cells[r, column].mean for r in rows], [ES_TABLE_1[r] for r in rows]).statistic
    return float(tau), len(rows)


def relative_to_repo(path: str | Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(__file__).resolve().parents[2]))
    except ValueError:
        return str(path)


def write_report(
    results_dir: str | Path, output: str | Path, budget: Budget, budget_args: str | None = None
) -> Path | None:
    """Rewrite the Markdown table from every unit JSON under ``results_dir`` (nothing if there is none);
    ``budget_args`` (default ``--budget <name>``) goes into the command that regenerates it."""
    results = collect_results([results_dir]) if Path(results_dir).is_dir() else []
    if not results:
        return None
    table = build_replication_table(
        results, title=f"UD POS accuracy (full regime, 300 train sentences as dev), budget {budget.name}"
    )
    agreement = rank_agreement(table)
    tokenizer, lapt, finetune = (partial(budget.setting, stage) for stage in ("tokenizer", "lapt", "finetune"))
    lines = [
        f"# Replication of [ES] Table 1 in miniature — budget `{budget.name}`",
        "",
        f"Generated {datetime.date.today().isoformat()} by `python benchmarks/replication/run.py "
        f"{budget_args or '--budget ' + budget.name} --report_only` from {len(results)} unit results in "
        f"`{relative_to_repo(results_dir)}`.",
        f"Source multilingual-e5-small; {tokenizer('vocab_size')}-token per-language unigram vocabularies; LAPT "
        f"{lapt('max_steps')} steps × batch {lapt('per_device_train_batch_size') * lapt('gradient_accumulation_steps')}"
        f" × {lapt('max_seq_length')} tokens (FULL: body frozen for {lapt('freeze_transformer_steps')} steps), lr "
        f"{lapt('learning_rate')}; fine-tuning up to {finetune('num_train_epochs'):g} epochs, lr "
        f"{finetune('learning_rate')}, batch {finetune('per_device_train_batch_size')}; random rows: "
        f"`{budget.setting('replace', 'random_distribution')}`. Cells: mean ± std over fine-tuning seeds (×100); "
        "`seeds` counts them.",
        "",
        table.to_markdown(),
    ]
    if agreement is not None:
        lines.append(
            f"Kendall τ between our Erzya means and [ES] Table 1 over {agreement[1]} rows: {agreement[0]:.2f}."
        )
    rebuilt = rebuilt_stage_notes(results)
    if rebuilt:
        lines += [
            "",
            "Rows whose seeds were fine-tuned from two runs of the same LAPT stage (rebuilt between seeds; the "
            "LAPT columns average the runs):",
            *rebuilt,
        ]
    curve = dev_curve_table(results)
    if curve:
        curve_csv = Path(output).with_name(Path(output).stem + "_dev_curves.csv")
        lines += [
            "",
            f"### Dev accuracy against the fine-tuning epoch, budget {budget.name}",
            "",
            "UPOS accuracy on the 300 dev sentences (×100) at each shown evaluation, mean over the seeds that reached "
            "it (a unit stops after its patience runs out); `curves` counts the units that recorded their dev curve "
            "(those fine-tuned before 2026-12 did not). Every evaluation of every unit: "
            f"`{relative_to_repo(curve_csv)}`.",
            "",
            *curve,
        ]
        with atomic_file(curve_csv) as out:
            writer = csv.DictWriter(
                out, fieldnames=["row", "language", "seed", "epoch", "step", "dev_accuracy"], lineterminator="\n"
            )
            writer.writeheader()
            writer.writerows({**r, "dev_accuracy": f"{r['dev_accuracy']:.2f}"} for r in dev_curve_rows(results))
    with atomic_file(output) as out:
        out.write("\n".join(lines) + "\n")
    return Path(output)
