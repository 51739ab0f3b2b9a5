"""Trainer callbacks of LAPT: freeze schedule, best checkpoint + early stopping, stability, optimizer FLOPs."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import torch
from transformers import TrainerCallback

from langadapt import atomic_directory

from ..layout import PROVENANCE_FILE
from .flops import FlopCounter
from .stability import NonFiniteGuard

logger = logging.getLogger(__name__)

# Checkpoint files that only matter for resuming, not for using the model.
RESUME_ONLY_FILES = ("optimizer.pt", "scheduler.pt", "scaler.pt", "rng_state")
# Marks the non-finite-loss events in the Trainer's log history.
NONFINITE_KEY = "nonfinite_loss_skipped"


class FreezeSchedule:
    """Keeps ``params`` frozen while ``global_step < steps``.

    Single process: ``requires_grad`` is switched off, so no gradient is computed, the parameters' grads stay
    None and AdamW leaves them (and their moments, weight decay, step count) untouched. All parameters were
    trainable when the optimizer was built, so they are updated once unfrozen. Under DDP ``requires_grad`` must
    not change after wrapping, so gradients are computed and then discarded (`null_grads`) before clipping.
    """

    def __init__(self, params: list[torch.nn.Parameter], steps: int, toggle_requires_grad: bool = True):
        self.params = params
        self.steps = steps
        self.toggle_requires_grad = toggle_requires_grad
        self.active = False

    def update(self, global_step: int) -> None:
        active = bool(self.params) and global_step < self.steps
        if active != self.active:
            logger.info("transformer body %s at step %d", "frozen" if active else "unfrozen", global_step)
        self.active = active
        if self.toggle_requires_grad:
            for param in self.params:
                param.requires_grad_(not active)

    def null_grads(self) -> None:
        if self.active:
            for param in self.params:
                param.grad = None


class FreezeScheduleCallback(TrainerCallback):
    def __init__(self, schedule: FreezeSchedule):
        self.schedule = schedule

    def on_train_begin(self, args, state, control, **kwargs):
        self.schedule.update(state.global_step)

    def on_step_begin(self, args, state, control, **kwargs):
        self.schedule.update(state.global_step)


class StabilityCallback(TrainerCallback):
    """Runs the guard before each update; its events go into the log history, which a checkpoint keeps, so a
    resumed run continues with the lowered ``max_grad_norm`` and the streak of non-finite steps it had."""

    def __init__(self, guard: NonFiniteGuard):
        self.guard = guard

    def on_train_begin(self, args, state, control, **kwargs):
        events = [{k: v for k, v in e.items() if k != NONFINITE_KEY} for e in state.log_history if NONFINITE_KEY in e]
        if not events:
            return
        self.guard.events = events
        if not 0 < args.max_grad_norm <= self.guard.lowered_max_grad_norm:  # the guard's rule, as in the first run
            args.max_grad_norm = self.guard.lowered_max_grad_norm
        streak = 0
        while streak < len(events) and events[-1 - streak]["step"] == state.global_step - streak:
            streak += 1
        self.guard.in_a_row = streak

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        seen = len(self.guard.events)
        self.guard.before_optimizer_step(model, args, state.global_step + 1)
        state.log_history.extend({NONFINITE_KEY: True, **event} for event in self.guard.events[seen:])


class OptimizerFlopsCallback(TrainerCallback):
    """Counts AdamW FLOPs on the parameters that really get an update (grad not None) each step."""

    def __init__(self, counter: FlopCounter):
        self.counter = counter

    def on_optimizer_step(self, args, state, control, model=None, **kwargs):
        self.counter.add_optimizer_step(sum(p.numel() for p in model.parameters() if p.grad is not None))


class BestCheckpointCallback(TrainerCallback):
    """Records the dev-loss curve, checkpoints every improvement and copies it to ``<output_dir>/best``.

    An improvement forces a save at that step, so ``best/`` is always the lowest dev loss seen even when
    ``save_steps`` is not a multiple of ``eval_steps``. Optional early stopping after ``patience`` evaluations
    without improvement.
    """

    def __init__(self, output_dir: str | Path, provenance: Path | None = None, patience: int | None = None):
        self.output_dir = Path(output_dir)
        self.provenance = provenance
        self.patience = patience
        self.curve: list[tuple[int, float]] = []
        self.best_loss = float("inf")
        self.best_step: int | None = None
        self.bad_evals = 0
        self._copy_pending = False

    def on_train_begin(self, args, state, control, **kwargs):
        # On resume the curve, the best so far and the evaluations since come back from the checkpoint's log history.
        self.curve = [(e["step"], e["eval_loss"]) for e in state.log_history if "eval_loss" in e]
        for step, loss in self.curve:
            if loss < self.best_loss:
                self.best_loss, self.best_step = loss, step
        self.bad_evals = sum(step > self.best_step for step, _ in self.curve) if self.curve else 0
        if self.best_step is not None and state.is_world_process_zero and self._best_dir_step() != self.best_step:
            # Killed between saving the best checkpoint and copying it (the checkpoint is the resumed one).
            self._copy_to_best(self.best_step)

    def _best_dir_step(self) -> int | None:
        """The step of the checkpoint copied to ``best/`` (its trainer_state.json), None if unreadable."""
        try:
            return json.loads((self.output_dir / "best" / "trainer_state.json").read_text())["global_step"]
        except (OSError, ValueError, KeyError):
            return None

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        loss = (metrics or {}).get("eval_loss")
        if loss is None:
            return
        self.curve.append((state.global_step, float(loss)))
        if loss < self.best_loss:
            self.best_loss, self.best_step = float(loss), state.global_step
            self.bad_evals = 0
            self._copy_pending = True
            control.should_save = True
        else:
            self.bad_evals += 1
            if self.patience is not None and self.bad_evals >= self.patience:
                logger.info("early stopping: no better dev loss in %d evaluations", self.bad_evals)
                control.should_training_stop = True

    def on_save(self, args, state, control, **kwargs):
        if not self._copy_pending or state.global_step != self.best_step:
            return
        self._copy_pending = False
        if state.is_world_process_zero:
            self._copy_to_best(state.global_step)

    def _copy_to_best(self, step: int) -> None:
        checkpoint = self.output_dir / f"checkpoint-{step}"
        if not checkpoint.is_dir():
            logger.warning("best dev loss at step %d but %s is gone: best/ not updated", step, checkpoint)
            return
        with atomic_directory(self.output_dir / "best", overwrite=True) as tmp:
            for item in checkpoint.iterdir():
                if item.name.startswith(RESUME_ONLY_FILES):
                    continue
                (shutil.copytree if item.is_dir() else shutil.copy2)(item, tmp / item.name)
            if self.provenance is not None and self.provenance.is_file():
                shutil.copy2(self.provenance, tmp / PROVENANCE_FILE)
        logger.info("best dev loss %.4f at step %d -> %s", self.best_loss, self.best_step, self.output_dir / "best")
