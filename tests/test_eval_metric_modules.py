"""The metrics as local `evaluate` modules: they load offline, from the package, and give today's numbers."""

from __future__ import annotations

import glob
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from langadapt.evaluation.metrics import METRIC_NAMES, compute_metric, metric_path
from langadapt.evaluation.metrics.scores import attachment_scores, classification_scores, entity_scores, tag_accuracy

REPO = Path(__file__).resolve().parents[1]
TAGS = ["NOUN", "VERB", "ADJ", "PUNCT"]
NER = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG"]  # I-ORG without B-: ill-formed spans too
RELS = ["nsubj", "obj", "nmod", "nmod:poss", "root", "punct"]


def _sentences(rng: random.Random, labels: list[str], count: int = 60) -> list[list[str]]:
    return [[rng.choice(labels) for _ in range(rng.randint(1, 12))] for _ in range(count)]


def _noisy(rng: random.Random, gold: list[list], labels: list) -> list[list]:
    return [[rng.choice(labels) if rng.random() < 0.3 else x for x in sentence] for sentence in gold]


def test_upos_accuracy_module_matches_the_function():
    rng = random.Random(0)
    gold = _sentences(rng, TAGS)
    pred = _noisy(rng, gold, TAGS)
    assert compute_metric("upos_accuracy", predictions=pred, references=gold) == tag_accuracy(gold, pred)


@pytest.mark.parametrize("strict", [False, True])
def test_entity_f1_module_matches_the_function(strict):
    rng = random.Random(1)
    gold = _sentences(rng, NER)
    pred = _noisy(rng, gold, NER)
    expected = entity_scores(gold, pred, strict_iob2=strict)
    assert compute_metric("entity_f1", predictions=pred, references=gold, strict_iob2=strict) == expected
    assert 0 < expected["f1"] < 1


@pytest.mark.parametrize("ignore_subtypes", [True, False])
def test_attachment_scores_module_matches_the_function(ignore_subtypes):
    rng = random.Random(2)
    gold_rels = _sentences(rng, RELS)
    gold_heads = [[rng.randint(0, len(s)) for _ in s] for s in gold_rels]
    pred_rels = _noisy(rng, gold_rels, RELS)
    pred_heads = [[rng.randint(0, len(h)) if rng.random() < 0.3 else x for x in h] for h in gold_heads]
    expected = attachment_scores(gold_heads, gold_rels, pred_heads, pred_rels, ignore_subtypes)
    result = compute_metric(
        "attachment_scores",
        predictions=[{"heads": h, "deprels": r} for h, r in zip(pred_heads, pred_rels)],
        references=[{"heads": h, "deprels": r} for h, r in zip(gold_heads, gold_rels)],
        ignore_subtypes=ignore_subtypes,
    )
    assert result == expected and expected["las"] < expected["uas"]


def test_classification_module_matches_the_function_and_hand_values():
    gold, pred = ["a", "a", "b", "c"], ["a", "b", "b", "b"]
    # F1: a = 2·1/(2+1) = 2/3, b = 2·1/(1+3) = 1/2, c = 0 → macro (2/3 + 1/2 + 0)/3 = 7/18.
    assert classification_scores(gold, pred) == {"accuracy": 0.5, "macro_f1": pytest.approx(7 / 18), "examples": 4}
    rng = random.Random(3)
    labels = ["sports", "travel", "health", "politics"]
    gold = [rng.choice(labels) for _ in range(200)]
    pred = [rng.choice(labels) if rng.random() < 0.5 else g for g in gold]
    expected = classification_scores(gold, pred)
    assert compute_metric("classification", predictions=pred, references=gold) == expected
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    assert expected["macro_f1"] == pytest.approx(sklearn_metrics.f1_score(gold, pred, average="macro"))
    with pytest.raises(ValueError, match="no examples"):
        classification_scores([], [])


def test_modules_load_offline_by_path_in_a_fresh_process():
    code = (
        "import evaluate\n"
        "from langadapt.evaluation.metrics import METRIC_NAMES, metric_path\n"
        "for name in METRIC_NAMES:\n"
        "    module = evaluate.load(metric_path(name))\n"
        "    assert module.name == name, module.name\n"
        "print(evaluate.load(metric_path('upos_accuracy') + '/upos_accuracy.py')"
        ".compute(predictions=[['A', 'B']], references=[['A', 'A']]))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_EVALUATE_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "{'accuracy': 0.5, 'words': 2}" in result.stdout


def test_unknown_metric_name():
    with pytest.raises(KeyError, match="unknown metric 'bleu'"):
        metric_path("bleu")
    assert set(METRIC_NAMES) == {p.parent.name for p in Path(metric_path("entity_f1")).parent.glob("*/*.py")}


def test_every_package_data_pattern_matches_a_file():
    """Each package-data glob in pyproject.toml names files that exist (a wheel would silently lack them)."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    for package, patterns in config["tool"]["setuptools"]["package-data"].items():
        root = REPO / "src" / package.replace(".", "/")
        for pattern in patterns:
            assert glob.glob(str(root / pattern)), f"package-data {package}: {pattern} matches no file"
