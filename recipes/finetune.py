"""Fine-tune an encoder on a word-level task (UD POS, UD parsing, WikiAnn NER) or on text classification (SIB-200,
sentiment) and test it, per seed.

Usage:
    accelerate launch --config_file accelerate_configs/cpu.yaml recipes/finetune.py \
        recipes/configs/uralic/finetune_pos.yaml --model_name_or_path runs/lapt_full_myv_sme/best

    python recipes/finetune.py --task ner --model_name_or_path xlm-roberta-base \
        --train_data et=../shared/data/wikiann/et/train.tsv --dev_data et=../shared/data/wikiann/et/dev.tsv \
        --test_data et=../shared/data/wikiann/et/test.tsv --regime full --seeds 1 2 3 --output_dir runs/finetune

Each (task, language, regime, seed) writes ``OUTPUT_DIR/MODEL/TASK/REGIME/LANG/seedN/results.json`` (atomically, last)
and its predictions; MODEL is ``--model_label``, by default named after the LAPT run (``lapt_full_myv_sme`` above).
A rerun, also after a kill, skips the units whose results JSON exists for the same model and runs the others; a seed
killed mid-training continues from its last dev evaluation (``--resume_interrupted``, on by default); another
model's results under the same label are an error. ``recipes/report.py`` aggregates them.

Pipeline: parse → logging → task data (train/dev pools, test sets, label sets) → units (stored results checked
before anything trains) → per seed: split → load encoder + task head → encode splits (compact vocabulary) →
Trainer → train (a killed run resumed; best dev checkpoint restored) → test each language → write its results JSON → save model.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from transformers import set_seed

from langadapt import LangadaptParser, setup_logging
from langadapt.evaluation import (
    EvalDataArguments,
    EvalModelArguments,
    FinetuneArguments,
    TaskOptions,
    build_trainer,
    compact_splits,
    default_model_label,
    encode_splits,
    fit_window_length,
    get_task,
    load_encoder,
    load_task_data,
    plan_seeds,
    prepare_work_dir,
    restore_input_embeddings,
    run_fingerprint,
    save_task_adapter,
    save_word_model,
    score_test_set,
    seed_splits,
    setup_madx,
    train_to_best,
    use_language_adapter_for,
    write_unit_results,
)

logger = logging.getLogger("langadapt.recipes.finetune")


def main(data_args: EvalDataArguments, model_args: EvalModelArguments, training_args: FinetuneArguments) -> list[Path]:
    """Every (seed, test language) unit of the configuration; returns their results JSON paths."""
    setup_logging(training_args.get_process_log_level())
    logger.info(
        "Fine-tuning %s on %s (%s), seeds %s",
        model_args.model_name_or_path,
        data_args.task,
        data_args.regime,
        data_args.seeds,
    )
    task = get_task(data_args.task)
    label = model_args.model_label or default_model_label(model_args.model_name_or_path)
    options = TaskOptions.from_arguments(model_args)  # head and scoring options

    # --- Data and units: read once for all seeds; every stored result is checked before anything trains -------
    data = load_task_data(task, data_args)
    plans = plan_seeds(
        task=task.name,
        label=label,
        languages=list(data.tests),
        data_args=data_args,
        model_args=model_args,
        output_dir=training_args.output_dir,
    )
    log_window_cap = True
    for units in plans:
        if units.done:
            logger.info(
                "seed %d: results exist for %s; skipping (pass --overwrite to redo)", units.seed, list(data.tests)
            )
            continue
        splits = seed_splits(data, seed=units.seed, data_args=data_args)
        start = time.time()

        # --- Load: a fresh encoder per seed; the head's random initialisation follows the seed -------------------
        set_seed(units.seed)
        encoder, tokenizer = load_encoder(model_args.model_name_or_path)
        model = task.build_model(encoder, data.label_sets, options)
        madx = setup_madx(model, model_args, list(data.tests))  # --finetune_mode madx: adapters; None: full
        max_length = fit_window_length(encoder, data_args.max_length, log=log_window_cap)
        log_window_cap = False

        # --- Encode train, dev and the pending test sets; train only the embedding rows they use ------------------
        encoded = encode_splits(
            task,
            tokenizer=tokenizer,
            splits=splits,
            tests={lang: data.tests[lang] for lang in units.pending},
            label_sets=data.label_sets,
            max_length=max_length,
            pooling=model_args.pooling,
        )
        if model_args.compact_vocabulary:  # after the head is built, so the head's random init is unchanged
            encoded = compact_splits(encoded, encoder=model.encoder, pad_token_id=tokenizer.pad_token_id)

        # --- Train: early stopping on the task's dev metric, the best dev checkpoint restored; a run killed -------
        # --- mid-way continues from its last dev evaluation (--resume_interrupted) -------------------------------
        fingerprint = run_fingerprint(
            data_args,
            model_args,
            training_args,
            seed=units.seed,
            n_train=len(encoded.train),
            n_dev=len(encoded.dev),
            embedding_rows=None if encoded.compact is None else len(encoded.compact.used_ids),
        )
        resume_from = prepare_work_dir(units.work_dir, fingerprint, training_args)
        trainer = build_trainer(
            task,
            model=model,
            train=encoded.train,
            dev=encoded.dev,
            dev_sentences=splits.dev,
            label_sets=data.label_sets,
            options=options,
            pad_token_id=tokenizer.pad_token_id,
            training_args=training_args,
            seed=units.seed,
            work_dir=units.work_dir,
            tensorboard_dir=units.tensorboard_dir,
        )
        training = train_to_best(trainer, metric=task.metric, resume_from_checkpoint=resume_from)

        # --- Test each pending language and write its unit: predictions, then results.json (last) ---------------
        for lang in units.pending:
            use_language_adapter_for(model, madx, lang)  # MAD-X: the test language's adapter
            scored = score_test_set(
                trainer,
                task,
                language=lang,
                sentences=data.tests[lang],
                encoded=encoded,
                label_sets=data.label_sets,
                options=options,
            )
            if not trainer.is_world_process_zero():
                continue  # under DDP every rank predicts (Trainer gathers); only the main one writes
            write_unit_results(
                units.unit_dirs[lang],
                task,
                scored,
                seed=units.seed,
                label=label,
                splits=splits,
                encoded=encoded,
                training=training,
                max_length=max_length,
                wall_time_s=round(time.time() - start, 1),
                label_sets=data.label_sets,
                configs=(data_args, model_args, training_args),
            )

        # --- Save: the full embedding matrix restored, so the model keeps the tokenizer's ids -------------------
        if model_args.save_model and trainer.is_world_process_zero():
            if encoded.compact is not None:
                restore_input_embeddings(model.encoder, encoded.compact)
            save_word_model(model, tokenizer, label_sets=data.label_sets, task=task.name, path=units.model_dir)
            save_task_adapter(madx, model, units.model_dir)
        shutil.rmtree(units.work_dir, ignore_errors=True)  # checkpoints: the best one is already loaded and tested

    paths = [path for units in plans for path in units.results_paths]
    logger.info("%d results JSONs under %s", sum(p.is_file() for p in paths), training_args.output_dir)
    return paths


def make_parser() -> LangadaptParser:
    return LangadaptParser((EvalDataArguments, EvalModelArguments, FinetuneArguments))


if __name__ == "__main__":
    main(*make_parser().parse())
