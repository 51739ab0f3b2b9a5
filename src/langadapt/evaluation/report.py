"""Results JSONs → tables (Markdown, CSV): rows × languages + average, mean ± std over seeds, best bolded.

Bolding (docs/methods.md#reporting): in each column the best cell is the one with the highest mean − std; it and every
cell whose mean is within one standard deviation of the best mean (the best cell's std) are bolded. The same
`ResultTable` takes extra per-row columns (e.g. LAPT FLOPs or wall time) so other tables can reuse it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ..layout import UNIT_RESULTS_FILE
from .labels import ResultsCollisionError

AVERAGE = "avg"
logger = logging.getLogger(__name__)


def collect_results(roots: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Every ``results.json`` under the given directories (or the files themselves), each file once."""
    results, seen = [], set()
    for root in roots:
        root = Path(root)
        files = [root] if root.is_file() else sorted(root.rglob(UNIT_RESULTS_FILE))
        for path in files:
            if path.resolve() in seen:  # overlapping roots (runs and runs/finetune): not a second result
                continue
            seen.add(path.resolve())
            with open(path, encoding="utf-8") as handle:
                record = json.load(handle)
            record["_path"] = str(path)
            results.append(record)
    return results


def lookup(record: dict[str, Any], key: str) -> Any:
    """A field of a results record: top level, then its metrics, then its config."""
    for scope in (record, record.get("metrics", {}), record.get("config", {})):
        if key in scope:
            return scope[key]
    return None


@dataclasses.dataclass
class Cell:
    values: list[float]

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)

    @property
    def std(self) -> float:  # sample std over seeds (0 for a single seed)
        n = len(self.values)
        return math.sqrt(sum((v - self.mean) ** 2 for v in self.values) / (n - 1)) if n > 1 else 0.0


@dataclasses.dataclass
class ResultTable:
    """Cells keyed by (row, column); ``extra`` holds per-row text columns placed before the languages."""

    rows: list[str]
    columns: list[str]
    cells: dict[tuple[str, str], Cell]
    extra: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    title: str = ""
    digits: int = 1
    higher_is_better: bool = True  # False for perplexities: the best is the lowest mean + std
    seeded: bool = True  # False for deterministic figures (PPPL): no "(1 seed)" note on single values

    def bold(self) -> set[tuple[str, str]]:
        marked = set()
        sign = 1.0 if self.higher_is_better else -1.0
        for column in self.columns:
            present = [(r, self.cells[r, column]) for r in self.rows if (r, column) in self.cells]
            if not present:
                continue
            _, best = max(present, key=lambda item: sign * item[1].mean - item[1].std)
            marked.update((r, column) for r, c in present if sign * (c.mean - best.mean) >= -best.std - 1e-12)
        return marked

    def _text(self, row: str, column: str) -> str:
        cell = self.cells.get((row, column))
        if cell is None:
            return "–"
        if len(cell.values) == 1:  # no spread to show: say so rather than print "± 0.0"
            return f"{cell.mean:.{self.digits}f}" + (" (1 seed)" if self.seeded else "")
        return f"{cell.mean:.{self.digits}f} ± {cell.std:.{self.digits}f}"

    def to_markdown(self) -> str:
        bold = self.bold()
        header = ["", *self.extra, *self.columns]
        lines = [
            f"### {self.title}\n" if self.title else "",
            "| " + " | ".join(header) + " |",
            "|" + "---|" * len(header),
        ]
        for row in self.rows:
            texts = [f"**{self._text(row, c)}**" if (row, c) in bold else self._text(row, c) for c in self.columns]
            lines.append("| " + " | ".join([row, *(self.extra[e].get(row, "") for e in self.extra), *texts]) + " |")
        return "\n".join(line for line in lines if line) + "\n"

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["row", *self.extra, *(f"{c}_{s}" for c in self.columns for s in ("mean", "std", "n"))])
        for row in self.rows:
            values = []
            for c in self.columns:
                cell = self.cells.get((row, c))
                values += [f"{cell.mean:.4f}", f"{cell.std:.4f}", len(cell.values)] if cell else ["", "", 0]
            writer.writerow([row, *(self.extra[e].get(row, "") for e in self.extra), *values])
        return out.getvalue()


def _source(record: dict[str, Any]) -> str:
    return record.get("_path") or f"the results of {record.get('model_name_or_path')!r}"


def _row_names(records: Sequence[dict[str, Any]], row_fields: Sequence[str], column_field: str) -> list[str]:
    """Each record's row name (its ``row_fields`` joined). A row that would get two results for one column and
    seed (several models per row, e.g. ``--row_fields vocabulary`` over a grid of LAPT lengths) is split by model
    label, with a warning; results still colliding after that (two models with one label) are a
    `ResultsCollisionError` naming both files. Either way no result silently replaces another."""
    names = [" / ".join(str(lookup(r, f)) for f in row_fields) for r in records]
    cells = [(str(lookup(r, column_field)), lookup(r, "seed")) for r in records]
    counts = Counter(zip(names, cells))
    crowded = sorted({name for (name, _), n in counts.items() if n > 1})
    if crowded and "model" not in row_fields:
        logger.warning("rows %s hold several models' results per column and seed: split by model label", crowded)
        names = [f"{n} / {lookup(r, 'model')}" if n in crowded else n for n, r in zip(names, records)]
    seen: dict[tuple[str, tuple[str, Any]], dict[str, Any]] = {}
    for name, cell, record in zip(names, cells, records):
        if (name, cell) in seen:
            raise ResultsCollisionError(
                f"{_source(seen[name, cell])} and {_source(record)} both give row {name!r}, column {cell[0]!r}, "
                f"seed {cell[1]}: one would replace the other. Give the models distinct --model_label, report them "
                "from separate --results_dirs, or add --row_fields that tell them apart."
            )
        seen[name, cell] = record
    return names


def build_table(
    results: Sequence[dict[str, Any]],
    metric: str,
    row_fields: Sequence[str] = ("model",),
    column_field: str = "language",
    scale: float = 100.0,
    extra: dict[str, Callable[[list[dict[str, Any]]], str]] | None = None,
    title: str = "",
    average: bool = True,
    unaveraged: Sequence[str] = (),
) -> ResultTable:
    """Aggregate records into mean ± std over seeds; the average column averages languages per seed first
    (only rows with every language and the same seeds get one). Columns in ``unaveraged`` (zero-shot ones beside
    a trained regime's) stay out of the average and follow it. No result ever replaces another (`_row_names`)."""
    per_seed: dict[tuple[str, str], dict[Any, float]] = defaultdict(dict)
    by_row: dict[str, list[dict[str, Any]]] = defaultdict(list)
    records = [r for r in results if lookup(r, metric) is not None]
    for record, row in zip(records, _row_names(records, row_fields, column_field)):
        value = float(lookup(record, metric)) * scale
        per_seed[row, str(lookup(record, column_field))][lookup(record, "seed")] = value
        by_row[row].append(record)
    rows = sorted(by_row)
    columns = sorted({c for _, c in per_seed})
    after_average = [c for c in columns if c in set(unaveraged)]
    columns = [c for c in columns if c not in set(unaveraged)]
    cells = {key: Cell(list(seeds.values())) for key, seeds in per_seed.items()}
    if average and len(columns) > 1:
        for row in rows:
            seed_sets = [set(per_seed[row, c]) for c in columns if (row, c) in per_seed]
            if len(seed_sets) == len(columns) and all(s == seed_sets[0] for s in seed_sets):
                means = [sum(per_seed[row, c][s] for c in columns) / len(columns) for s in sorted(seed_sets[0])]
                cells[row, AVERAGE] = Cell(means)
        columns.append(AVERAGE)
    columns += after_average
    extra_cols = {name: {row: fn(by_row[row]) for row in rows} for name, fn in (extra or {}).items()}
    return ResultTable(rows=rows, columns=columns, cells=cells, extra=extra_cols, title=title)


def tables_by_task(
    results: Sequence[dict[str, Any]], row_fields: Sequence[str] = ("model",), split_regimes: bool = True
) -> list[ResultTable]:
    """One table per task (and regime): POS accuracy, NER F1, parsing UAS and LAS, classification accuracy and
    macro-F1; pseudo-perplexity records get `pppl_tables`. Zero-shot results of a task that also has trained
    regimes are columns ``LANG (zero-shot)`` beside the trained regimes' languages (after their average), not a
    table of their own."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in results:
        if record["task"] != PPPL_TASK:
            groups[record["task"], record.get("regime", "") if split_regimes else ""].append(record)
    zero_shot = {task: records for (task, regime), records in groups.items() if regime == ZERO_SHOT}
    beside = {task for task, regime in groups if regime != ZERO_SHOT and task in zero_shot}
    tables = []
    for (task, regime), records in sorted(groups.items()):
        if regime == ZERO_SHOT and task in beside:
            continue
        columns = zero_shot_columns(zero_shot[task]) if task in beside else []
        metrics = {"parse": ["uas", "las"], "classify": ["accuracy", "macro_f1"]}.get(
            task, [records[0].get("metric", "accuracy")]
        )
        for metric in metrics:
            title = f"{task} ({regime}) — {metric.upper() if task == 'parse' else metric}"
            unaveraged = sorted({r["language"] for r in columns})
            tables.append(build_table([*records, *columns], metric, row_fields, title=title, unaveraged=unaveraged))
    return tables + pppl_tables([r for r in results if r["task"] == PPPL_TASK], row_fields)


ZERO_SHOT = "zero_shot"


def zero_shot_columns(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Zero-shot records relabelled for a column of their own (``et (zero-shot)``) in a trained regime's table."""
    return [{**record, "language": f"{record['language']} (zero-shot)"} for record in records]


PPPL_TASK = "pppl"
# (metric, title, digits): the word-level figures compare vocabularies, the token-level one does not.
PPPL_FIGURES = (
    ("pppl_word", "word-normalised PPPL (lower is better)", 2),
    ("bits_per_char", "bits per character (lower is better)", 3),
    ("pppl_token", "token-level PPPL (not comparable across vocabularies)", 2),
)


def pppl_tables(results: Sequence[dict[str, Any]], row_fields: Sequence[str] = ("model",)) -> list[ResultTable]:
    """Pseudo-perplexity records → per PLL variant one table per figure (rows × languages, lower bolded)."""
    by_variant: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in results:
        by_variant[record.get("variant", "")].append(record)
    tables = []
    for variant, records in sorted(by_variant.items()):
        for metric, title, digits in PPPL_FIGURES:
            table = build_table(records, metric, row_fields, scale=1.0, title=f"pppl ({variant}) — {title}")
            table.digits, table.higher_is_better, table.seeded = digits, False, False
            tables.append(table)
    return tables
