"""Regimes: few-shot sampling per seed, caps, seeded dev hold-out."""

from __future__ import annotations

import pytest

from langadapt.evaluation.regimes import make_splits, sample, split_dev_from_train


def test_few_shot_differs_by_seed_and_is_reproducible():
    items = list(range(1000))
    a, b, again = sample(items, 512, seed=1), sample(items, 512, seed=2), sample(items, 512, seed=1)
    assert len(a) == 512 and a == again and a != b and a == sorted(a)


def test_make_splits_regimes():
    train = list(range(1000))
    few = make_splits("few_shot", train, None, seed=3, few_shot_size=100, dev_size=300)
    assert len(few.train) == 100 and len(few.dev) == 300 and few.dev_from_train
    assert not set(few.train) & set(few.dev)
    # The dev hold-out does not depend on the run seed.
    assert make_splits("few_shot", train, None, seed=4, few_shot_size=100).dev == few.dev
    full = make_splits("full", train, [10_000], seed=3, max_train=600)
    assert len(full.train) == 600 and full.dev == [10_000] and not full.dev_from_train
    assert make_splits("zero_shot", train, [1], seed=3).train == train
    with pytest.raises(ValueError, match="unknown regime 'some'"):
        make_splits("some", train, None, seed=1)


def test_dev_split_too_large():
    with pytest.raises(ValueError, match="dev_size=300 leaves no training sentences"):
        split_dev_from_train(list(range(300)), 300, seed=0)
    train, dev = split_dev_from_train(list(range(10)), 3, seed=0)
    assert len(train) == 7 and len(dev) == 3 and sorted(train + dev) == list(range(10))
