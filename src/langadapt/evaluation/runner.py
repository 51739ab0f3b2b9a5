"""Fine-tune and test one (task, regime, seed) and write a results JSON per test language; resumable.

Layout: ``OUTPUT_DIR/MODEL_LABEL/TASK/REGIME/LANG/seed{SEED}/{results.json, predictions.*}``. A unit whose
results JSON exists is skipped (``overwrite`` redoes it), so an interrupted sweep continues where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from transformers import AutoConfig, AutoModel, AutoTokenizer, EarlyStoppingCallback, Trainer, set_seed

from ..configs import config_to_dict, global_batch_size
from ..io_utils import write_json
from .args import EvalDataArguments, EvalModelArguments, FinetuneArguments
from .compact import compact_input_embeddings, restore_input_embeddings
from .conllu import Sentence
from .datasets import IGNORE_INDEX, WordCollator, WordDataset, encode_sentences
from .heads import WordLevelModel
from .regimes import make_splits, sample
from .sources import load_sentences, parse_data_specs
from .tasks import TaskOptions, get_task

logger = logging.getLogger(__name__)


def load_encoder(model_name_or_path: str):
    """(encoder, tokenizer) from a plain/LAPT checkpoint or a PEFT adapter directory (merged into its base)."""
    path = Path(model_name_or_path)
    adapter_config = path / "adapter_config.json"
    if adapter_config.is_file():
        from peft import PeftModel
        from transformers import AutoModelForMaskedLM

        base_path = json.loads(adapter_config.read_text(encoding="utf-8"))["base_model_name_or_path"]
        tokenizer_path = path if (path / "tokenizer_config.json").is_file() else base_path
        try:  # LAPT adapters are trained on the MLM model: load it so the adapter's module names match
            base = AutoModelForMaskedLM.from_pretrained(base_path)
        except (ValueError, OSError):
            base = AutoModel.from_pretrained(base_path)
        merged = PeftModel.from_pretrained(base, str(path)).merge_and_unload()
        encoder = getattr(merged, merged.base_model_prefix, merged)
        return encoder, AutoTokenizer.from_pretrained(tokenizer_path)
    config = AutoConfig.from_pretrained(model_name_or_path)
    kwargs = {"add_pooling_layer": False} if config.model_type in ("bert", "xlm-roberta", "roberta") else {}
    encoder = AutoModel.from_pretrained(model_name_or_path, **kwargs)
    return encoder, AutoTokenizer.from_pretrained(model_name_or_path)


class WordTaskTrainer(Trainer):
    """`Trainer` whose evaluation returns decoded word-level predictions (MST trees for parsing)."""

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad(), self.compute_loss_context_manager():
            loss, predicted = self.accelerator.unwrap_model(model).predict(**inputs)
        loss = loss.detach() if loss is not None else None
        if prediction_loss_only:
            return loss, None, None
        # "Labels" are only the word mask: gold labels stay strings on the task side (unknown tags count).
        return loss, predicted, inputs["word_mask"].long()


def unit_dir(output_dir: str | Path, label: str, task: str, regime: str, language: str, seed: int) -> Path:
    return Path(output_dir) / label / task / regime / language / f"seed{seed}"


def _first(sentences: list[Sentence], limit: int | None) -> list[Sentence]:
    return sentences if limit is None else sentences[:limit]


def run_finetuning(
    data_args: EvalDataArguments, model_args: EvalModelArguments, training_args: FinetuneArguments
) -> list[Path]:
    """Every (seed, test language) unit of the configuration; returns the results JSON paths."""
    task = get_task(data_args.task)
    label = model_args.model_label or Path(model_args.model_name_or_path.rstrip("/")).name
    train_specs = parse_data_specs(data_args.train_data)
    test_specs = parse_data_specs(data_args.test_data)
    if data_args.regime == "zero_shot":
        overlap = {s.name for s in train_specs} & {s.name for s in test_specs}
        if overlap:
            raise ValueError(f"zero_shot: test language(s) {sorted(overlap)} also appear in train_data")
    train_pool = [s for spec in train_specs for s in load_sentences(spec, task.needs_tree)]
    dev_pool = [s for spec in parse_data_specs(data_args.dev_data) for s in load_sentences(spec, task.needs_tree)]
    tests = {
        spec.name: _first(load_sentences(spec, task.needs_tree), data_args.max_test_sentences) for spec in test_specs
    }
    label_sets = task.label_sets(train_pool)  # from the whole pool: the same classes for every seed's sample
    outputs = []
    for seed in data_args.seeds:
        paths = {
            lang: unit_dir(training_args.output_dir, label, task.name, data_args.regime, lang, seed) for lang in tests
        }
        pending = [lang for lang, p in paths.items() if model_args.overwrite or not (p / "results.json").is_file()]
        outputs.extend(p / "results.json" for p in paths.values())
        if not pending:
            logger.info("seed %d: results exist for %s; skipping (pass --overwrite to redo)", seed, list(paths))
            continue
        splits = make_splits(
            data_args.regime,
            train_pool,
            dev_pool,
            seed,
            max_train=data_args.max_train_sentences,
            few_shot_size=data_args.few_shot_size,
            dev_size=data_args.dev_size,
            dev_seed=data_args.dev_seed,
        )
        if data_args.max_dev_sentences is not None:
            splits.dev = sample(splits.dev, data_args.max_dev_sentences, data_args.dev_seed)
        _run_seed(
            task,
            label,
            label_sets,
            splits,
            {k: tests[k] for k in pending},
            {k: paths[k] for k in pending},
            seed,
            data_args,
            model_args,
            training_args,
        )
    return outputs


def _run_seed(task, label, label_sets, splits, tests, paths, seed, data_args, model_args, training_args) -> None:
    start = time.time()
    set_seed(seed)
    options = TaskOptions(**{f.name: getattr(model_args, f.name) for f in dataclasses.fields(TaskOptions)})
    encoder, tokenizer = load_encoder(model_args.model_name_or_path)
    model = WordLevelModel(encoder, task.build_head(encoder.config.hidden_size, label_sets, options))
    tag_map = {t: i for i, t in enumerate(label_sets.get("labels", []))} if "labels" in label_sets else None
    rel_map = {t: i for i, t in enumerate(label_sets["relations"])} if "relations" in label_sets else None

    def encode(sentences, name):
        return encode_sentences(sentences, tokenizer, data_args.max_length, tag_map, rel_map, model_args.pooling, name)

    train_enc, train_stats = encode(splits.train, "train")
    dev_enc, dev_stats = encode(splits.dev, "dev")
    test_encs = {lang: encode(sentences, f"test {lang}") for lang, sentences in tests.items()}
    compact = None
    if model_args.compact_vocabulary:  # after the head is built, so the head's random init is unchanged
        all_sets = [train_enc, dev_enc, *(enc for enc, _ in test_encs.values())]
        compact = compact_input_embeddings(model.encoder, all_sets, tokenizer.pad_token_id)
    if compact is not None:
        train_enc, dev_enc = compact.remap(train_enc), compact.remap(dev_enc)
        test_encs = {lang: (compact.remap(enc), stats) for lang, (enc, stats) in test_encs.items()}
    steps_per_epoch = math.ceil(len(train_enc) / global_batch_size(training_args))
    epochs = training_args.num_train_epochs or task.max_epochs
    total_steps = math.ceil(epochs * steps_per_epoch)
    eval_steps = max(1, min(training_args.eval_every_epochs * steps_per_epoch, total_steps))
    patience = training_args.patience_epochs or task.patience_epochs
    work_dir = next(iter(paths.values())).parent / f"seed{seed}.work"
    shutil.rmtree(work_dir, ignore_errors=True)  # checkpoints of an interrupted run: start the unit afresh
    args = dataclasses.replace(
        training_args,
        output_dir=str(work_dir),
        num_train_epochs=epochs,
        eval_strategy="steps",
        eval_steps=eval_steps,
        save_strategy="best",
        load_best_model_at_end=True,
        metric_for_best_model=task.metric,
        greater_is_better=True,
        save_only_model=True,
        remove_unused_columns=False,
        seed=seed,
        data_seed=seed,
    )

    def compute_metrics(prediction) -> dict[str, float]:
        decoded = task.to_labels(np.asarray(prediction.predictions), splits.dev, label_sets)
        return task.score(splits.dev, decoded, options)

    trainer = WordTaskTrainer(
        model=model,
        args=args,
        train_dataset=WordDataset(train_enc),
        eval_dataset=WordDataset(dev_enc),
        data_collator=WordCollator(tokenizer.pad_token_id),
        compute_metrics=compute_metrics,
        callbacks=[
            EarlyStoppingCallback(
                early_stopping_patience=max(1, math.ceil(patience / training_args.eval_every_epochs))
            )
        ],
    )
    train_output = trainer.train()
    best_checkpoint = trainer.state.best_model_checkpoint  # restored by load_best_model_at_end
    best_step = int(best_checkpoint.rsplit("-", 1)[-1]) if best_checkpoint else None
    best_dev = {"metric": task.metric, "value": trainer.state.best_metric, "step": best_step}
    trainer.compute_metrics = None
    for lang, sentences in tests.items():
        test_enc, test_stats = test_encs[lang]
        raw = trainer.predict(WordDataset(test_enc)).predictions
        decoded = task.to_labels(np.asarray(raw), sentences, label_sets)
        metrics = task.score(sentences, decoded, options)
        if not trainer.is_world_process_zero():
            continue  # under DDP every rank predicts (Trainer gathers); only the main one writes
        out = paths[lang]
        out.mkdir(parents=True, exist_ok=True)
        task.write(out / f"predictions{task.prediction_suffix}", sentences, decoded)
        results = {
            "task": task.name,
            "language": lang,
            "regime": data_args.regime,
            "seed": seed,
            "metrics": metrics,
            "metric": task.metric,
            "model": label,
            "model_name_or_path": model_args.model_name_or_path,
            "train_languages": sorted({spec.split("=", 1)[0] for spec in data_args.train_data}),
            "n_train": len(splits.train),
            "n_dev": len(splits.dev),
            "n_test": len(sentences),
            "dev_from_train": splits.dev_from_train,
            "best_dev": best_dev,
            "epochs_run": trainer.state.epoch,
            "steps": trainer.state.global_step,
            "train_loss": train_output.training_loss,
            "wall_time_s": round(time.time() - start, 1),
            "embedding_rows_trained": None if compact is None else len(compact.used_ids),
            "encoding": {
                "train": dataclasses.asdict(train_stats),
                "dev": dataclasses.asdict(dev_stats),
                "test": dataclasses.asdict(test_stats),
            },
            "labels": label_sets,
            "config": config_to_dict(data_args, model_args, training_args),
        }
        write_json(out / "results.json", results)
        logger.info("%s %s %s seed %d: %s", task.name, lang, data_args.regime, seed, metrics)
    if model_args.save_model and trainer.is_world_process_zero():
        if compact is not None:
            restore_input_embeddings(model.encoder, compact)
        save_word_model(model, tokenizer, label_sets, task.name, work_dir.parent / f"seed{seed}.model")
    shutil.rmtree(work_dir, ignore_errors=True)  # checkpoints: the best one is already loaded and tested


def save_word_model(model: WordLevelModel, tokenizer, label_sets: dict, task: str, path: Path) -> None:
    """The fine-tuned encoder (config.id2label set), its head weights and ``labels.json``."""
    from safetensors.torch import save_file

    from ..io_utils import atomic_directory

    names = label_sets.get("labels") or label_sets.get("relations") or []
    model.encoder.config.id2label = dict(enumerate(names))
    model.encoder.config.label2id = {n: i for i, n in enumerate(names)}
    with atomic_directory(path, overwrite=True) as tmp:
        model.encoder.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        save_file({k: v.contiguous() for k, v in model.head.state_dict().items()}, str(tmp / "head.safetensors"))
        write_json(tmp / "labels.json", {"task": task, **label_sets})


__all__ = ["IGNORE_INDEX", "WordTaskTrainer", "load_encoder", "run_finetuning", "save_word_model", "unit_dir"]
