"""Sequence classification (--task classify) end to end on SIB-200-like files written here, and its bad input."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from langadapt import LangadaptParser
from langadapt.evaluation import EvalDataArguments, EvalModelArguments, FinetuneArguments, get_task
from langadapt.evaluation.classification import TextExample, encode_texts, load_examples
from langadapt.evaluation.sources import DataSpec, DataSpecError
from langadapt.layout import UNIT_RESULTS_FILE
from langadapt.recipes_loader import load_recipe

from .test_eval_finetune import _tiny_tokenizer
from .tiny_models import tiny_xlmr_mlm

finetune = load_recipe("finetune")

TOPICS = {"sports": "ball goal", "travel": "train road", "health": "doctor pill"}


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tiny_xlmr_classify")
    tokenizer = _tiny_tokenizer()
    tiny_xlmr_mlm(tokenizer, max_position_embeddings=64).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _write_sib(path: Path, count: int, seed: int, labels=tuple(TOPICS)) -> Path:
    """SIB-200's layout: index_id, category, text (quoted where the text holds a quote)."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t")
        writer.writerow(["index_id", "category", "text"])
        for k in range(count):
            label = labels[k % len(labels)]
            words = [rng.choice("abcdefgh") * rng.randint(1, 3) for _ in range(rng.randint(1, 4))]
            writer.writerow([k, label, " ".join([*words, TOPICS.get(label, "odd"), '"q"'])])
    return path


def _args(argv: list[str]):
    return LangadaptParser((EvalDataArguments, EvalModelArguments, FinetuneArguments)).parse(argv)


COMMON = [
    *("--num_train_epochs", "2", "--per_device_train_batch_size", "8", "--learning_rate", "1e-3"),
    *("--seeds", "1", "--use_cpu", "true", "--logging_steps", "1", "--eval_every_epochs", "1"),
]


def _hand_scores(rows: list[dict]) -> tuple[float, float]:
    """Accuracy and macro-F1 (over classes in gold or predicted) from a predictions file, by hand."""
    accuracy = sum(r["gold"] == r["predicted"] for r in rows) / len(rows)
    f1s = []
    for label in sorted({r["gold"] for r in rows} | {r["predicted"] for r in rows}):
        tp = sum(r["gold"] == r["predicted"] == label for r in rows)
        fp = sum(r["predicted"] == label != r["gold"] for r in rows)
        fn = sum(r["gold"] == label != r["predicted"] for r in rows)
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return accuracy, sum(f1s) / len(f1s)


def test_classify_end_to_end_writes_hand_checkable_results(tiny_model_dir, tmp_path):
    train = _write_sib(tmp_path / "train.tsv", 30, 1)
    dev = _write_sib(tmp_path / "dev.tsv", 6, 2)
    test = _write_sib(tmp_path / "test.tsv", 9, 3)
    out = tmp_path / "runs"
    argv = [
        *("--task", "classify", "--model_name_or_path", str(tiny_model_dir), "--output_dir", str(out)),
        *("--train_data", f"xx={train}", "--dev_data", f"xx={dev}", "--test_data", f"xx={test}"),
        *("--save_model", "true", *COMMON),
    ]
    (path,) = finetune.main(*_args(argv))
    assert path == out / tiny_model_dir.name / "classify" / "full" / "xx" / "seed1" / UNIT_RESULTS_FILE
    results = json.loads(path.read_text(encoding="utf-8"))
    assert results["task"] == "classify" and results["metric"] == "macro_f1"
    assert (results["n_train"], results["n_dev"], results["n_test"]) == (30, 6, 9)
    assert results["labels"] == {"labels": ["health", "sports", "travel"]}
    assert results["encoding"]["test"] == {"texts": 9, "truncated_texts": 0, "empty_texts": 0, "unknown_labels": 0}
    with open(path.parent / "predictions.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) == 9 and rows[0]["source"] == f"{test}:2" and rows[0]["text"].endswith('"q"')
    accuracy, macro_f1 = _hand_scores(rows)
    assert results["metrics"]["accuracy"] == pytest.approx(accuracy)
    assert results["metrics"]["macro_f1"] == pytest.approx(macro_f1) and results["metrics"]["examples"] == 9
    assert results["best_dev"]["metric"] == "macro_f1" and results["best_dev"]["value"] is not None
    labels = json.loads((path.parent.parent / "seed1.model" / "labels.json").read_text(encoding="utf-8"))
    assert labels == {"task": "classify", "labels": ["health", "sports", "travel"]}


def test_score_by_hand():
    task = get_task("classify")
    examples = [TextExample("t", label, "f:1") for label in ["a", "a", "b", "c"]]
    scores = task.score(examples, {"labels": ["a", "b", "b", "b"]}, options=None)
    # a: F1 2/3; b: 2·1/(1+3) = 1/2; c: 0 → macro 7/18; accuracy 2/4.
    assert scores == {"accuracy": 0.5, "macro_f1": pytest.approx(7 / 18), "examples": 4}


def test_few_shot_and_zero_shot_regimes(tiny_model_dir, tmp_path):
    eng = _write_sib(tmp_path / "eng.tsv", 24, 4)
    est = _write_sib(tmp_path / "est.tsv", 6, 5)
    out = tmp_path / "runs"
    argv = [
        *("--task", "classify", "--model_name_or_path", str(tiny_model_dir), "--output_dir", str(out)),
        *("--train_data", f"eng={eng}", "--test_data", f"est={est}", "--regime", "zero_shot", "--dev_size", "6"),
        *COMMON,
    ]
    (path,) = finetune.main(*_args(argv))
    results = json.loads(path.read_text(encoding="utf-8"))
    assert results["regime"] == "zero_shot" and results["train_languages"] == ["eng"] and results["n_train"] == 18
    argv = [a if a != "zero_shot" else "few_shot" for a in argv] + ["--few_shot_size", "9", "--seeds", "1", "2"]
    paths = finetune.main(*_args(argv))
    assert [json.loads(p.read_text())["n_train"] for p in paths] == [9, 9]


def test_unseen_test_label_is_counted_and_scored_as_an_error(tiny_model_dir, tmp_path, capsys):
    train = _write_sib(tmp_path / "train.tsv", 24, 1)
    test = _write_sib(tmp_path / "test.tsv", 4, 2, labels=("sports", "politics"))
    argv = [
        *("--task", "classify", "--model_name_or_path", str(tiny_model_dir), "--output_dir", str(tmp_path / "r")),
        *("--train_data", f"xx={train}", "--test_data", f"xx={test}", "--dev_size", "6", "--max_length", "6"),
        *COMMON,
    ]
    (path,) = finetune.main(*_args(argv))  # logs to stdout (the recipe's logging setup)
    results = json.loads(path.read_text(encoding="utf-8"))
    assert results["encoding"]["test"]["unknown_labels"] == 2  # the two "politics" texts
    assert results["encoding"]["train"]["truncated_texts"] > 0  # max_length 6: long texts keep 4 tokens
    assert "texts are longer than max_length=6 tokens and were truncated (first:" in capsys.readouterr().out
    with open(path.parent / "predictions.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert all(r["predicted"] != "politics" for r in rows)
    assert results["metrics"]["accuracy"] <= 0.5 and results["metrics"]["macro_f1"] == pytest.approx(
        _hand_scores(rows)[1]
    )


def test_truncation_is_counted(tiny_model_dir):
    tokenizer = _tiny_tokenizer()
    examples = [TextExample("abc def ghi", "a", "f:2"), TextExample("ab", "b", "f:3"), TextExample("", "a", "f:4")]
    encoded, stats = encode_texts(examples, tokenizer, max_length=5, label2id={"a": 0})
    assert [len(e.windows[0]) for e in encoded] == [5, 4, 2] and encoded[1].label == -100
    assert (stats.truncated_texts, stats.empty_texts, stats.unknown_labels) == (1, 1, 1)


def test_bad_classification_input(tmp_path):
    no_label = tmp_path / "no_label.tsv"
    no_label.write_text("index_id\ttext\n1\thello\n", encoding="utf-8")
    with pytest.raises(DataSpecError, match=r"no_label.tsv: no label column .*header \['index_id', 'text'\]"):
        load_examples(DataSpec("xx", (str(no_label),)))
    empty_label = tmp_path / "empty_label.tsv"
    empty_label.write_text("index_id\tcategory\ttext\n1\tsports\thello\n2\t \tworld\n", encoding="utf-8")
    with pytest.raises(DataSpecError, match=r"empty_label.tsv:3: empty label \(column 'category'\)"):
        load_examples(DataSpec("xx", (str(empty_label),)))
    sentiment = tmp_path / "sentiment.csv"
    sentiment.write_text("sentence,polarity\ngood,pos\nbad,neg\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"no column\(s\) \['text'\]"):
        load_examples(DataSpec("xx", (f"{sentiment}?label=polarity",)))
    examples = load_examples(DataSpec("xx", (f"{sentiment}?text=sentence&label=polarity",)))
    assert [(e.text, e.label, e.source) for e in examples] == [
        ("good", "pos", f"{sentiment}:2"),
        ("bad", "neg", f"{sentiment}:3"),
    ]
    with pytest.raises(DataSpecError, match="must be a .tsv/.csv file"):
        load_examples(DataSpec("xx", (str(tmp_path / "x.txt"),)))
    with pytest.raises(ValueError, match="at least 2 labels"):
        get_task("classify").label_sets(examples[:1])


def test_hub_style_dataset_with_class_labels(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])}
    )
    datasets.Dataset.from_dict({"text": ["bad", "good"], "label": [0, 1]}, features=features).save_to_disk(
        tmp_path / "ds"
    )
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: datasets.load_from_disk(str(tmp_path / "ds")))
    examples = load_examples(DataSpec("xx", ("hf:some/sentiment?split=train",)))
    assert [(e.text, e.label) for e in examples] == [("bad", "neg"), ("good", "pos")]


def test_report_has_accuracy_and_macro_f1_tables_for_classification():
    from langadapt.evaluation import tables_by_task

    records = [
        {
            "task": "classify",
            "language": "est_Latn",
            "regime": "full",
            "seed": s,
            "model": "e5",
            "metric": "macro_f1",
            "metrics": {"accuracy": acc, "macro_f1": f1},
        }
        for s, acc, f1 in [(1, 0.80, 0.70), (2, 0.90, 0.80)]
    ]
    tables = tables_by_task(records)
    assert [t.title for t in tables] == ["classify (full) — accuracy", "classify (full) — macro_f1"]
    assert tables[1].cells["e5", "est_Latn"].mean == pytest.approx(75.0)
