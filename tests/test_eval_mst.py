"""Chu-Liu/Edmonds decoding: always a tree with one root dependent, optimal, better than greedy when it matters."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from langadapt.evaluation.conllu import find_cycle
from langadapt.evaluation.metrics.scores import attachment_scores
from langadapt.evaluation.mst import chu_liu_edmonds, decode_greedy, decode_mst


def _score(scores, heads):
    return sum(scores[i, heads[i]] for i in range(1, len(heads)))


def _brute_force(scores, one_root=True):
    n = len(scores) - 1
    best, best_score = None, -np.inf
    for heads in itertools.product(range(n + 1), repeat=n):
        if any(h == i + 1 for i, h in enumerate(heads)) or find_cycle(list(heads)) is not None:
            continue
        if one_root and heads.count(0) != 1:
            continue
        value = sum(scores[i + 1, h] for i, h in enumerate(heads))
        if value > best_score:
            best, best_score = heads, value
    return best, best_score


@pytest.mark.parametrize("seed", range(40))
def test_mst_is_an_optimal_single_root_tree(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    scores = rng.normal(size=(n + 1, n + 1))
    heads = decode_mst(scores)
    assert heads[0] == -1 and find_cycle(heads[1:].tolist()) is None and (heads[1:] == 0).sum() == 1
    assert _score(scores, heads) == pytest.approx(_brute_force(scores)[1])
    assert _score(scores, chu_liu_edmonds(scores)) == pytest.approx(_brute_force(scores, one_root=False)[1])


def test_mst_beats_greedy_on_a_crafted_case():
    # Gold: 1 ← root, 2 ← 1, 3 ← 2. Greedy prefers a 2↔3 cycle and two root dependents.
    gold = [0, 1, 2]
    scores = np.full((4, 4), -5.0)
    scores[1, 0] = 0.0  # word 1: root (correct)
    scores[2, 3], scores[2, 1] = 1.0, 0.5  # word 2: greedy picks 3 (cycle), gold 1
    scores[3, 2], scores[3, 0] = 1.0, 0.9  # word 3: 2 (correct)
    greedy = decode_greedy(scores)
    assert find_cycle(greedy[1:].tolist()) is not None
    mst = decode_mst(scores)
    assert mst[1:].tolist() == gold
    rels = [["x"] * 3]
    assert attachment_scores([gold], rels, [mst[1:].tolist()], rels)["uas"] == 1.0
    assert attachment_scores([gold], rels, [greedy[1:].tolist()], rels)["uas"] < 1.0


def test_single_root_constraint_changes_the_tree():
    scores = np.full((3, 3), -10.0)
    scores[1, 0], scores[2, 0], scores[2, 1] = 0.0, 0.0, -1.0
    assert (chu_liu_edmonds(scores)[1:] == 0).sum() == 2
    assert decode_mst(scores)[1:].tolist() == [0, 1]


def test_long_sentence_is_fast_and_a_tree():
    scores = np.random.default_rng(0).normal(size=(61, 61))
    heads = decode_mst(scores)
    assert find_cycle(heads[1:].tolist()) is None and (heads[1:] == 0).sum() == 1
