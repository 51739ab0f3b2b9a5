"""Trainer callbacks of LAPT: freeze schedule, best checkpoint + early stopping, stability, optimizer FLOPs."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import torch
from transformers import TrainerCallback

from langadapt import atomic_directory

from .flops import FlopCounter
from .stability import NonFiniteGuard

logger = logging.getLogger(__name__)

PROVENANCE_NAME = "langadapt_provenance.json"
# Checkpoint files that only matter for resuming, not for using the model.
RESUME_ONLY_FILES = ("optimizer.pt", "scheduler.pt", "scaler.pt", "rng_state")


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
    def __init__(self, guard: NonFiniteGuard):
        self.guard = guard

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        self.guard.before_optimizer_step(model, args, state.global_step + 1)


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
        # On resume the curve and the best so far come back from the checkpoint's log history.
        self.curve = [(e["step"], e["eval_loss"]) for e in state.log_history if "eval_loss" in e]
        for step, loss in self.curve:
            if loss < self.best_loss:
                self.best_loss, self.best_step = loss, step

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
        if not state.is_world_process_zero:
            return
        checkpoint = self.output_dir / f"checkpoint-{state.global_step}"
        with atomic_directory(self.output_dir / "best", overwrite=True) as tmp:
            for item in checkpoint.iterdir():
                if item.name.startswith(RESUME_ONLY_FILES):
                    continue
                (shutil.copytree if item.is_dir() else shutil.copy2)(item, tmp / item.name)
            if self.provenance is not None and self.provenance.is_file():
                shutil.copy2(self.provenance, tmp / PROVENANCE_NAME)
        logger.info("best dev loss %.4f at step %d -> %s", self.best_loss, self.best_step, self.output_dir / "best")
