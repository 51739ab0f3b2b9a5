"""Results JSONs → tables (Markdown, CSV): rows × languages + average, mean ± std over seeds, best bolded.

Bolding (docs/METHODS.md §6): in each column the best cell is the one with the highest mean − std; it and every
cell whose mean is within one standard deviation of the best mean (the best cell's std) are bolded. The same
`ResultTable` takes extra per-row columns (e.g. LAPT FLOPs or wall time) so other tables can reuse it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

AVERAGE = "avg"


def collect_results(roots: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Every ``results.json`` under the given directories (or the files themselves)."""
    results = []
    for root in roots:
        root = Path(root)
        files = [root] if root.is_file() else sorted(root.rglob("results.json"))
        for path in files:
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

    def bold(self) -> set[tuple[str, str]]:
        marked = set()
        for column in self.columns:
            present = [(r, self.cells[r, column]) for r in self.rows if (r, column) in self.cells]
            if not present:
                continue
            _, best = max(present, key=lambda item: item[1].mean - item[1].std)
            marked.update((r, column) for r, c in present if c.mean >= best.mean - best.std - 1e-12)
        return marked

    def _text(self, row: str, column: str) -> str:
        cell = self.cells.get((row, column))
        if cell is None:
            return "–"
        if len(cell.values) == 1:  # no spread to show: say so rather than print "± 0.0"
            return f"{cell.mean:.{self.digits}f} (1 seed)"
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


def build_table(
    results: Sequence[dict[str, Any]],
    metric: str,
    row_fields: Sequence[str] = ("model",),
    column_field: str = "language",
    scale: float = 100.0,
    extra: dict[str, Callable[[list[dict[str, Any]]], str]] | None = None,
    title: str = "",
    average: bool = True,
) -> ResultTable:
    """Aggregate records into mean ± std over seeds; the average column averages languages per seed first
    (only rows with every language and the same seeds get one)."""
    per_seed: dict[tuple[str, str], dict[Any, float]] = defaultdict(dict)
    by_row: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in results:
        value = lookup(record, metric)
        if value is None:
            continue
        row = " / ".join(str(lookup(record, f)) for f in row_fields)
        per_seed[row, str(lookup(record, column_field))][lookup(record, "seed")] = float(value) * scale
        by_row[row].append(record)
    rows = sorted(by_row)
    columns = sorted({c for _, c in per_seed})
    cells = {key: Cell(list(seeds.values())) for key, seeds in per_seed.items()}
    if average and len(columns) > 1:
        for row in rows:
            seed_sets = [set(per_seed[row, c]) for c in columns if (row, c) in per_seed]
            if len(seed_sets) == len(columns) and all(s == seed_sets[0] for s in seed_sets):
                means = [sum(per_seed[row, c][s] for c in columns) / len(columns) for s in sorted(seed_sets[0])]
                cells[row, AVERAGE] = Cell(means)
        columns.append(AVERAGE)
    extra_cols = {name: {row: fn(by_row[row]) for row in rows} for name, fn in (extra or {}).items()}
    return ResultTable(rows=rows, columns=columns, cells=cells, extra=extra_cols, title=title)


def tables_by_task(
    results: Sequence[dict[str, Any]], row_fields: Sequence[str] = ("model",), split_regimes: bool = True
) -> list[ResultTable]:
    """One table per task (and regime): POS accuracy, NER F1, parsing LAS (with UAS as its own table)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in results:
        groups[record["task"], record.get("regime", "") if split_regimes else ""].append(record)
    tables = []
    for (task, regime), records in sorted(groups.items()):
        metrics = ["uas", "las"] if task == "parse" else [records[0].get("metric", "accuracy")]
        for metric in metrics:
            title = f"{task} ({regime}) — {metric.upper() if task == 'parse' else metric}"
            tables.append(build_table(records, metric, row_fields, title=title))
    return tables
