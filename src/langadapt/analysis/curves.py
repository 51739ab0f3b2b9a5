"""Dev MLM loss curves of LAPT runs, read from their output files (never from the training code).

A LAPT output directory holds ``lapt_results.json`` (``dev_loss_curve``, ``best_step``, ``flops``); a run that
stopped before writing it still has the Trainer's ``trainer_state.json`` (``log_history`` entries with
``eval_loss``), in the directory or in its latest ``checkpoint-N``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..layout import LAPT_RESULTS_FILE

STATE_NAME = "trainer_state.json"


@dataclasses.dataclass
class LaptRun:
    name: str
    directory: Path
    curve: list[tuple[int, float]]  # (optimizer step, dev MLM loss), by step
    best_step: int | None = None
    flops: float | None = None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err


def _state_file(directory: Path) -> Path | None:
    if (directory / STATE_NAME).is_file():
        return directory / STATE_NAME
    checkpoints = [p for p in directory.glob("checkpoint-*") if re.fullmatch(r"checkpoint-\d+", p.name)]
    for checkpoint in sorted(checkpoints, key=lambda p: int(p.name.split("-")[1]), reverse=True):
        if (checkpoint / STATE_NAME).is_file():
            return checkpoint / STATE_NAME
    return None


def read_lapt_run(directory: str | Path, name: str | None = None) -> LaptRun:
    """The dev loss curve of one LAPT output directory (``lapt_results.json``, else ``trainer_state.json``)."""
    directory = Path(directory)
    name = name or directory.name
    results_file = directory / LAPT_RESULTS_FILE
    if results_file.is_file():
        results = _read_json(results_file)
        curve = sorted((int(p["step"]), float(p["loss"])) for p in results.get("dev_loss_curve") or [])
        flops = (results.get("flops") or {}).get("total")
        if curve:
            return LaptRun(name, directory, curve, results.get("best_step"), flops)
    else:
        flops = None
    state_file = _state_file(directory)
    if state_file is None:
        raise FileNotFoundError(f"{directory}: no {LAPT_RESULTS_FILE} with a dev_loss_curve and no {STATE_NAME}")
    state = _read_json(state_file)
    curve = sorted((int(e["step"]), float(e["eval_loss"])) for e in state.get("log_history", []) if "eval_loss" in e)
    best = state.get("best_model_checkpoint")
    best_step = int(best.rsplit("-", 1)[-1]) if isinstance(best, str) and re.search(r"-\d+$", best) else None
    return LaptRun(name, directory, curve, best_step, flops)


def find_lapt_runs(roots: Iterable[str | Path]) -> list[LaptRun]:
    """Every LAPT run under the roots: directories holding ``lapt_results.json``, and a root that is itself an
    unfinished run (only ``trainer_state.json``). Runs are named by their path relative to the root."""
    runs = []
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"lapt_dirs: {root} is not a directory")
        found = sorted(p.parent for p in root.rglob(LAPT_RESULTS_FILE))
        if not found and _state_file(root) is not None:
            found = [root]
        for directory in found:
            relative = directory.relative_to(root).as_posix()
            runs.append(read_lapt_run(directory, root.name if relative == "." else relative))
    return runs
