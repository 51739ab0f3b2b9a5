"""Results records → one long table (a pandas DataFrame): a row per (record, metric), the grid factors as columns.

A record is a results JSON as ``recipes/finetune.py`` writes it (``task``, ``language``, ``regime``, ``seed``,
``metric``, ``metrics``, ``model``, ``config``), plus what a harness adds about the model it evaluated. The grid
factors of a unit are top-level keys of its record (``"vocabulary": "16k", "alpha": 0.2, "lapt_steps": 100000,
"init_method": "focus", "lapt_mode": "full", "lapt_flops": 1.2e15``: the same keys the report tables' row_fields
read), else the places named in `FACTOR_FIELDS` (the replication harness's ``lapt`` summary, for one).
``NAME=dotted.path`` overrides point a factor anywhere else in the record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

# Where each grid factor is looked for, in order (dotted paths walk nested mappings).
FACTOR_FIELDS: dict[str, tuple[str, ...]] = {
    "vocabulary": ("vocabulary",),
    "alpha": ("alpha", "lapt.alpha"),
    "lapt_steps": ("lapt_steps", "lapt.steps"),
    "init_method": ("init_method",),
    "lapt_mode": ("lapt_mode",),
    "lapt_flops": ("lapt_flops", "lapt.flops.total", "lapt.flops"),
}
BASE_COLUMNS = ("task", "regime", "language", "seed", "metric", "score", "row", "series", "model", "path")
# Row fields that measure compute: a figure against compute draws one series through their values.
COMPUTE_FIELDS = ("lapt_steps", "lapt_flops")


def field_value(record: dict[str, Any], path: str) -> Any:
    """A value of a record: a dotted path walks nested mappings from the top; a plain name is looked up at the
    top level, then in ``metrics`` and ``config`` (as the report tables do). Missing → None."""
    if "." in path:
        value: Any = record
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return None if isinstance(value, (dict, list)) else value
    for scope in (record, record.get("metrics") or {}, record.get("config") or {}):
        if isinstance(scope, dict) and path in scope:
            return scope[path]
    return None


def parse_field_overrides(specs: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``NAME=dotted.path`` strings → {factor: (path,)}; a malformed spec is an error naming it."""
    overrides = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise ValueError(f"factor_fields: expected NAME=dotted.path, got {spec!r}")
        overrides[name.strip()] = (path.strip(),)
    return overrides


def record_metrics(record: dict[str, Any]) -> list[str]:
    """The metrics a record is reported by: UAS and LAS for parsing, else the record's own ``metric``."""
    if record.get("task") == "parse":
        return ["uas", "las"]
    return [record.get("metric") or "accuracy"]


def results_frame(
    records: Sequence[dict[str, Any]],
    row_fields: Sequence[str] = ("model",),
    factor_fields: dict[str, Sequence[str]] | None = None,
    scale: float = 100.0,
) -> pd.DataFrame:
    """One row per (record, reported metric): `BASE_COLUMNS` (``score`` = metric × ``scale``; ``row`` = the
    report table's row label; ``series`` = the same without the `COMPUTE_FIELDS`, so that e.g. the rows
    ``8k / 100`` and ``8k / 400`` of vocabulary × steps are one line in a plot against FLOPs) and one column per
    factor (None where the record does not say)."""
    series_fields = [f for f in row_fields if f not in COMPUTE_FIELDS] or list(row_fields)
    clash = sorted(set(factor_fields or {}) & set(BASE_COLUMNS))
    if clash:
        raise ValueError(f"factor_fields: {clash} name base columns of the results table; choose other names")
    fields = {**FACTOR_FIELDS, **{k: tuple(v) for k, v in (factor_fields or {}).items()}}
    rows = []
    for record in records:
        factors = {}
        for name, paths in fields.items():
            factors[name] = next((v for v in (field_value(record, p) for p in paths) if v is not None), None)
        for metric in record_metrics(record):
            value = (record.get("metrics") or {}).get(metric)
            if value is None:
                continue
            rows.append(
                {
                    "task": record.get("task"),
                    "regime": record.get("regime", ""),
                    "language": record.get("language"),
                    "seed": record.get("seed"),
                    "metric": metric,
                    "score": float(value) * scale,
                    "row": " / ".join(str(field_value(record, f)) for f in row_fields),
                    "series": " / ".join(str(field_value(record, f)) for f in series_fields),
                    "model": record.get("model"),
                    "path": record.get("_path"),
                    **factors,
                }
            )
    return pd.DataFrame(rows, columns=[*BASE_COLUMNS, *fields])
