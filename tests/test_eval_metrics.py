"""Metrics on hand-checked examples, the O down-weighting and word pooling."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from langadapt.evaluation.heads import o_weighted_cross_entropy, pool_words
from langadapt.evaluation.metrics.scores import attachment_scores, entity_scores, tag_accuracy, universal_deprel


def test_tag_accuracy_counts_words():
    assert tag_accuracy([["NOUN", "VERB"], ["X"]], [["NOUN", "NOUN"], ["X"]]) == {"accuracy": 2 / 3, "words": 3}
    with pytest.raises(ValueError, match="sentence 0 has 2 gold words but 1 predictions"):
        tag_accuracy([["A", "B"]], [["A"]])


def test_uas_las_hand_checked():
    gold_heads = [[2, 0, 2, 2]]
    gold_rels = [["nmod:poss", "root", "obj", "punct"]]
    pred_heads = [[2, 0, 1, 2]]  # word 3 wrong head
    pred_rels = [["nmod", "root", "obj", "obj"]]  # word 1 subtype differs, word 4 wrong label
    scores = attachment_scores(gold_heads, gold_rels, pred_heads, pred_rels)
    # UAS: words 1, 2, 4 correct = 3/4; LAS: words 1 (nmod == nmod) and 2 = 2/4 (punctuation counted).
    assert scores == {"uas": 0.75, "las": 0.5, "words": 4}
    strict = attachment_scores(gold_heads, gold_rels, pred_heads, pred_rels, ignore_subtypes=False)
    assert strict["las"] == 0.25 and universal_deprel("nmod:poss") == "nmod"


def test_seqeval_hand_checked():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["I-ORG", "O"]]
    # Gold entities: PER(0-1), LOC(3), ORG(0). Predicted: PER(0-1), ORG(3), ORG(0; I- start counts in conlleval).
    scores = entity_scores(gold, pred)
    assert scores["precision"] == pytest.approx(2 / 3) and scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 / 3) and scores["accuracy"] == pytest.approx(4 / 6)
    strict = entity_scores(gold, pred, strict_iob2=True)  # an entity starting with I- is not an IOB2 entity
    assert strict["precision"] == pytest.approx(1 / 2) and strict["recall"] == pytest.approx(1 / 3)


def test_o_weighting_math():
    torch.manual_seed(0)
    logits = torch.randn(1, 6, 3)
    labels = torch.tensor([[2, 2, 2, 2, 0, -100]])  # O = 2: four O, one non-O, one ignored
    per_token = F.cross_entropy(logits[0], labels[0].clamp(min=0), reduction="none")[:5]
    expected = (per_token[:4].sum() * (1 / 4) + per_token[4]) / 5
    assert o_weighted_cross_entropy(logits, labels, o_id=2) == pytest.approx(float(expected), rel=1e-6)
    # No down-weighting when O is not the majority, when there is no non-O, or for POS (o_id None).
    for case in (torch.tensor([[0, 1, 2, -100, -100, -100]]), torch.tensor([[2, 2, 2, -100, -100, -100]])):
        plain = F.cross_entropy(logits.view(-1, 3), case.view(-1), ignore_index=-100)
        assert o_weighted_cross_entropy(logits, case, o_id=2) == pytest.approx(float(plain), rel=1e-6)
    plain = F.cross_entropy(logits.view(-1, 3), labels.view(-1), ignore_index=-100)
    assert o_weighted_cross_entropy(logits, labels, o_id=None) == pytest.approx(float(plain), rel=1e-6)


def test_loss_is_on_logits_not_softmax():
    """The tagger's loss equals cross-entropy of the raw logits ([ES]'s double softmax would differ)."""
    from langadapt.evaluation.heads import TaggerHead

    torch.manual_seed(0)
    head = TaggerHead(4, 3, dropout=0.0)
    words, mask = torch.randn(1, 3, 4), torch.ones(1, 2, dtype=torch.bool)
    labels = torch.tensor([[0, 2]])
    out = head(words, mask, labels=labels)
    expected = F.cross_entropy(out["logits"].view(-1, 3), labels.view(-1)).item()
    assert out["loss"].item() == pytest.approx(expected)
    double_softmax = F.cross_entropy(out["logits"].softmax(-1).view(-1, 3), labels.view(-1)).item()
    assert out["loss"].item() != pytest.approx(double_softmax)


def test_pool_words_means_subwords_per_slot():
    hidden = torch.tensor([[[1.0], [2.0], [4.0], [8.0]]])  # one row: CLS, w1a, w1b, w2
    token_word = torch.tensor([[0, 1, 1, 2]])
    pooled = pool_words(hidden, token_word, n_sent=1, n_slots=3)
    assert pooled.view(-1).tolist() == [1.0, 3.0, 8.0]
