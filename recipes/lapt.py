"""Language-adaptive pre-training (LAPT): continued masked language modelling on α-mixed corpora.

Usage:
    accelerate launch --config_file accelerate_configs/single_gpu.yaml recipes/lapt.py \
        recipes/configs/uralic/lapt_full.yaml --model_name_or_path runs/e5_myv_sme_spi --output_dir runs/lapt_full

Pipeline: parse → logging → load model/tokenizer → α-mixed streaming train and fixed dev sets → LAPT mode
(full with a frozen-body phase, emb, lora, ia3) → Trainer (masked-positions-only head, non-finite guard,
best-checkpoint tracking) → best/ (+ best_merged/ for adapters) → lapt_results.json and model card → Hub.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer, TrainerState, set_seed
from transformers.trainer_utils import get_last_checkpoint

from langadapt import LangadaptParser, check_output_dir, config_to_dict, setup_logging, write_json
from langadapt.data import build_sampler, parse_caps, parse_corpus_specs
from langadapt.lapt import (
    LAPT_MODES,
    PROVENANCE_NAME,
    BestCheckpointCallback,
    FixedMLMDataset,
    FlopCounter,
    FreezeSchedule,
    FreezeScheduleCallback,
    LaptArguments,
    LaptTrainer,
    LaptTrainingArguments,
    MLMCollator,
    MLMExampleMaker,
    ModelArguments,
    NonFiniteGuard,
    OptimizerFlopsCallback,
    StabilityCallback,
    StreamingMLMDataset,
    build_model_card,
    enable_masked_only_head,
    load_lapt_adapter,
    merge_lapt_adapter,
    push_folder_to_hub,
    read_provenance,
    unwrap_mlm,
)

logger = logging.getLogger("langadapt.recipes.lapt")


def main(model_args: ModelArguments, lapt_args: LaptArguments, training_args: LaptTrainingArguments) -> dict:
    setup_logging(training_args.get_process_log_level())
    set_seed(training_args.seed)
    output_dir = Path(training_args.output_dir)
    is_main = training_args.process_index == 0

    # --- Output directory / resume ---------------------------------------------------------------------------
    last_checkpoint = None
    if lapt_args.resume:
        last_checkpoint = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
        if last_checkpoint is None:
            raise FileNotFoundError(f"--resume: no checkpoint-* directory in {output_dir}")
        logger.info("resuming from %s", last_checkpoint)
    else:
        with training_args.main_process_first(desc="prepare output directory"):
            if is_main:
                check_output_dir(output_dir, lapt_args.overwrite)
                if lapt_args.overwrite and output_dir.is_dir():
                    shutil.rmtree(output_dir)

    # --- Load ------------------------------------------------------------------------------------------------
    tokenizer = AutoTokenizer.from_pretrained(
        model_args.tokenizer_name_or_path or model_args.model_name_or_path,
        trust_remote_code=model_args.trust_remote_code,
    )
    model = AutoModelForMaskedLM.from_pretrained(
        model_args.model_name_or_path, trust_remote_code=model_args.trust_remote_code
    )
    source_dir = Path(model_args.model_name_or_path)
    provenance = read_provenance(source_dir) if source_dir.is_dir() else None
    vocab_replaced = provenance is not None

    # --- Data: α-mixed training stream and a fixed α-mixed dev set --------------------------------------------
    if not lapt_args.train_corpora or not lapt_args.dev_corpora:
        raise ValueError("give --train_corpora and --dev_corpora (NAME=PATH[,PATH...] specs)")
    caps = parse_caps(lapt_args.corpus_caps)
    train_sampler = build_sampler(
        parse_corpus_specs(lapt_args.train_corpora),
        lapt_args.alpha,
        seed=lapt_args.data_seed_train,
        caps=caps,
        cache_dir=lapt_args.data_cache_dir,
    )
    dev_sampler = build_sampler(
        parse_corpus_specs(lapt_args.dev_corpora),
        lapt_args.alpha,
        seed=lapt_args.data_seed_dev,
        cache_dir=lapt_args.data_cache_dir,
    )
    logger.info("training mixture q: %s", train_sampler.probabilities)
    make = lambda seed: MLMExampleMaker(tokenizer, lapt_args.max_seq_length, lapt_args.mlm_probability, seed)  # noqa: E731
    train_dataset = StreamingMLMDataset(train_sampler, make(lapt_args.data_seed_train))
    with training_args.main_process_first(desc="tokenize dev set"):
        dev_dataset = FixedMLMDataset(dev_sampler, make(lapt_args.data_seed_dev), lapt_args.dev_draws)
    global_batch = (
        training_args.per_device_train_batch_size
        * training_args.world_size
        * training_args.gradient_accumulation_steps
    )
    if last_checkpoint is not None:  # continue at the draw an uninterrupted run would be at
        done = TrainerState.load_from_json(str(Path(last_checkpoint) / "trainer_state.json")).global_step
        train_dataset.seek(done * global_batch)

    # --- LAPT mode -------------------------------------------------------------------------------------------
    setup = LAPT_MODES.get(lapt_args.lapt_mode)(model, lapt_args, vocab_replaced)
    model = setup.model
    masked_only = enable_masked_only_head(model) if lapt_args.masked_only_head else False
    named = dict(unwrap_mlm(model).named_parameters())
    schedule = FreezeSchedule(
        [named[n] for n in setup.scheduled_frozen],
        setup.freeze_steps,
        toggle_requires_grad=training_args.world_size == 1,
    )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    logger.info("mode %s: %d trainable parameters; masked-only head: %s", lapt_args.lapt_mode, trainable, masked_only)

    # --- Train -----------------------------------------------------------------------------------------------
    push = training_args.push_to_hub
    training_args.push_to_hub = False  # pushed once at the end, on every rank, with the card (see below)
    counter = FlopCounter.from_config(unwrap_mlm(model).config)
    guard = NonFiniteGuard(lapt_args.max_nonfinite_in_a_row, lapt_args.nonfinite_max_grad_norm)
    best_cb = BestCheckpointCallback(output_dir, source_dir / PROVENANCE_NAME, lapt_args.early_stopping_patience)
    trainer = LaptTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=dev_dataset,
        data_collator=MLMCollator(tokenizer.pad_token_id),
        processing_class=tokenizer,
        callbacks=[
            FreezeScheduleCallback(schedule),
            StabilityCallback(guard),
            OptimizerFlopsCallback(counter),
            best_cb,
        ],
        flop_counter=counter,
        freeze_schedule=schedule,
        guard=guard,
        log_draws=lapt_args.log_batches,
    )
    start = time.time()
    train_result = trainer.train(resume_from_checkpoint=last_checkpoint)
    wall_time = time.time() - start
    trainer.log_metrics("train", train_result.metrics)
    trainer.save_metrics("train", train_result.metrics)
    trainer.save_state()
    training_args.push_to_hub = push  # restored so the results record what was asked
    if lapt_args.log_batches:
        write_json(output_dir / f"lapt_rank{training_args.process_index}_draws.json", trainer.draws_seen)

    # --- Save: best/ (written by the callback), or the final model if no evaluation ever ran ---------------
    best_dir = output_dir / "best"
    if best_cb.best_step is None and is_main:
        trainer.save_model(str(best_dir))
        if provenance is not None:
            shutil.copy2(source_dir / PROVENANCE_NAME, best_dir / PROVENANCE_NAME)
    publish_dir = best_dir
    if setup.is_peft and lapt_args.merge_adapters and is_main:
        base = AutoModelForMaskedLM.from_pretrained(model_args.model_name_or_path)
        merged = merge_lapt_adapter(load_lapt_adapter(base, best_dir))
        publish_dir = output_dir / "best_merged"
        merged.save_pretrained(publish_dir)
        tokenizer.save_pretrained(publish_dir)
        if provenance is not None:
            shutil.copy2(source_dir / PROVENANCE_NAME, publish_dir / PROVENANCE_NAME)
    elif setup.is_peft and lapt_args.merge_adapters:
        publish_dir = output_dir / "best_merged"

    # --- Results and model card ------------------------------------------------------------------------------
    parts = torch.tensor(
        [counter.body, counter.head, counter.tokens, counter.projected_positions], dtype=torch.float64
    )
    if training_args.world_size > 1:
        parts = trainer.accelerator.reduce(parts.to(trainer.accelerator.device), "sum").cpu()
    results = {
        "model_name_or_path": model_args.model_name_or_path,
        "config": config_to_dict(model_args, lapt_args, training_args),
        "steps": trainer.state.global_step,
        "global_batch_size": global_batch,
        "vocab_size": unwrap_mlm(model).config.vocab_size,
        "trainable_parameters": trainable,
        "masked_only_head": masked_only,
        "sampling_probabilities": train_sampler.probabilities,
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
    card = build_model_card(
        results,
        provenance,
        model_name=training_args.hub_model_id or output_dir.name,
        is_adapter=publish_dir == best_dir and setup.is_peft,
    )
    if is_main:
        write_json(output_dir / "lapt_results.json", results)
        card.save(output_dir / "README.md")
        if publish_dir.is_dir():
            card.save(publish_dir / "README.md")
    trainer.accelerator.wait_for_everyone()
    if push:
        if not training_args.hub_model_id:
            raise ValueError("--push_to_hub needs --hub_model_id")
        push_folder_to_hub(publish_dir, training_args.hub_model_id, is_main, private=training_args.hub_private_repo)
    return results


def make_parser() -> LangadaptParser:
    return LangadaptParser((ModelArguments, LaptArguments, LaptTrainingArguments))


if __name__ == "__main__":
    main(*make_parser().parse())
