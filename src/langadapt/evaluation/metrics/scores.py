"""Evaluation metrics as plain functions, built on the underlying libraries (seqeval for NER).

The `evaluate` modules beside this file wrap these functions. All take gold and predicted labels as strings, so a
gold label never seen in training (which the model cannot predict) simply counts as an error.
"""

from __future__ import annotations

from collections.abc import Sequence


def _check_lengths(gold: Sequence[Sequence], pred: Sequence[Sequence], what: str) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{what}: {len(gold)} gold sentences but {len(pred)} predicted")
    for index, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"{what}: sentence {index} has {len(g)} gold words but {len(p)} predictions")


def tag_accuracy(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
    """Word-level accuracy (UPOS accuracy over syntactic words)."""
    _check_lengths(gold, pred, "tag_accuracy")
    total = sum(len(g) for g in gold)
    correct = sum(a == b for g, p in zip(gold, pred) for a, b in zip(g, p))
    return {"accuracy": correct / total if total else 0.0, "words": total}


def universal_deprel(deprel: str) -> str:
    """The universal part of a relation (``nmod:poss`` → ``nmod``), as the CoNLL 2018 evaluator compares them."""
    return deprel.split(":", 1)[0]


def attachment_scores(
    gold_heads: Sequence[Sequence[int]],
    gold_deprels: Sequence[Sequence[str]],
    pred_heads: Sequence[Sequence[int]],
    pred_deprels: Sequence[Sequence[str]],
    ignore_subtypes: bool = True,
) -> dict[str, float]:
    """UAS and LAS over syntactic words, punctuation included (CoNLL 2018 with gold tokenization).

    With gold tokenization every syntactic word is aligned, so the evaluator's F1 equals accuracy.
    """
    _check_lengths(gold_heads, pred_heads, "attachment_scores heads")
    _check_lengths(gold_deprels, pred_deprels, "attachment_scores deprels")
    norm = universal_deprel if ignore_subtypes else (lambda r: r)
    total = uas = las = 0
    for gh, gr, ph, pr in zip(gold_heads, gold_deprels, pred_heads, pred_deprels):
        for a, b, c, d in zip(gh, gr, ph, pr):
            total += 1
            if a == c:
                uas += 1
                las += norm(b) == norm(d)
    return {"uas": uas / total if total else 0.0, "las": las / total if total else 0.0, "words": total}


def entity_scores(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], strict_iob2: bool = False
) -> dict[str, float]:
    """Entity-level precision/recall/F1 with seqeval (micro average) and word accuracy.

    The default mode is seqeval's (and ``evaluate``'s "seqeval") conlleval-compatible one, as XTREME and [ES]
    report; ``strict_iob2`` counts only entities that are well-formed IOB2 spans.
    """
    from seqeval.metrics import accuracy_score, f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    _check_lengths(gold, pred, "entity_scores")
    kwargs = {"mode": "strict", "scheme": IOB2} if strict_iob2 else {}
    gold_l, pred_l = [list(g) for g in gold], [list(p) for p in pred]
    return {
        "precision": float(precision_score(gold_l, pred_l, zero_division=0, **kwargs)),
        "recall": float(recall_score(gold_l, pred_l, zero_division=0, **kwargs)),
        "f1": float(f1_score(gold_l, pred_l, zero_division=0, **kwargs)),
        "accuracy": float(accuracy_score(gold_l, pred_l)),
    }


def classification_scores(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1 of one label per text.

    Macro-F1 averages the per-class F1 over the classes present in the gold or the predicted labels (as
    scikit-learn's ``f1_score(average="macro")`` does); a class with no true positive has F1 0.
    """
    if len(gold) != len(pred):
        raise ValueError(f"classification_scores: {len(gold)} gold labels but {len(pred)} predicted")
    if not gold:
        raise ValueError("classification_scores: no examples")
    correct = sum(g == p for g, p in zip(gold, pred))
    f1s = []
    for label in sorted(set(gold) | set(pred)):
        true_positives = sum(g == p == label for g, p in zip(gold, pred))
        gold_count, pred_count = sum(g == label for g in gold), sum(p == label for p in pred)
        f1s.append(2 * true_positives / (gold_count + pred_count))
    return {"accuracy": correct / len(gold), "macro_f1": sum(f1s) / len(f1s), "examples": len(gold)}
