"""Model labels (the directory every evaluation unit of a model lives under) and when a finished unit may be reused.

Every LAPT run publishes ``<run>/best`` (``best_merged``, ``checkpoint-N``), so a label taken from the directory
name alone would be ``best`` for every LAPT model: the second model evaluated into the same output directory
would find the first one's results and skip its own units. Labels therefore name the run, and a finished unit
is reused only when its results JSON belongs to the model asked for.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

logger = logging.getLogger(__name__)

# Folders a LAPT run writes its models to: the label is the run directory's name, plus the folder for all but best/.
BEST_DIR = "best"
RUN_SUBFOLDER = re.compile(r"^(best_merged|checkpoint-\d+)$")


class ResultsCollisionError(ValueError):
    """A results JSON under this model's label holds another model's results."""


def default_model_label(model_name_or_path: str) -> str:
    """The directory's name; for a LAPT output the run's: ``runs/lapt_full_x/best`` → ``lapt_full_x``,
    ``runs/lapt_lora_x/best_merged`` → ``lapt_lora_x-best_merged``, ``.../checkpoint-500`` → ``RUN-checkpoint-500``.
    A Hub id gives its model name (``FacebookAI/xlm-roberta-base`` → ``xlm-roberta-base``)."""
    path = Path(model_name_or_path.rstrip("/") or model_name_or_path)
    if path.exists():
        path = path.resolve()  # "best" or "." given from inside the run directory still names the run
    name, parent = path.name, path.parent.name
    if name == BEST_DIR and parent:
        return parent
    if RUN_SUBFOLDER.match(name) and parent:
        return f"{parent}-{name}"
    return name


def same_model(stored: str, requested: str) -> bool:
    """Equal names, or two spellings (relative/absolute, trailing slash) of one local directory."""
    if stored == requested:
        return True
    stored_path, requested_path = Path(stored), Path(requested)
    return stored_path.exists() and requested_path.exists() and stored_path.resolve() == requested_path.resolve()


def finished_unit(results_path: str | Path, model_name_or_path: str, label: str) -> bool:
    """True when ``results_path`` holds this model's finished results (skip the unit); False when the unit has
    none or an unreadable one (redo it). Raises `ResultsCollisionError` when it holds another model's results:
    reusing them would report that model's scores under this one."""
    results_path = Path(results_path)
    if not results_path.is_file():
        return False
    try:
        stored = json.loads(results_path.read_text(encoding="utf-8"))["model_name_or_path"]
    except (ValueError, KeyError, TypeError, OSError) as err:
        logger.warning("%s is unreadable (%s): redoing the unit", results_path, err)
        return False
    if not same_model(str(stored), model_name_or_path):
        raise ResultsCollisionError(
            f"{results_path} holds the results of model {stored!r}, not of {model_name_or_path!r}: both are "
            f"labelled {label!r}. Give this model its own --model_label (or --output_dir), or pass --overwrite to "
            "replace those results."
        )
    return True


__all__ = ["ResultsCollisionError", "default_model_label", "finished_unit", "same_model"]
