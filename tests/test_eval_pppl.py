"""Pseudo-perplexity: batched PLL equals one-mask-at-a-time, the l2r masking, the normalised figures, the recipe."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from transformers import XLMRobertaTokenizer

from langadapt.evaluation import PPPLArguments
from langadapt.evaluation import pppl as pppl_module
from langadapt.evaluation.pppl import (
    PPPLInputError,
    encode_text,
    masking_plan,
    read_texts,
    sentence_plls,
    split_windows,
)
from langadapt.layout import UNIT_RESULTS_FILE
from langadapt.recipes_loader import load_recipe

from .tiny_models import tiny_xlmr_mlm

LETTERS = "abcdefghijklmnopqrstuvwxyz"
TEXTS = ["abcde fg.", "hello abcde world", "x", "qqq abcdeabcde z."]


def _tokenizer() -> XLMRobertaTokenizer:
    # "▁ab" and "cd" are pieces, so "abcde" is cut into exactly three: ▁ab | cd | e.
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0), (".", -2.0)]
    vocab += [(c, -3.0) for c in LETTERS] + [("▁" + c, -2.5) for c in LETTERS]
    vocab += [("▁ab", -1.0), ("cd", -1.0), ("<mask>", 0.0)]
    return XLMRobertaTokenizer(vocab=vocab)


@pytest.fixture(scope="module")
def tokenizer():
    return _tokenizer()


@pytest.fixture(scope="module")
def model(tokenizer):
    model = tiny_xlmr_mlm(tokenizer, max_position_embeddings=64, seed=3)
    with torch.no_grad():
        model.lm_head.bias.normal_(0.0, 1.0)  # a non-uniform output layer
    return model.eval()


def _brute_force_pll(model, tokenizer, text: str, variant: str) -> float:
    """One masked copy per forward pass, the stock head on every position."""
    encoded = tokenizer(text)
    ids = encoded["input_ids"]
    words = encoded.word_ids()
    total = 0.0
    for position in range(1, len(ids) - 1):  # <s> and </s> are never scored
        masked = list(ids)
        masked[position] = tokenizer.mask_token_id
        later = position + 1
        while variant == "within_word_l2r" and words[later] is not None and words[later] == words[position]:
            masked[later] = tokenizer.mask_token_id
            later += 1
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([masked])).logits[0, position]
        total += logits.log_softmax(-1)[ids[position]].item()
    return total


@pytest.mark.parametrize("variant", ["original", "within_word_l2r"])
@pytest.mark.parametrize("batch_size", [1, 5, 1000])
def test_batched_pll_equals_one_mask_at_a_time(model, tokenizer, variant, batch_size):
    plls, stats = sentence_plls(model, tokenizer, TEXTS, variant, batch_size=batch_size)
    expected = [_brute_force_pll(model, tokenizer, text, variant) for text in TEXTS]
    assert plls == pytest.approx(expected, abs=1e-4)
    assert stats.pll_sum == pytest.approx(sum(expected), abs=1e-4)
    assert stats.tokens == sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in TEXTS)


def test_variants_differ_only_on_multi_piece_words(model, tokenizer):
    original, _ = sentence_plls(model, tokenizer, ["x y z", "abcde"], "original")
    l2r, _ = sentence_plls(model, tokenizer, ["x y z", "abcde"], "within_word_l2r")
    assert original[0] == pytest.approx(l2r[0], abs=1e-6) and abs(original[1] - l2r[1]) > 1e-5


def test_l2r_masks_exactly_the_later_pieces_of_the_word(model, tokenizer, monkeypatch):
    encoded = encode_text(tokenizer, "abcde fg")
    assert tokenizer.convert_ids_to_tokens(encoded.ids) == ["▁ab", "cd", "e", "▁f", "g"]
    assert masking_plan(encoded.word_of, "within_word_l2r") == [
        (0, [0, 1, 2]),
        (1, [1, 2]),
        (2, [2]),
        (3, [3, 4]),
        (4, [4]),
    ]
    assert masking_plan(encoded.word_of, "original") == [(i, [i]) for i in range(5)]
    seen = []
    real = pppl_module._target_log_probs

    def spy(model, input_ids, attention_mask, rows, columns, targets):
        seen.extend(zip(input_ids.tolist(), columns.tolist()))
        return real(model, input_ids, attention_mask, rows, columns, targets)

    monkeypatch.setattr(pppl_module, "_target_log_probs", spy)
    sentence_plls(model, tokenizer, ["abcde"], "within_word_l2r")
    ab, cd, m = *tokenizer.convert_tokens_to_ids(["▁ab", "cd"]), tokenizer.mask_token_id
    assert seen == [([0, m, m, m, 2], 1), ([0, ab, m, m, 2], 2), ([0, ab, cd, m, 2], 3)]


def test_word_normalised_figures_by_hand(tokenizer):
    # With a zero output layer every token has probability 1/V, so each figure has a closed form.
    model = tiny_xlmr_mlm(tokenizer, max_position_embeddings=64)
    with torch.no_grad():
        model.lm_head.decoder.weight.zero_()
        model.lm_head.bias.zero_()
    vocab = model.config.vocab_size
    # "abcde fg." = ▁ab cd e ▁f g . : 6 tokens, 2 words, 9 characters.
    _, stats = sentence_plls(model, tokenizer, ["abcde fg."], "original")
    metrics = stats.metrics()
    assert (metrics["tokens"], metrics["words"], metrics["chars"]) == (6, 2, 9)
    assert metrics["pll_sum"] == pytest.approx(-6 * math.log(vocab), rel=1e-5)
    assert metrics["pppl_token"] == pytest.approx(vocab, rel=1e-4)
    assert metrics["pppl_word"] == pytest.approx(vocab**3, rel=1e-4)  # exp(6 ln V / 2)
    assert metrics["bits_per_char"] == pytest.approx(6 * math.log2(vocab) / 9, rel=1e-5)


def test_special_tokens_in_text_are_context_never_targets(model, tokenizer):
    _, stats = sentence_plls(model, tokenizer, ["ab <mask> cd"], "original")
    pieces = tokenizer("ab <mask> cd", add_special_tokens=False)["input_ids"]
    assert tokenizer.mask_token_id in pieces
    assert stats.special_tokens_in_text == 1 and stats.tokens == len(pieces) - 1


def test_long_sentences_are_windowed_at_word_boundaries(model, tokenizer):
    assert split_windows([0, 0, 0, 1, 1, 2], 4) == [(0, 3), (3, 6)]
    assert split_windows([0, 0, 0, 0, 0, 1], 3) == [(0, 3), (3, 6)]  # one word longer than a window is cut
    assert split_windows([0, 1], 5) == [(0, 2)]
    text = "abcde fg hij klm"
    plls, stats = sentence_plls(model, tokenizer, [text], "original", max_length=6)
    assert stats.windowed_sentences == 1 and stats.tokens == len(
        tokenizer(text, add_special_tokens=False)["input_ids"]
    )
    assert math.isfinite(plls[0])


def test_empty_inputs_are_clear_errors(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(PPPLInputError, match="empty.txt: file is empty"):
        read_texts(str(empty))
    blank = tmp_path / "blank.tsv"
    blank.write_text("index_id\tcategory\ttext\n1\tsports\t \n", encoding="utf-8")
    with pytest.raises(PPPLInputError, match="blank.tsv: no non-blank text"):
        read_texts(str(blank))
    with pytest.raises(ValueError, match=r"no column\(s\) \['sentence'\]"):
        read_texts(str(blank), text_column="sentence")


def test_recipe_writes_one_results_json_per_language_and_variant(model, tokenizer, tmp_path):
    model_dir = tmp_path / "tiny-mlm"
    model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    tsv = tmp_path / "test.tsv"
    tsv.write_text('index_id\tcategory\ttext\n1\tsports\t"abcde ""fg"""\n2\ttravel\thello world\n', encoding="utf-8")
    txt = tmp_path / "dev.txt"
    txt.write_text("abcde fg.\n\nx y\n", encoding="utf-8")
    args = PPPLArguments(
        model_name_or_path=str(model_dir),
        texts=[f"xx={tsv}", f"yy={txt}"],
        batch_size=4,
        output_dir=str(tmp_path / "runs"),
        device="cpu",
    )
    paths = load_recipe("pppl").main(args)
    assert [p.relative_to(tmp_path / "runs").parts[:4] for p in paths] == [
        ("tiny-mlm", "pppl", "original", "xx"),
        ("tiny-mlm", "pppl", "within_word_l2r", "xx"),
        ("tiny-mlm", "pppl", "original", "yy"),
        ("tiny-mlm", "pppl", "within_word_l2r", "yy"),
    ]
    record = json.loads(paths[2].read_text(encoding="utf-8"))
    plls, _ = sentence_plls(model, tokenizer, ["abcde fg.", "x y"], "original")
    assert record["task"] == "pppl" and record["variant"] == "original" and record["language"] == "yy"
    assert record["metrics"]["sentences"] == 2 and record["metrics"]["words"] == 4
    assert record["metrics"]["pll_sum"] == pytest.approx(sum(plls), abs=1e-4)
    assert record["metrics"]["pppl_word"] == pytest.approx(math.exp(-sum(plls) / 4), rel=1e-4)
    assert json.loads(paths[0].read_text(encoding="utf-8"))["metrics"]["words"] == 4  # 'abcde "fg"' + 'hello world'
    lines = (paths[2].parent / "sentence_plls.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "index\tpll" and len(lines) == 3
    mtime = paths[0].stat().st_mtime_ns
    load_recipe("pppl").main(args)  # resumable: existing units are skipped
    assert paths[0].stat().st_mtime_ns == mtime


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="variants must be among"):
        PPPLArguments(model_name_or_path="m", texts=["xx=a.txt"], variants=["l2r"])
    with pytest.raises(ValueError, match="texts is required"):
        PPPLArguments(model_name_or_path="m")


def test_config_parses():
    (args,) = (
        load_recipe("pppl").make_parser().parse([str(Path(__file__).parents[1] / "recipes/configs/kg/pppl.yaml")])
    )
    assert args.variants == ["original", "within_word_l2r"] and args.texts[0].endswith("est_Latn/test.tsv")


def _pppl_record(model: str, lang: str, variant: str, word: float) -> dict:
    metrics = {"pppl_word": word, "bits_per_char": word / 10, "pppl_token": word / 2}
    return {"task": "pppl", "variant": variant, "language": lang, "seed": None, "model": model, "metrics": metrics}


def test_report_makes_pppl_tables_with_the_lowest_bolded(tmp_path):
    from langadapt import write_json
    from langadapt.evaluation.report import pppl_tables

    records = [
        _pppl_record("full-vocab", "myv", "original", 30.0),
        _pppl_record("replaced-16k", "myv", "original", 20.0),
        _pppl_record("full-vocab", "myv", "within_word_l2r", 50.0),
        _pppl_record("replaced-16k", "myv", "within_word_l2r", 60.0),
    ]
    tables = pppl_tables(records)
    assert len(tables) == 6 and tables[0].title.startswith("pppl (original) — word-normalised PPPL")
    assert ("replaced-16k", "myv") in tables[0].bold() and ("full-vocab", "myv") not in tables[0].bold()
    assert ("full-vocab", "myv") in tables[3].bold()  # l2r: the full vocabulary is lower
    assert "| replaced-16k | **20.00** |" in tables[0].to_markdown()  # no "(1 seed)": PPPL is deterministic
    for k, record in enumerate(records + [{**_pppl_record("x", "myv", "original", 1.0), "task": "pos"}]):
        if record["task"] == "pos":
            record = {
                "task": "pos",
                "language": "myv",
                "regime": "full",
                "seed": 1,
                "model": "x",
                "metric": "accuracy",
                "metrics": {"accuracy": 0.5},
            }
        write_json(tmp_path / "runs" / str(k) / UNIT_RESULTS_FILE, record)
    report = load_recipe("report")
    written = report.main(
        report.ReportArguments(results_dirs=[str(tmp_path / "runs")], output_prefix=str(tmp_path / "r"))
    )
    markdown = written[0].read_text(encoding="utf-8")
    assert "### pos (full) — accuracy" in markdown and "### pppl (within_word_l2r) — bits per character" in markdown
    assert len([p for p in written if p.suffix == ".csv" and "_fig_" not in p.name]) == 1 + 6  # pos + 2×3 pppl
