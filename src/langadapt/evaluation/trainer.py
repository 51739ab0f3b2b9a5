"""The Trainer of one seed's fine-tuning run: its schedule, early stopping on the task's dev metric, and the best
dev checkpoint restored before testing."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import EarlyStoppingCallback, Trainer, TrainingArguments

from ..configs import global_batch_size
from ..lapt.resume import checkpoint_step
from ..logging_utils import set_tensorboard_dir
from .args import FinetuneArguments
from .datasets import WordDataset
from .tasks import TaskOptions


class WordTaskTrainer(Trainer):
    """`Trainer` whose evaluation returns decoded word-level predictions (MST trees for parsing)."""

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad(), self.compute_loss_context_manager():
            loss, predicted = self.accelerator.unwrap_model(model).predict(**inputs)
        loss = loss.detach() if loss is not None else None
        if prediction_loss_only:
            return loss, None, None
        # "Labels" only mark what was predicted (the word mask; every text for classification): gold labels stay
        # strings on the task side (unknown tags count).
        marker = inputs["word_mask"] if "word_mask" in inputs else torch.ones_like(predicted)
        return loss, predicted, marker.long()


def _trainer_arguments(training_args: FinetuneArguments, **run_settings) -> TrainingArguments:
    """Plain `TrainingArguments` with one run's settings (`FinetuneArguments` refuses those fields from users)."""
    values = {f.name: getattr(training_args, f.name) for f in dataclasses.fields(TrainingArguments) if f.init}
    return TrainingArguments(**{**values, **run_settings})


def build_trainer(
    task,
    *,
    model,
    train: Sequence,
    dev: Sequence,
    dev_sentences: Sequence,
    label_sets: dict[str, list[str]],
    options: TaskOptions,
    pad_token_id: int,
    training_args: FinetuneArguments,
    seed: int,
    work_dir: Path,
    tensorboard_dir: Path,
) -> WordTaskTrainer:
    """A Trainer on the encoded ``train``/``dev`` items that evaluates every ``--eval_every_epochs`` epochs on the
    task's dev metric, stops after the patience (``--patience_epochs`` or the task's), and restores the best dev
    checkpoint at the end. Epochs: ``--num_train_epochs`` or the task's. Checkpoints go to ``work_dir``
    (`resume.prepare_work_dir` readies it): with ``--resume_interrupted`` one at every evaluation with the optimizer
    and RNG states (the best and the latest kept), else only the best model. TensorBoard events go to
    ``tensorboard_dir``, which outlives it."""
    steps_per_epoch = math.ceil(len(train) / global_batch_size(training_args))
    epochs = training_args.num_train_epochs or task.max_epochs
    total_steps = math.ceil(epochs * steps_per_epoch)
    eval_steps = max(1, min(training_args.eval_every_epochs * steps_per_epoch, total_steps))
    patience = training_args.patience_epochs or task.patience_epochs
    if training_args.resume_interrupted:  # every evaluation, all state: a killed run continues from the last one
        checkpointing = {"save_strategy": "steps", "save_steps": eval_steps, "save_only_model": False,
                         "restore_callback_states_from_checkpoint": True}  # fmt: skip
    else:
        checkpointing = {"save_strategy": "best", "save_only_model": True}
    args = _trainer_arguments(
        training_args,
        output_dir=str(work_dir),
        num_train_epochs=epochs,
        eval_strategy="steps",
        eval_steps=eval_steps,
        **checkpointing,
        load_best_model_at_end=True,
        metric_for_best_model=task.metric,
        greater_is_better=True,
        remove_unused_columns=False,
        seed=seed,
        data_seed=seed,
    )

    def compute_metrics(prediction) -> dict[str, float]:
        decoded = task.to_labels(np.asarray(prediction.predictions), dev_sentences, label_sets)
        return task.score(dev_sentences, decoded, options)

    trainer = WordTaskTrainer(
        model=model,
        args=args,
        train_dataset=WordDataset(train),
        eval_dataset=WordDataset(dev),
        data_collator=task.collator(pad_token_id),
        compute_metrics=compute_metrics,
        callbacks=[
            EarlyStoppingCallback(
                early_stopping_patience=max(1, math.ceil(patience / training_args.eval_every_epochs))
            )
        ],
    )
    set_tensorboard_dir(trainer, tensorboard_dir)
    return trainer


@dataclasses.dataclass
class TrainingSummary:
    """What a results JSON records of the training run."""

    best_dev: dict  # {"metric", "value", "step"} of the restored checkpoint
    epochs_run: float
    steps: int
    train_loss: float  # mean over the steps this process trained: from ``resumed_from_step`` on
    resumed_from_step: int | None = None  # the checkpoint a killed run continued from (None: one uninterrupted run)
    dev_curve: list[dict] = dataclasses.field(default_factory=list)  # {"step", "epoch", "value"} per dev evaluation


def train_to_best(trainer: Trainer, *, metric: str, resume_from_checkpoint: str | None = None) -> TrainingSummary:
    """Train (continuing from ``resume_from_checkpoint`` if given); the Trainer restores the best dev checkpoint at
    the end. Dev scoring is then switched off: the predictions that follow are scored by the caller against their
    own sentences."""
    train_output = trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    best_checkpoint = trainer.state.best_model_checkpoint
    best_step = checkpoint_step(Path(best_checkpoint)) if best_checkpoint else None
    trainer.compute_metrics = None
    key = f"eval_{metric}"  # the log history is restored with a resumed run's checkpoint: the whole run's curve
    dev_curve = [{"step": entry["step"], "epoch": entry["epoch"], "value": entry[key]}
                 for entry in trainer.state.log_history if key in entry]  # fmt: skip
    return TrainingSummary(
        best_dev={"metric": metric, "value": trainer.state.best_metric, "step": best_step},
        epochs_run=trainer.state.epoch,
        steps=trainer.state.global_step,
        train_loss=train_output.training_loss,
        resumed_from_step=checkpoint_step(Path(resume_from_checkpoint)) if resume_from_checkpoint else None,
        dev_curve=dev_curve,
    )


__all__ = ["TrainingSummary", "WordTaskTrainer", "build_trainer", "train_to_best"]
