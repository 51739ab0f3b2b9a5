"""A seed's fine-tuning run that continues after a kill.

With ``--resume_interrupted`` (the default) the Trainer checkpoints at every dev evaluation, with the optimizer,
scheduler, RNG states and the early-stopping counter, and keeps the best and the latest checkpoint. The work
directory also holds a fingerprint of the run (`run_fingerprint`: settings, seed, data sizes). A rerun of the same
command resumes from the last complete checkpoint; a different run (another model, seed, setting or data) finds a
different fingerprint and starts afresh, so stale checkpoints are never trained on. Evaluations fall on epoch
boundaries, so a resumed run replays no batch and, on one thread, ends where the uninterrupted run ends.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from ..configs import config_to_dict
from ..io_utils import write_json
from ..lapt.resume import discard_interrupted_writes, find_resume_checkpoint
from ..layout import FINETUNE_RUN_FILE

logger = logging.getLogger(__name__)

# Settings that do not change what a seed's run computes: which seeds share the command, whether finished units are
# redone, whether the model is kept afterwards, and where progress is reported.
_NOT_IN_FINGERPRINT = frozenset(
    {"seeds", "overwrite", "save_model", "report_to", "logging_dir", "disable_tqdm", "log_level", "log_level_replica"}
)


def run_fingerprint(*configs: Any, seed: int, n_train: int, n_dev: int, embedding_rows: int | None) -> dict:
    """What identifies one seed's training run: every setting of ``configs`` that changes it, the seed, and the
    sizes of its encoded training and dev sets and of its (compacted) embedding matrix."""
    settings = {key: value for key, value in config_to_dict(*configs).items() if key not in _NOT_IN_FINGERPRINT}
    record = {"seed": seed, "n_train": n_train, "n_dev": n_dev, "embedding_rows": embedding_rows, "settings": settings}
    return json.loads(json.dumps(record))  # the form it has once stored (tuples as lists), for comparison


def _stored_fingerprint(work_dir: Path) -> dict | None:
    try:
        return json.loads((work_dir / FINETUNE_RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _prepare(work_dir: Path, fingerprint: dict, resume: bool) -> None:
    if resume and work_dir.is_dir() and _stored_fingerprint(work_dir) == fingerprint:
        discard_interrupted_writes(work_dir)  # a checkpoint cut short by the kill is neither resumed nor kept
        return
    if work_dir.exists():
        logger.info("%s: checkpoints of another or an unresumable run; starting the seed afresh", work_dir)
        shutil.rmtree(work_dir)
    if resume:
        work_dir.mkdir(parents=True)
        write_json(work_dir / FINETUNE_RUN_FILE, fingerprint)


def interrupted_progress(work_dir: str | Path) -> dict[str, Any] | None:
    """How far an interrupted seed got: its last complete checkpoint's step and epoch (of ``max_steps`` and
    ``num_train_epochs``) and the best dev metric so far; None when ``work_dir`` has no complete checkpoint (the
    seed has not reached its first evaluation, or has finished and its work directory is gone)."""
    checkpoint = find_resume_checkpoint(work_dir)
    if checkpoint is None:
        return None
    state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    return {
        "checkpoint": str(checkpoint),
        "step": state["global_step"],
        "max_steps": state.get("max_steps"),
        "epoch": state.get("epoch"),
        "num_train_epochs": state.get("num_train_epochs"),
        "best_metric": state.get("best_metric"),
    }


def prepare_work_dir(work_dir: str | Path, fingerprint: dict, training_args) -> str | None:
    """The checkpoint a seed's run resumes from, or None after emptying ``work_dir`` for a fresh run. Resumes only
    with ``training_args.resume_interrupted`` and a stored fingerprint equal to ``fingerprint``; the main process
    tidies the directory, then every process reads the same checkpoint."""
    work_dir = Path(work_dir)
    with training_args.main_process_first(desc="prepare the fine-tuning work directory"):
        if training_args.process_index == 0:
            _prepare(work_dir, fingerprint, training_args.resume_interrupted)
    if not training_args.resume_interrupted:
        return None
    checkpoint = find_resume_checkpoint(work_dir)
    if checkpoint is not None:
        logger.info("resuming the seed's fine-tuning from %s", checkpoint)
    return None if checkpoint is None else str(checkpoint)


__all__ = ["interrupted_progress", "prepare_work_dir", "run_fingerprint"]
