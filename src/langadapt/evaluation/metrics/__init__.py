"""Evaluation metrics: plain functions (`scores`) and the same functions as local `evaluate` modules.

Each metric is a script ``metrics/<name>/<name>.py`` shipped in the package, which ``evaluate.load(<its dir>)``
loads offline (no Hub access: the path is local); `metric_path` gives the directory, `load_metric` loads it
once per process and `compute_metric` computes with it. The scripts wrap the functions of `scores`, so both
give the same numbers.
"""

from __future__ import annotations

import functools
from pathlib import Path

METRICS_DIR = Path(__file__).resolve().parent
METRIC_NAMES = ("upos_accuracy", "attachment_scores", "entity_f1", "classification")


def metric_path(name: str) -> str:
    """The directory of a shipped metric script, as ``evaluate.load`` takes it."""
    if name not in METRIC_NAMES:
        raise KeyError(f"unknown metric {name!r}; shipped: {', '.join(METRIC_NAMES)}")
    return str(METRICS_DIR / name)


@functools.cache
def load_metric(name: str):
    """``evaluate.load`` of a shipped metric (in memory: no cache files are written)."""
    try:
        import evaluate
    except ImportError as err:
        raise ImportError("the evaluation metrics need the `evaluate` package: pip install evaluate") from err
    return evaluate.load(metric_path(name), keep_in_memory=True)


def compute_metric(name: str, **inputs) -> dict:
    """Compute a shipped metric through its `evaluate` module (``predictions=``, ``references=``, options)."""
    return load_metric(name).compute(**inputs)


__all__ = [
    "METRIC_NAMES",
    "compute_metric",
    "load_metric",
    "metric_path",
]
