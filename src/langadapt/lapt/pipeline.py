"""The steps of ``recipes/lapt.py`` that are more than one call: output directory and resume, the α-mixed
datasets, the model to publish, and the results record."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerState

from ..configs import config_to_dict, global_batch_size
from ..data import AlphaSampler, build_sampler, parse_caps, parse_corpus_specs
from ..io_utils import check_output_dir
from ..models import known_hub_id
from .args import LaptArguments, LaptTrainingArguments, ModelArguments
from .callbacks import PROVENANCE_NAME
from .data import FixedMLMDataset, MLMExampleMaker, StreamingMLMDataset
from .masked_head import unwrap_mlm
from .modes import load_merged_lapt_adapter
from .resume import discard_interrupted_writes, find_resume_checkpoint

logger = logging.getLogger(__name__)


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


@dataclasses.dataclass
class LaptData:
    """The streamed training set, the fixed dev set, and the training mixture's sampler."""

    train: StreamingMLMDataset
    dev: FixedMLMDataset
    train_sampler: AlphaSampler


def build_lapt_datasets(
    tokenizer, lapt_args: LaptArguments, training_args: LaptTrainingArguments, last_checkpoint: str | None
) -> LaptData:
    """An α-mixed training stream (positioned where an uninterrupted run would be after ``last_checkpoint``) and
    a fixed α-mixed dev set of ``dev_draws`` lines."""
    if not lapt_args.train_corpora or not lapt_args.dev_corpora:
        raise ValueError("give --train_corpora and --dev_corpora (NAME=PATH[,PATH...] specs)")
    train_sampler = build_sampler(
        parse_corpus_specs(lapt_args.train_corpora),
        lapt_args.alpha,
        seed=lapt_args.data_seed_train,
        caps=parse_caps(lapt_args.corpus_caps),
        cache_dir=lapt_args.data_cache_dir,
    )
    dev_sampler = build_sampler(
        parse_corpus_specs(lapt_args.dev_corpora),
        lapt_args.alpha,
        seed=lapt_args.data_seed_dev,
        cache_dir=lapt_args.data_cache_dir,
    )
    logger.info("training mixture q: %s", train_sampler.probabilities)

    def examples(seed: int) -> MLMExampleMaker:
        return MLMExampleMaker(tokenizer, lapt_args.max_seq_length, lapt_args.mlm_probability, seed)

    train = StreamingMLMDataset(train_sampler, examples(lapt_args.data_seed_train))
    with training_args.main_process_first(desc="tokenize dev set"):
        dev = FixedMLMDataset(dev_sampler, examples(lapt_args.data_seed_dev), lapt_args.dev_draws)
    if last_checkpoint is not None:  # continue at the draw an uninterrupted run would be at
        done = TrainerState.load_from_json(str(Path(last_checkpoint) / "trainer_state.json")).global_step
        train.seek(done * global_batch_size(training_args))
    return LaptData(train, dev, train_sampler)


def save_publishable_model(
    trainer, best_step: int | None, is_peft: bool, model_args: ModelArguments, lapt_args: LaptArguments, tokenizer
) -> Path:
    """The directory to publish: ``best/`` (written by the best-checkpoint callback; the final model when no
    evaluation ran), or ``best_merged/`` with adapters merged into the base model (``--merge_adapters``)."""
    args = trainer.args
    output_dir = Path(args.output_dir)
    source_dir = Path(model_args.model_name_or_path)
    provenance = source_dir / PROVENANCE_NAME
    is_main = args.process_index == 0
    best_dir = output_dir / "best"
    if best_step is None and is_main:
        trainer.save_model(str(best_dir))
        if provenance.is_file():
            shutil.copy2(provenance, best_dir / PROVENANCE_NAME)
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
            shutil.copy2(provenance, merged_dir / PROVENANCE_NAME)
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


__all__ = ["LaptData", "build_lapt_datasets", "lapt_results", "prepare_output_dir",
           "save_publishable_model"]  # fmt: skip
