"""Language-adaptive pre-training (LAPT): continued masked language modelling on α-mixed corpora.

Usage:
    accelerate launch --config_file accelerate_configs/single_gpu.yaml recipes/lapt.py \
        recipes/configs/uralic/lapt_full.yaml

The config reads the model of ``replace_vocab_script_posn_ident.yaml`` (``runs/xlmr_myv_sme_script_posn_ident``)
and the text of ``prepare_data.yaml`` (``runs/uralic/data``), and writes ``runs/lapt_full_myv_sme`` (the best
checkpoint in ``runs/lapt_full_myv_sme/best``).

Pipeline: parse → logging → load model/tokenizer → α-mixed streaming train and fixed dev sets → LAPT mode
(full with a frozen-body phase, emb, lora, ia3, seq_bn, seq_bn_inv; under adapters the MLM head's transform trains
when the checkpoint had no head, --train_head) → Trainer (masked-positions-only head, non-finite guard,
best-checkpoint tracking) → best/ (+ best_merged/ for adapters) → lapt_results.json and model card → Hub.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from transformers import AutoModelForMaskedLM, AutoTokenizer, set_seed

from langadapt import LangadaptParser, setup_logging, write_json
from langadapt.lapt import (
    LAPT_MODES,
    BestCheckpointCallback,
    FlopCounter,
    FreezeSchedule,
    FreezeScheduleCallback,
    LaptArguments,
    LaptTrainer,
    LaptTrainingArguments,
    ModelArguments,
    NonFiniteGuard,
    OptimizerFlopsCallback,
    StabilityCallback,
    apply_train_head,
    build_lapt_datasets,
    build_mlm_collator,
    build_model_card,
    enable_masked_only_head,
    fit_max_seq_length,
    lapt_results,
    prepare_output_dir,
    push_folder_to_hub,
    read_provenance,
    resolve_max_grad_norm,
    save_publishable_model,
    unwrap_mlm,
)
from langadapt.layout import LAPT_RESULTS_FILE, PROVENANCE_FILE

logger = logging.getLogger("langadapt.recipes.lapt")


def main(model_args: ModelArguments, lapt_args: LaptArguments, training_args: LaptTrainingArguments) -> dict:
    setup_logging(training_args.get_process_log_level())
    set_seed(training_args.seed)
    output_dir = Path(training_args.output_dir)
    last_checkpoint = prepare_output_dir(lapt_args, training_args)

    # --- Load ------------------------------------------------------------------------------------------------
    tokenizer = AutoTokenizer.from_pretrained(
        model_args.tokenizer_name_or_path or model_args.model_name_or_path,
        trust_remote_code=model_args.trust_remote_code,
    )
    model, loading_info = AutoModelForMaskedLM.from_pretrained(
        model_args.model_name_or_path, trust_remote_code=model_args.trust_remote_code, output_loading_info=True
    )
    source_dir = Path(model_args.model_name_or_path)
    provenance = read_provenance(source_dir) if source_dir.is_dir() else None  # None: not a replaced vocabulary
    # Settings that follow the model: [ES]'s max_grad_norm for it (unless given), lines no longer than it takes.
    resolve_max_grad_norm(training_args, vocab_replaced=provenance is not None)
    fit_max_seq_length(lapt_args, model.config)

    # --- Data: α-mixed training stream and a fixed α-mixed dev set --------------------------------------------
    data = build_lapt_datasets(tokenizer, lapt_args, training_args, last_checkpoint)

    # --- LAPT mode: which parameters train, and which are frozen for the first steps --------------------------
    setup = LAPT_MODES.get(lapt_args.lapt_mode)(model, lapt_args, provenance is not None)
    model = setup.model
    mlm_head = apply_train_head(setup, lapt_args.train_head, loading_info["missing_keys"])  # a new head may train
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
    counter = FlopCounter.from_config(
        unwrap_mlm(model).config, setup.adapter_flops_per_token, setup.adapter_flops_per_projected
    )
    guard = NonFiniteGuard(lapt_args.max_nonfinite_in_a_row, lapt_args.nonfinite_max_grad_norm)
    best_cb = BestCheckpointCallback(output_dir, source_dir / PROVENANCE_FILE, lapt_args.early_stopping_patience)
    trainer = LaptTrainer(
        model=model,
        args=training_args,
        train_dataset=data.train,
        eval_dataset=data.dev,
        data_collator=build_mlm_collator(
            tokenizer, unwrap_mlm(model).config, lapt_args.max_seq_length, lapt_args.packing
        ),
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

    # --- Save: best/ (or best_merged/ for adapters), lapt_results.json and the model card -------------------
    publish_dir = save_publishable_model(trainer, best_cb.best_step, setup.is_peft, model_args, lapt_args, tokenizer)
    results = lapt_results(
        trainer,
        counter=counter,
        best_cb=best_cb,
        guard=guard,
        data=data,
        configs=(model_args, lapt_args, training_args),
        trainable=trainable,
        masked_only=masked_only,
        mlm_head=mlm_head,
        wall_time=wall_time,
        last_checkpoint=last_checkpoint,
    )
    card = build_model_card(
        results,
        provenance,
        model_name=training_args.hub_model_id or output_dir.name,
        is_adapter=(setup.is_peft or setup.is_bottleneck) and publish_dir.name == "best",
        adapter_library="langadapt" if setup.is_bottleneck else "peft",
    )
    if training_args.process_index == 0:
        card.save(output_dir / "README.md")
        if publish_dir.is_dir():
            card.save(publish_dir / "README.md")
        write_json(output_dir / LAPT_RESULTS_FILE, results)  # last: its presence means the run is complete
    trainer.accelerator.wait_for_everyone()

    # --- Push (on every rank) --------------------------------------------------------------------------------
    if push:
        if not training_args.hub_model_id:
            raise ValueError("--push_to_hub needs --hub_model_id")
        push_folder_to_hub(publish_dir, training_args.hub_model_id, training_args.process_index == 0,
                           private=training_args.hub_private_repo)  # fmt: skip
    return results


def make_parser() -> LangadaptParser:
    return LangadaptParser((ModelArguments, LaptArguments, LaptTrainingArguments))


if __name__ == "__main__":
    main(*make_parser().parse())
