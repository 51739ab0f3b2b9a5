"""End-to-end fine-tuning of each task on a tiny random XLM-R model, plus encoding, model loading and the recipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import XLMRobertaForMaskedLM, XLMRobertaTokenizer

from langadapt import LangadaptParser
from langadapt.evaluation import (
    TASKS,
    EvalDataArguments,
    EvalModelArguments,
    FinetuneArguments,
    WordCollator,
    encode_sentences,
    load_encoder,
)
from langadapt.evaluation.conllu import Sentence
from langadapt.evaluation.heads import pool_words
from langadapt.layout import UNIT_RESULTS_FILE
from langadapt.recipes_loader import RECIPES_DIR, load_recipe

from .tiny_models import tiny_xlmr_mlm

finetune = load_recipe("finetune")

LETTERS = "abcdefghijklmnopqrstuvwxyzäöõšžабвгдеклмнорстуя"
UPOS = ["NOUN", "VERB", "ADJ", "PUNCT"]


def _tiny_tokenizer() -> XLMRobertaTokenizer:
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0), (".", -2.0)]
    vocab += [(c, -3.0) for c in LETTERS] + [("▁" + c, -2.5) for c in LETTERS] + [("<mask>", 0.0)]
    return XLMRobertaTokenizer(vocab=vocab)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tiny_xlmr")
    tokenizer = _tiny_tokenizer()
    tiny_xlmr_mlm(tokenizer, max_position_embeddings=64).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _sentences(count: int, seed: int) -> list[Sentence]:
    """Synthetic sentences: word class decided by the last letter, a chain tree rooted at the verb."""
    gen = torch.Generator().manual_seed(seed)
    result = []
    for _ in range(count):
        n = int(torch.randint(3, 7, (1,), generator=gen))
        words, tags = [], []
        for _ in range(n):
            stem = "".join(LETTERS[int(i)] for i in torch.randint(0, 26, (3,), generator=gen))
            tag = UPOS[int(torch.randint(0, 3, (1,), generator=gen))]
            words.append(stem + {"NOUN": "a", "VERB": "t", "ADJ": "ö"}[tag])
            tags.append(tag)
        words.append(".")
        tags.append("PUNCT")
        heads = [0] + [i for i in range(1, len(words))]  # word 1 is the root; word i+1 depends on word i
        deprels = ["root"] + ["nmod:poss" if t == "NOUN" else "dep" for t in tags[1:]]
        result.append(Sentence(words, tags, heads, deprels))
    return result


def _write_conllu(path: Path, sentences: list[Sentence]) -> Path:
    with open(path, "w", encoding="utf-8") as out:
        for k, s in enumerate(sentences):
            out.write(f"# sent_id = {k}\n")
            for i, (w, t, h, r) in enumerate(zip(s.words, s.tags, s.heads, s.deprels), start=1):
                out.write(f"{i}\t{w}\t{w}\t{t}\t_\t_\t{h}\t{r}\t_\t_\n")
            out.write("\n")
    return path


def _write_ner(path: Path, count: int, seed: int) -> Path:
    gen = torch.Generator().manual_seed(seed)
    with open(path, "w", encoding="utf-8") as out:
        for _ in range(count):
            for _ in range(int(torch.randint(3, 7, (1,), generator=gen))):
                kind = int(torch.randint(0, 4, (1,), generator=gen))
                if kind == 0:
                    out.write("tallinn\tB-LOC\n")
                elif kind == 1:
                    out.write("mari\tB-PER\nkask\tI-PER\n")
                else:
                    out.write("ja\tO\n")
            out.write("\n")
    return path


@pytest.fixture(scope="module")
def ud_files(tmp_path_factory) -> dict[str, Path]:
    path = tmp_path_factory.mktemp("ud")
    return {
        "train": _write_conllu(path / "train.conllu", _sentences(24, 1)),
        "test": _write_conllu(path / "test.conllu", _sentences(6, 2)),
    }


def _args(argv: list[str]):
    return LangadaptParser((EvalDataArguments, EvalModelArguments, FinetuneArguments)).parse(argv)


COMMON = [
    "--num_train_epochs",
    "1",
    "--per_device_train_batch_size",
    "8",
    "--learning_rate",
    "1e-3",
    "--dev_size",
    "6",
    "--seeds",
    "1",
    "--use_cpu",
    "true",
    "--logging_steps",
    "1",
]


@pytest.mark.parametrize("task", ["pos", "parse"])
def test_end_to_end_ud(task, tiny_model_dir, ud_files, tmp_path):
    out = tmp_path / "runs"
    argv = [
        "--task",
        task,
        "--model_name_or_path",
        str(tiny_model_dir),
        "--train_data",
        f"xx={ud_files['train']}",
        "--test_data",
        f"xx={ud_files['test']}",
        "--output_dir",
        str(out),
        *COMMON,
    ]
    paths = finetune.main(*_args(argv))
    assert len(paths) == 1 and paths[0].is_file()
    assert paths[0] == out / tiny_model_dir.name / task / "full" / "xx" / "seed1" / UNIT_RESULTS_FILE
    results = json.loads(paths[0].read_text())
    assert (results["n_train"], results["n_dev"], results["n_test"]) == (18, 6, 6)
    assert results["dev_from_train"] is True and results["epochs_run"] == pytest.approx(1.0)
    assert results["best_dev"]["step"] == results["steps"] == 3 and results["best_dev"]["value"] is not None
    assert results["wall_time_s"] > 0 and results["config"]["learning_rate"] == 1e-3
    predicted = (paths[0].parent / "predictions.conllu").read_text().strip().split("\n\n")
    assert len(predicted) == 6
    if task == "parse":
        assert set(results["metrics"]) >= {"uas", "las"} and 0 <= results["metrics"]["las"] <= 1
        assert results["labels"]["relations"] == ["dep", "nmod:poss", "root"]
        for block in predicted:  # every predicted sentence is a tree with exactly one root dependent
            heads = [int(line.split("\t")[6]) for line in block.splitlines() if not line.startswith("#")]
            assert heads.count(0) == 1
    else:
        assert 0 <= results["metrics"]["accuracy"] <= 1 and results["labels"]["labels"] == sorted(UPOS)
    assert not any(p.name.endswith(".work") for p in paths[0].parent.parent.iterdir())  # checkpoints removed
    # Resumable: a rerun skips the unit and leaves the results file untouched.
    mtime = paths[0].stat().st_mtime_ns
    finetune.main(*_args(argv))
    assert paths[0].stat().st_mtime_ns == mtime


def test_end_to_end_ner_few_shot_two_seeds(tiny_model_dir, tmp_path):
    train = _write_ner(tmp_path / "train.tsv", 30, 1)
    dev = _write_ner(tmp_path / "dev.tsv", 5, 2)
    test = _write_ner(tmp_path / "test.tsv", 5, 3)
    out = tmp_path / "runs"
    argv = [
        "--task",
        "ner",
        "--model_name_or_path",
        str(tiny_model_dir),
        "--model_label",
        "tiny",
        "--train_data",
        f"et={train}",
        "--dev_data",
        f"et={dev}",
        "--test_data",
        f"et={test}",
        "--regime",
        "few_shot",
        "--few_shot_size",
        "10",
        "--output_dir",
        str(out),
        "--save_model",
        "true",
        *COMMON,
        "--seeds",
        "1",
        "2",
    ]
    paths = finetune.main(*_args(argv))
    assert [p.parent.name for p in paths] == ["seed1", "seed2"]
    for path in paths:
        results = json.loads(path.read_text())
        assert results["n_train"] == 10 and results["n_dev"] == 5 and not results["dev_from_train"]
        assert set(results["metrics"]) == {"precision", "recall", "f1", "accuracy"}
        lines = (path.parent / "predictions.tsv").read_text().splitlines()
        assert all(len(line.split("\t")) == 3 for line in lines if line)
    model_dir = out / "tiny" / "ner" / "few_shot" / "et" / "seed1.model"
    labels = json.loads((model_dir / "labels.json").read_text())
    assert labels == {"task": "ner", "labels": ["B-LOC", "B-PER", "I-PER", "O"]}
    assert json.loads((model_dir / "config.json").read_text())["id2label"]["3"] == "O"


def test_zero_shot_rejects_test_language_in_train(tiny_model_dir, ud_files, tmp_path):
    argv = [
        "--task",
        "pos",
        "--model_name_or_path",
        str(tiny_model_dir),
        "--regime",
        "zero_shot",
        "--train_data",
        f"xx={ud_files['train']}",
        "--test_data",
        f"xx={ud_files['test']}",
        "--output_dir",
        str(tmp_path),
        *COMMON,
    ]
    with pytest.raises(ValueError, match="zero_shot"):
        finetune.main(*_args(argv))


def test_encoding_windows_long_sentences_without_dropping_words(tiny_model_dir):
    tokenizer = _tiny_tokenizer()
    sentence = Sentence(["abc"] * 10 + ["abcdefghijklmnop"], ["NOUN"] * 11)
    encoded, stats = encode_sentences([sentence], tokenizer, max_length=8, label2id={"NOUN": 0})
    item = encoded[0]
    assert all(len(w) <= 8 for w in item.windows) and len(item.windows) > 1
    covered = {s for slots in item.slots for s in slots if s > 0}
    assert covered == set(range(1, 12))  # every word is encoded
    assert stats.windowed_sentences == 1 and stats.truncated_words == 1
    batch = WordCollator(tokenizer.pad_token_id)(encoded)
    assert batch["word_mask"].shape == (1, 11) and batch["input_ids"].shape[0] == len(item.windows)
    # Root slot 0 is the first window's <s>; pooled vectors of all 11 words are non-zero.
    hidden = torch.ones(*batch["input_ids"].shape, 4)
    pooled = pool_words(hidden, batch["token_word"], 1, 12)
    assert torch.all(pooled[0].abs().sum(-1) > 0)


def test_first_subword_pooling_marks_one_token_per_word():
    tokenizer = _tiny_tokenizer()
    encoded, _ = encode_sentences(
        [Sentence(["abc", "de"], ["X", "Y"])], tokenizer, 16, {"X": 0, "Y": 1}, None, pooling="first"
    )
    slots = encoded[0].slots[0]
    assert slots.count(1) == 1 and slots.count(2) == 1 and encoded[0].labels == [0, 1]


def test_unknown_test_label_is_counted_not_fatal():
    tokenizer = _tiny_tokenizer()
    _, stats = encode_sentences([Sentence(["abc", "de"], ["NOUN", "INTJ"])], tokenizer, 16, {"NOUN": 0})
    assert stats.unknown_labels == 1


def test_load_encoder_plain_and_peft_adapter(tiny_model_dir, tmp_path):
    peft = pytest.importorskip("peft")
    encoder, tokenizer = load_encoder(str(tiny_model_dir))
    assert encoder.config.hidden_size == 32 and tokenizer.pad_token_id == 1
    model = XLMRobertaForMaskedLM.from_pretrained(tiny_model_dir)
    lora = peft.get_peft_model(model, peft.LoraConfig(r=2, lora_alpha=4, target_modules=["query", "value"]))
    query = lora.base_model.model.roberta.encoder.layer[0].attention.self.query
    torch.nn.init.normal_(query.lora_B["default"].weight)  # B starts at zero: give this one adapter an effect
    lora.save_pretrained(tmp_path / "adapter")
    merged, _ = load_encoder(str(tmp_path / "adapter"))
    # Merged means W + B·A·(lora_alpha / r), exactly; the adapters whose B is still zero leave W as it was.
    base = encoder.encoder.layer[0].attention.self
    b, a = query.lora_B["default"].weight.detach(), query.lora_A["default"].weight.detach()
    assert query.scaling["default"] == 2.0
    expected = base.query.weight.detach() + 2.0 * b @ a
    assert not torch.allclose(expected, base.query.weight)
    torch.testing.assert_close(merged.encoder.layer[0].attention.self.query.weight.detach(), expected)
    torch.testing.assert_close(merged.encoder.layer[0].attention.self.value.weight, base.value.weight)
    torch.testing.assert_close(
        merged.encoder.layer[1].attention.self.query.weight, encoder.encoder.layer[1].attention.self.query.weight
    )


@pytest.mark.parametrize("config", sorted(RECIPES_DIR.glob("configs/*/finetune_*.yaml")), ids=lambda p: p.name)
def test_finetune_configs_parse(config):
    data_args, model_args, training_args = LangadaptParser(
        (EvalDataArguments, EvalModelArguments, FinetuneArguments)
    ).parse([str(config), "--model_name_or_path", "dummy"])
    assert data_args.task in TASKS and training_args.learning_rate > 0  # a registered task, however many there are


def test_early_stopping_and_best_checkpoint(tiny_model_dir, ud_files, tmp_path):
    # With lr 0 the dev metric never improves: the first evaluation stays best and patience 1 stops after two.
    argv = [
        *("--task", "pos", "--model_name_or_path", str(tiny_model_dir), "--output_dir", str(tmp_path)),
        *("--train_data", f"xx={ud_files['train']}", "--test_data", f"xx={ud_files['test']}", *COMMON),
        *("--num_train_epochs", "5", "--eval_every_epochs", "1", "--patience_epochs", "1", "--learning_rate", "0"),
    ]
    (path,) = finetune.main(*_args(argv))
    results = json.loads(path.read_text())
    assert results["steps"] == 6 and results["best_dev"]["step"] == 3 and results["epochs_run"] == pytest.approx(2)


def test_compact_vocabulary_is_the_same_run_and_saves_the_full_matrix(tiny_model_dir, ud_files, tmp_path):
    # The synthetic words use Latin letters only, so the Cyrillic rows are never read: compaction drops them.
    runs = {}
    for compact in ("true", "false"):
        out = tmp_path / compact
        argv = [
            *("--task", "pos", "--model_name_or_path", str(tiny_model_dir), "--output_dir", str(out)),
            *("--train_data", f"xx={ud_files['train']}", "--test_data", f"xx={ud_files['test']}", *COMMON),
            *("--num_train_epochs", "2", "--compact_vocabulary", compact, "--save_model", "true"),
        ]
        (path,) = finetune.main(*_args(argv))
        saved = path.parent.parent / "seed1.model"
        runs[compact] = (
            json.loads(path.read_text()),
            (path.parent / "predictions.conllu").read_text(),
            load_encoder(str(saved))[0].get_input_embeddings().weight.detach(),
        )
    (r_compact, p_compact, w_compact), (r_plain, p_plain, w_plain) = runs["true"], runs["false"]
    original = load_encoder(str(tiny_model_dir))[0].get_input_embeddings().weight.detach()
    assert r_compact["metrics"] == pytest.approx(r_plain["metrics"]) and p_compact == p_plain
    assert r_compact["train_loss"] == pytest.approx(r_plain["train_loss"], rel=1e-5)
    assert r_plain["embedding_rows_trained"] is None and 5 < r_compact["embedding_rows_trained"] < len(original)
    assert w_compact.shape == w_plain.shape == original.shape  # the saved model keeps the tokenizer's ids
    torch.testing.assert_close(w_compact, w_plain, atol=1e-5, rtol=1e-4)
    tokenizer = _tiny_tokenizer()
    cyrillic = tokenizer.convert_tokens_to_ids(["▁б", "д", "я"])
    latin = tokenizer.convert_tokens_to_ids(["▁a", "t"])
    assert torch.equal(w_compact[cyrillic], original[cyrillic])  # never read: unchanged
    assert not torch.allclose(w_compact[latin], original[latin])  # trained


def test_compact_input_embeddings_keeps_the_pad_id_and_remaps_windows(tiny_model_dir):
    from langadapt.evaluation import compact_input_embeddings, restore_input_embeddings
    from langadapt.evaluation.datasets import EncodedSentence

    encoder, _ = load_encoder(str(tiny_model_dir))
    original = encoder.get_input_embeddings().weight.detach().clone()
    items = [EncodedSentence([[0, 40, 7, 2], [0, 12, 2]], [[0, 1, 1, -1], [-1, 2, -1]], 2, [0, 1], [], [])]
    compact = compact_input_embeddings(encoder, [items], pad_token_id=1)
    assert compact.used_ids.tolist() == [0, 1, 2, 7, 12, 40]  # 0 and 1 kept: pad stays id 1 (RoBERTa positions)
    assert compact.remap(items)[0].windows == [[0, 5, 3, 2], [0, 4, 2]]
    embedding = encoder.get_input_embeddings()
    assert embedding.weight.shape == (6, original.shape[1]) and embedding.padding_idx == 1
    torch.testing.assert_close(embedding.weight.detach(), original[[0, 1, 2, 7, 12, 40]])
    with torch.no_grad():
        embedding.weight[3] += 1.0  # "training" moves row 3 = id 7
    restore_input_embeddings(encoder, compact)
    restored = encoder.get_input_embeddings().weight.detach()
    assert restored.shape == original.shape
    torch.testing.assert_close(restored[7], original[7] + 1.0)
    keep = torch.ones(len(original), dtype=torch.bool)
    keep[7] = False
    assert torch.equal(restored[keep], original[keep])
    assert compact_input_embeddings(encoder, [items], pad_token_id=5000) is None  # pad id too large: untouched
    too_big = [EncodedSentence([[0, len(original) + 3, 2]], [[0, 1, -1]], 1, [0], [], [])]
    with pytest.raises(ValueError, match="outside the encoder"):
        compact_input_embeddings(encoder, [too_big], pad_token_id=1)
