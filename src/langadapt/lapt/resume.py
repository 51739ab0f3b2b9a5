"""Which checkpoint a killed LAPT run resumes from, and the debris of the kill that must go first.

The Trainer writes a checkpoint's files one by one and ``trainer_state.json`` last, so a run killed while
saving leaves a ``checkpoint-N`` without it (or with it cut short). Such a folder must not be resumed from (its
weights or optimizer may be half written), nor left in place (the resumed run saves ``checkpoint-N`` again into
it). Likewise a kill during the copy to ``best/`` leaves the temporary folders of `atomic_directory` beside it.
`prepare_output_dir` is the recipe's first step: the checkpoint to resume from, or a checked fresh output directory.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

from ..io_utils import check_output_dir
from ..layout import ADAPTER_WEIGHTS_FILE, PEFT_ADAPTER_WEIGHTS_FILE
from .args import LaptArguments, LaptTrainingArguments

logger = logging.getLogger(__name__)

CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")
# One of these is always among a finished checkpoint's files (plain model, sharded model, PEFT adapter,
# seq_bn/seq_bn_inv adapter of langadapt.adapters).
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", PEFT_ADAPTER_WEIGHTS_FILE, "pytorch_model.bin",
                ADAPTER_WEIGHTS_FILE)  # fmt: skip


def checkpoint_step(path: Path) -> int | None:
    match = CHECKPOINT_PATTERN.match(path.name)
    return int(match.group(1)) if match else None


def is_complete_checkpoint(path: str | Path) -> bool:
    """True when ``path`` holds weights and a readable ``trainer_state.json`` of its own step (written last)."""
    path = Path(path)
    step = checkpoint_step(path)
    if step is None or not path.is_dir() or not any((path / name).is_file() for name in WEIGHT_FILES):
        return False
    try:
        state = json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, or cut short by the kill
        return False
    return isinstance(state, dict) and state.get("global_step") == step


def find_resume_checkpoint(output_dir: str | Path) -> Path | None:
    """The complete checkpoint with the highest step in ``output_dir`` (None if there is none)."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return None
    steps = {checkpoint_step(p): p for p in output_dir.iterdir() if checkpoint_step(p) is not None and p.is_dir()}
    for step in sorted(steps, reverse=True):
        if is_complete_checkpoint(steps[step]):
            return steps[step]
    return None


def discard_interrupted_writes(output_dir: str | Path) -> list[Path]:
    """Delete the incomplete ``checkpoint-*`` folders and the temporary folders of an interrupted ``best/`` copy
    in ``output_dir``; returns what was deleted. Run on the main process before resuming."""
    output_dir = Path(output_dir)
    removed = []
    for path in sorted(output_dir.iterdir()):
        incomplete = checkpoint_step(path) is not None and path.is_dir() and not is_complete_checkpoint(path)
        leftover = path.is_dir() and path.name.startswith(".best.") and path.name.endswith((".tmp", ".old"))
        if incomplete or leftover:
            logger.warning("--resume: removing %s (left by an interrupted run)", path)
            shutil.rmtree(path)
            removed.append(path)
    return removed


def prepare_output_dir(lapt_args: LaptArguments, training_args: LaptTrainingArguments) -> str | None:
    """The checkpoint to resume from (``--resume``: the last complete one, after removing what a killed run left
    half-written), else a checked (``--overwrite``: emptied) output directory."""
    output_dir = Path(training_args.output_dir)
    if not training_args.ignore_data_skip:
        # The training stream seeks to the resumed step itself; the Trainer replaying batches would skip them twice.
        raise ValueError("LAPT needs ignore_data_skip=True (a resumed run seeks the sampler instead of replaying)")
    if lapt_args.resume:
        last_checkpoint = find_resume_checkpoint(output_dir)
        if last_checkpoint is None:
            raise FileNotFoundError(f"--resume: no complete checkpoint-* directory in {output_dir}")
        with training_args.main_process_first(desc="discard interrupted writes"):
            if training_args.process_index == 0:
                discard_interrupted_writes(output_dir)
        logger.info("resuming from %s", last_checkpoint)
        return str(last_checkpoint)
    with training_args.main_process_first(desc="prepare output directory"):
        if training_args.process_index == 0:
            check_output_dir(output_dir, lapt_args.overwrite)
            if lapt_args.overwrite and output_dir.is_dir():
                shutil.rmtree(output_dir)
    return None


__all__ = ["discard_interrupted_writes", "find_resume_checkpoint", "is_complete_checkpoint", "prepare_output_dir"]
