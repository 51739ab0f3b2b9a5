"""What a finished LAPT run leaves behind: the model directory to publish (``best/`` or ``best_merged/``) and
the record written to ``lapt_results.json``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from ..configs import config_to_dict, global_batch_size
from ..layout import PROVENANCE_FILE
from ..models import known_hub_id
from .args import LaptArguments, LaptTrainingArguments, ModelArguments
from .datasets import LaptData
from .masked_head import unwrap_mlm
from .modes import load_merged_lapt_adapter


def save_publishable_model(
    trainer, best_step: int | None, is_peft: bool, model_args: ModelArguments, lapt_args: LaptArguments, tokenizer
) -> Path:
    """The directory to publish: ``best/`` (written by the best-checkpoint callback; the final model when no
    evaluation ran), or ``best_merged/`` with adapters merged into the base model (``--merge_adapters``)."""
    args = trainer.args
    output_dir = Path(args.output_dir)
    source_dir = Path(model_args.model_name_or_path)
    provenance = source_dir / PROVENANCE_FILE
    is_main = args.process_index == 0
    best_dir = output_dir / "best"
    if best_step is None and is_main:
        trainer.save_model(str(best_dir))
        if provenance.is_file():
            shutil.copy2(provenance, best_dir / PROVENANCE_FILE)
    if not (is_peft and lapt_args.merge_adapters):
        return best_dir
    merged_dir = output_dir / "best_merged"
    if is_main:
        merged = load_merged_lapt_adapter(
            best_dir, model_args.model_name_or_path, trust_remote_code=model_args.trust_remote_code
        )
        merged.save_pretrained(merged_dir)
        tokenizer.save_pretrained(merged_dir)
        if provenance.is_file():
            shutil.copy2(provenance, merged_dir / PROVENANCE_FILE)
    return merged_dir


def lapt_results(
    trainer,
    *,
    counter,
    best_cb,
    guard,
    data: LaptData,
    configs: tuple[ModelArguments, LaptArguments, LaptTrainingArguments],
    trainable: int,
    masked_only: bool,
    wall_time: float,
    last_checkpoint: str | None,
    mlm_head: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``lapt_results.json``: steps, batch, vocabulary, FLOPs (this session's summed over processes), the dev
    loss curve and best step, non-finite events, wall time and the full config."""
    model_args, _, training_args = configs
    parts = torch.tensor(
        [counter.body, counter.head, counter.tokens, counter.projected_positions], dtype=torch.float64
    )
    if training_args.world_size > 1:
        parts = trainer.accelerator.reduce(parts.to(trainer.accelerator.device), "sum").cpu()
    return {
        "model_name_or_path": model_args.model_name_or_path,
        "source_hub_id": known_hub_id(model_args.model_name_or_path),  # the model card's base_model
        "config": config_to_dict(*configs),
        "steps": trainer.state.global_step,
        "global_batch_size": global_batch_size(training_args),
        "vocab_size": unwrap_mlm(trainer.model).config.vocab_size,
        "trainable_parameters": trainable,
        "masked_only_head": masked_only,
        "mlm_head": mlm_head,  # apply_train_head's record: missing from the checkpoint? trained?
        "sampling_probabilities": data.train_sampler.probabilities,
        "flops": {
            "total": trainer.state.total_flos,  # whole run (kept across --resume), all processes
            "this_session": {
                "body": parts[0].item(),
                "head": parts[1].item(),
                "optimizer": counter.optimizer,
                "tokens": int(parts[2].item()),
                "projected_positions": int(parts[3].item()),
            },
        },
        "dev_loss_curve": [{"step": s, "loss": v} for s, v in best_cb.curve],
        "best_dev_loss": None if best_cb.best_step is None else best_cb.best_loss,
        "best_step": best_cb.best_step,
        "nonfinite_events": guard.events,
        "wall_time_s": wall_time,
        "resumed_from": last_checkpoint,
    }


__all__ = ["lapt_results", "save_publishable_model"]
