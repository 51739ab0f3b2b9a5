"""Training regimes and splits: full (capped), few-shot (re-sampled per seed), zero-shot; dev taken from train.

Sampling is a pure function of the seed (numpy ``default_rng``), so a rerun picks the same sentences; sampled
sentences keep their original order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")

REGIMES = ("full", "few_shot", "zero_shot")


@dataclasses.dataclass
class Splits:
    """Train/dev sentence lists for one (regime, seed), and where the dev set came from."""

    train: list
    dev: list
    dev_from_train: bool


def sample(items: Sequence[T], count: int, seed: int) -> list[T]:
    """``count`` items drawn without replacement with ``seed`` (all of them, in order, if count >= len)."""
    if count >= len(items):
        return list(items)
    chosen = np.sort(np.random.default_rng(seed).choice(len(items), size=count, replace=False))
    return [items[i] for i in chosen]


def split_dev_from_train(train: Sequence[T], dev_size: int, seed: int) -> tuple[list[T], list[T]]:
    """Hold out ``dev_size`` seeded training sentences as dev (the papers use 300 when a treebank has none)."""
    if dev_size >= len(train):
        raise ValueError(f"dev_size={dev_size} leaves no training sentences (train has {len(train)})")
    held = set(np.random.default_rng(seed).choice(len(train), size=dev_size, replace=False).tolist())
    return [x for i, x in enumerate(train) if i not in held], [x for i, x in enumerate(train) if i in held]


RANDOM_SPLIT_PARTS = ("train", "dev", "test")


def random_split(
    items: Sequence[T],
    seed: int,
    dev_fraction: float = 0.05,
    test_fraction: float = 0.10,
    min_dev: int = 256,
    min_test: int = 512,
) -> dict[str, list[T]]:
    """A seeded random train/dev/test split for data that has none (WikiAnn languages outside Rahimi et al.'s
    splits; docs/methods.md#evaluation): 85/5/10 with at least ``min_dev`` dev and ``min_test`` test items, each
    part in the original order. The same (items, seed) always gives the same parts."""
    n = len(items)
    n_dev = max(min_dev, round(dev_fraction * n))
    n_test = max(min_test, round(test_fraction * n))
    if n_dev + n_test >= n:
        raise ValueError(
            f"a random split needs more than {n_dev} dev + {n_test} test items to leave any for training; "
            f"the data has {n}"
        )
    order = np.random.default_rng(seed).permutation(n)
    parts = {"test": order[:n_test], "dev": order[n_test : n_test + n_dev], "train": order[n_test + n_dev :]}
    return {name: [items[i] for i in np.sort(index)] for name, index in parts.items()}


def make_splits(
    regime: str,
    train: Sequence[T],
    dev: Sequence[T] | None,
    seed: int,
    *,
    max_train: int = 32768,
    few_shot_size: int = 512,
    dev_size: int = 300,
    dev_seed: int = 42,
) -> Splits:
    """Training and dev sentences for a regime.

    The dev split (when there is no dev set) uses ``dev_seed``, the same for every run seed, so seeds differ only
    in the training sample and initialization. ``full`` and ``zero_shot`` cap training at ``max_train``
    sentences (a seeded sample when larger); ``few_shot`` draws ``few_shot_size`` sentences per seed.
    """
    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r}; valid: {', '.join(REGIMES)}")
    dev_from_train = not dev
    if dev_from_train:
        train, dev = split_dev_from_train(train, dev_size, dev_seed)
    size = few_shot_size if regime == "few_shot" else max_train
    return Splits(train=sample(train, size, seed), dev=list(dev), dev_from_train=dev_from_train)
