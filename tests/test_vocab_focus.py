"""FOCUS and its fastText model: overlap copies, convex sparsemax combinations, the same weights for the bias."""

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from langadapt.vocab import InitContext, InitOptions, build_plan, load_source_model, replace_vocabulary, train_fasttext
from langadapt.vocab.focus import FastTextMismatchError

fasttext = pytest.importorskip("fasttext")


@pytest.fixture(scope="module")
def setup(source_model_dir, target_tokenizer_dir, tiny_corpus_dir, tmp_path_factory):
    model, source_tokenizer, _ = load_source_model(str(source_model_dir))
    target_tokenizer = AutoTokenizer.from_pretrained(target_tokenizer_dir)
    path = tmp_path_factory.mktemp("fasttext") / "ft.bin"
    corpus = [tiny_corpus_dir / "myv.txt", tiny_corpus_dir / "sme.txt"]
    train_fasttext(corpus, target_tokenizer, path, dim=16, epochs=3, min_count=3)
    return model, source_tokenizer, target_tokenizer, path


def test_focus_rows_and_bias_use_the_same_weights(setup):
    model, source_tokenizer, target_tokenizer, path = setup
    options = InitOptions("focus", fasttext_model=str(path))
    context = InitContext(source_tokenizer, target_tokenizer, options)
    plan = build_plan(context, "focus")
    counts = plan.counts()
    assert counts["focus_copy"] > 100 and counts["focus"] > 10
    new, provenance = replace_vocabulary(model, source_tokenizer, target_tokenizer, options)
    embeddings, bias = model.get_input_embeddings().weight.detach(), model.lm_head.bias.detach()
    weights = torch.zeros(plan.vocab_size, plan.source_vocab_size)
    for new_ids, source_ids, values in plan._combo:
        weights.index_put_((new_ids, source_ids), values, accumulate=True)
    focus_ids = [i for i, m in enumerate(plan.methods) if m == "focus"]
    assert torch.allclose(weights[focus_ids].sum(1), torch.ones(len(focus_ids)), atol=1e-5)  # convex
    assert torch.allclose(new.get_input_embeddings().weight[focus_ids], weights[focus_ids] @ embeddings, atol=1e-5)
    assert torch.allclose(new.lm_head.bias[focus_ids], weights[focus_ids] @ bias, atol=1e-5)
    copies = [t for t in provenance["tokens"] if t["method"] == "focus_copy"]
    ids, source_ids = [t["id"] for t in copies], [t["source_id"] for t in copies]
    assert torch.equal(new.get_input_embeddings().weight[ids], embeddings[source_ids])
    assert torch.equal(new.lm_head.bias[ids], bias[source_ids])
    # rows too rare for fastText: RANDOM with the source's statistics (deepfocus), bias = source mean
    for token in provenance["tokens"]:
        if token["method"] == "random":
            assert token["group"] == "source"
    assert provenance["summary"]["focus_overlap_count"] >= counts["focus_copy"]


def test_ident_takes_precedence_over_focus(setup):
    model, source_tokenizer, target_tokenizer, path = setup
    _, provenance = replace_vocabulary(
        model, source_tokenizer, target_tokenizer, InitOptions("focus+ident", fasttext_model=str(path))
    )
    counts = provenance["summary"]["counts_per_method"]
    assert counts["ident"] > 100 and counts.get("focus_copy", 0) < counts["ident"]


def _train_fasttext(text: Path):
    """A tiny fastText model. fastText 0.9.2 now and then stops such a run with "Encountered NaN" (seen once in
    ~600 runs on a loaded machine, not reproduced alone; facebookresearch/fastText#1278): the run is retried."""
    for attempt in range(3):
        try:
            return fasttext.train_unsupervised(str(text), model="cbow", dim=8, epoch=1, minCount=1, thread=1)
        except RuntimeError as err:
            if "NaN" not in str(err) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def test_fasttext_of_another_tokenizer_is_refused(setup, tmp_path, tiny_corpus_dir):
    model, source_tokenizer, target_tokenizer, _ = setup
    other = tmp_path / "words.bin"
    text = tmp_path / "plain.txt"
    text.write_text((tiny_corpus_dir / "myv.txt").read_text(encoding="utf-8").replace(" ", " XX "), encoding="utf-8")
    _train_fasttext(text).save_model(str(other))
    with pytest.raises(FastTextMismatchError, match="tokenized with the target tokenizer"):
        replace_vocabulary(model, source_tokenizer, target_tokenizer, InitOptions("focus", fasttext_model=str(other)))


def test_focus_without_fasttext_source_is_an_error(setup):
    model, source_tokenizer, target_tokenizer, _ = setup
    with pytest.raises(ValueError, match="--fasttext_model"):
        replace_vocabulary(model, source_tokenizer, target_tokenizer, InitOptions("focus"))
