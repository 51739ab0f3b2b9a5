"""What a fine-tuning configuration trains and tests on: read once for all seeds, then split per seed."""

from __future__ import annotations

import dataclasses

from .args import EvalDataArguments
from .regimes import Splits, make_splits, sample
from .sources import parse_data_specs


@dataclasses.dataclass
class TaskData:
    """The training and dev pools, the test sets by language, and the label sets (from the whole training pool, so
    every seed's sample has the same classes)."""

    train_pool: list
    dev_pool: list
    tests: dict[str, list]
    label_sets: dict[str, list[str]]


def load_task_data(task, data_args: EvalDataArguments) -> TaskData:
    """Every ``--train_data``, ``--dev_data`` and ``--test_data`` spec read with ``task``; the first
    ``--max_test_sentences`` of each test set. A zero-shot test language may not also be a training language."""
    train_specs = parse_data_specs(data_args.train_data)
    test_specs = parse_data_specs(data_args.test_data)
    if data_args.regime == "zero_shot":
        overlap = {s.name for s in train_specs} & {s.name for s in test_specs}
        if overlap:
            raise ValueError(f"zero_shot: test language(s) {sorted(overlap)} also appear in train_data")
    train_pool = [s for spec in train_specs for s in task.load(spec)]
    dev_pool = [s for spec in parse_data_specs(data_args.dev_data) for s in task.load(spec)]
    tests = {spec.name: task.load(spec) for spec in test_specs}
    if data_args.max_test_sentences is not None:
        tests = {name: sentences[: data_args.max_test_sentences] for name, sentences in tests.items()}
    return TaskData(train_pool, dev_pool, tests, task.label_sets(train_pool))


def seed_splits(data: TaskData, *, seed: int, data_args: EvalDataArguments) -> Splits:
    """The regime's training sample for ``seed`` and the dev set (held out of train with ``--dev_seed`` when there
    is no dev data; a seeded sample of ``--max_dev_sentences`` when set)."""
    splits = make_splits(
        data_args.regime,
        data.train_pool,
        data.dev_pool,
        seed,
        max_train=data_args.max_train_sentences,
        few_shot_size=data_args.few_shot_size,
        dev_size=data_args.dev_size,
        dev_seed=data_args.dev_seed,
    )
    if data_args.max_dev_sentences is not None:
        splits.dev = sample(splits.dev, data_args.max_dev_sentences, data_args.dev_seed)
    return splits


__all__ = ["TaskData", "load_task_data", "seed_splits"]
