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
