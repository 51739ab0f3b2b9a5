"""The data side of one seed's fine-tuning run: its splits encoded for the model (and the embedding matrix compacted
to the ids they use), each test language predicted and scored, and the unit's results written.

`recipes/finetune.py` calls these in order around the Trainer of `trainer.py`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from transformers import Trainer

from ..configs import config_to_dict
from ..io_utils import write_json
from ..layout import UNIT_RESULTS_FILE
from .args import EvalDataArguments, EvalModelArguments, FinetuneArguments
from .compact import CompactVocabulary, compact_input_embeddings
from .datasets import EncodingStats, WordDataset
from .regimes import Splits
from .tasks import TaskOptions
from .trainer import TrainingSummary

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class EncodedSplits:
    """Train, dev and per-language test items as the model reads them, with their encoding statistics; ``compact``
    maps the ids when the embedding matrix was compacted (`compact_splits`)."""

    train: list
    dev: list
    tests: dict[str, list]
    train_stats: EncodingStats
    dev_stats: EncodingStats
    test_stats: dict[str, EncodingStats]
    compact: CompactVocabulary | None = None


def encode_splits(
    task,
    *,
    tokenizer,
    splits: Splits,
    tests: dict[str, Sequence],
    label_sets: dict[str, list[str]],
    max_length: int,
    pooling: str,
) -> EncodedSplits:
    """``splits`` and the ``tests`` (by language) encoded in windows of ``max_length`` subwords."""

    def encode(sentences, name):
        return task.encode(sentences, tokenizer, max_length, label_sets, pooling, name)

    train, train_stats = encode(splits.train, "train")
    dev, dev_stats = encode(splits.dev, "dev")
    encoded_tests = {lang: encode(sentences, f"test {lang}") for lang, sentences in tests.items()}
    return EncodedSplits(
        train=train,
        dev=dev,
        tests={lang: items for lang, (items, _) in encoded_tests.items()},
        train_stats=train_stats,
        dev_stats=dev_stats,
        test_stats={lang: stats for lang, (_, stats) in encoded_tests.items()},
    )


def compact_splits(encoded: EncodedSplits, *, encoder, pad_token_id: int | None) -> EncodedSplits:
    """Shrink ``encoder``'s input embeddings to the ids ``encoded`` uses and remap its items (the same run, far
    fewer optimizer updates); unchanged when the encoder's embeddings cannot be compacted. Call it after the head is
    built, so that the head's random initialisation does not change."""
    compact = compact_input_embeddings(encoder, [encoded.train, encoded.dev, *encoded.tests.values()], pad_token_id)
    if compact is None:
        return encoded
    return dataclasses.replace(
        encoded,
        train=compact.remap(encoded.train),
        dev=compact.remap(encoded.dev),
        tests={lang: compact.remap(items) for lang, items in encoded.tests.items()},
        compact=compact,
    )


@dataclasses.dataclass
class ScoredTestSet:
    """One test language's predictions (as labels) and scores."""

    language: str
    sentences: Sequence
    predictions: dict[str, list]
    metrics: dict[str, float]
    stats: EncodingStats


def score_test_set(
    trainer: Trainer,
    task,
    *,
    language: str,
    sentences: Sequence,
    encoded: EncodedSplits,
    label_sets: dict[str, list[str]],
    options: TaskOptions,
) -> ScoredTestSet:
    """Predict ``language``'s test set with the trained model and score it. Under DDP every rank predicts (the
    Trainer gathers the predictions); only the main process writes them."""
    raw = trainer.predict(WordDataset(encoded.tests[language])).predictions
    predictions = task.to_labels(np.asarray(raw), sentences, label_sets)
    metrics = task.score(sentences, predictions, options)
    return ScoredTestSet(language, sentences, predictions, metrics, encoded.test_stats[language])


def write_unit_results(
    path: str | Path,
    task,
    scored: ScoredTestSet,
    *,
    seed: int,
    label: str,
    splits: Splits,
    encoded: EncodedSplits,
    training: TrainingSummary,
    max_length: int,
    wall_time_s: float,
    label_sets: dict[str, list[str]],
    configs: tuple[EvalDataArguments, EvalModelArguments, FinetuneArguments],
) -> Path:
    """One unit's (task, test language, regime, seed) predictions, then its results JSON (atomically, last: its
    presence means the unit is done): scores, the model, the data sizes, the training run and every setting.
    `recipes/report.py` aggregates these."""
    data_args, model_args, _ = configs
    results = {
        "task": task.name,
        "language": scored.language,
        "regime": data_args.regime,
        "seed": seed,
        "metrics": scored.metrics,
        "metric": task.metric,
        "model": label,
        "model_name_or_path": model_args.model_name_or_path,
        "max_length": max_length,  # the window length used: data_args.max_length capped at the model's limit
        "train_languages": sorted({spec.split("=", 1)[0] for spec in data_args.train_data}),
        "n_train": len(splits.train),
        "n_dev": len(splits.dev),
        "n_test": len(scored.sentences),
        "dev_from_train": splits.dev_from_train,
        "best_dev": training.best_dev,
        "dev_curve": training.dev_curve,
        "epochs_run": training.epochs_run,
        "steps": training.steps,
        "train_loss": training.train_loss,
        "resumed_from_step": training.resumed_from_step,
        "wall_time_s": wall_time_s,
        "embedding_rows_trained": None if encoded.compact is None else len(encoded.compact.used_ids),
        "encoding": {
            "train": dataclasses.asdict(encoded.train_stats),
            "dev": dataclasses.asdict(encoded.dev_stats),
            "test": dataclasses.asdict(scored.stats),
        },
        "labels": label_sets,
        "config": config_to_dict(*configs),
    }
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    task.write(path / f"predictions{task.prediction_suffix}", scored.sentences, scored.predictions)
    write_json(path / UNIT_RESULTS_FILE, results)
    logger.info("%s %s %s seed %d: %s", task.name, scored.language, data_args.regime, seed, scored.metrics)
    return path / UNIT_RESULTS_FILE


__all__ = [
    "EncodedSplits",
    "ScoredTestSet",
    "compact_splits",
    "encode_splits",
    "score_test_set",
    "write_unit_results",
]
