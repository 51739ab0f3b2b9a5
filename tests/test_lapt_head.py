"""--train_head: under adapter modes, a model saved without an MLM head (a sentence encoder such as
multilingual-e5-small: a BertModel checkpoint) trains its new head's transform and output bias, saved, loaded and
resumed with the adapter; FLOPs count the head as trained or frozen; the card says which."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer, BertConfig, BertForMaskedLM, BertModel, XLMRobertaConfig, XLMRobertaForMaskedLM

from langadapt.adapters import BottleneckConfig, count_adapter_parameters
from langadapt.lapt import FlopCounter, LaptArguments
from langadapt.lapt.head import head_parameters, missing_head_keys, resolve_train_head
from langadapt.lapt.modes import load_merged_lapt_adapter
from langadapt.layout import LAPT_RESULTS_FILE, TRAINABLE_BASE_FILE
from langadapt.recipes_loader import load_recipe

from .lapt_helpers import parse_lapt, tiny_lapt_argv

HIDDEN, LAYERS = 32, 2
HEAD_KEYS = {"cls.predictions.bias", "cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
             "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias"}  # fmt: skip


def tiny_bert_config(vocab_size: int) -> BertConfig:
    # e5-small's layout (BERT layers, XLM-R tokenizer, tied embeddings) at the tests' tiny size, without dropout.
    return BertConfig(vocab_size=vocab_size, hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=4,
                      intermediate_size=64, max_position_embeddings=130, pad_token_id=1, type_vocab_size=2,
                      hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, tie_word_embeddings=True)  # fmt: skip


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory, source_model_dir) -> Path:
    """A tiny BertModel checkpoint (no MLM head), like the converted multilingual-e5-small."""
    directory = tmp_path_factory.mktemp("headless") / "encoder"
    tokenizer = AutoTokenizer.from_pretrained(source_model_dir)
    torch.manual_seed(0)
    BertModel(tiny_bert_config(len(tokenizer)), add_pooling_layer=False).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def lapt():
    return load_recipe("lapt")


def head_count(vocab_size: int) -> int:
    return HIDDEN * HIDDEN + HIDDEN + 2 * HIDDEN + vocab_size  # transform dense + LayerNorm + output bias


# --- building blocks ------------------------------------------------------------------------------------------
def test_head_parameters_exclude_the_output_projection():
    bert = BertForMaskedLM(tiny_bert_config(50))
    assert set(head_parameters(bert)) == HEAD_KEYS
    config = XLMRobertaConfig(vocab_size=50, hidden_size=HIDDEN, num_hidden_layers=1, num_attention_heads=4,
                              intermediate_size=64, tie_word_embeddings=False)  # fmt: skip
    untied = XLMRobertaForMaskedLM(config)
    assert "lm_head.decoder.weight" not in head_parameters(untied)  # the untied vocabulary matrix: too big
    assert "lm_head.decoder.bias" in head_parameters(untied) and "lm_head.dense.weight" in head_parameters(untied)
    keys = ["cls.predictions.bias", "cls.predictions.transform.dense.weight", "bert.pooler.dense.weight"]
    assert missing_head_keys(bert, keys) == keys[:2]


def test_train_head_choices():
    assert resolve_train_head("auto", head_missing=True) and not resolve_train_head("auto", head_missing=False)
    assert resolve_train_head("true", False) and not resolve_train_head("false", True)
    with pytest.raises(ValueError, match="train_head must be auto, true or false, got 'yes'"):
        LaptArguments(train_head="yes")


def test_flop_counter_counts_head_transform_and_projection_separately():
    d, vocab, projected = 768, 250_002, 5
    counter = FlopCounter(d, 3072, 12, vocab)
    counter.add_batch(batch=4, length=8, projected=projected, body_trains=False, head_trains=True,
                      output_projection_trains=False)  # fmt: skip
    assert counter.head == projected * (3 * 2 * d * d + 2 * 2 * d * vocab)
    both = FlopCounter(d, 3072, 12, vocab)
    both.add_batch(batch=4, length=8, projected=projected, body_trains=False)  # default: the whole head trains
    assert both.head == 3 * both.head_forward(projected)


# --- through recipes/lapt.py ------------------------------------------------------------------------------------
def test_seq_bn_on_an_encoder_without_head_trains_the_new_heads_transform(
    lapt, encoder_dir, tiny_corpus_dir, tmp_path
):
    out = tmp_path / "seq_bn"
    argv = tiny_lapt_argv(encoder_dir, tiny_corpus_dir, out, lapt_mode="seq_bn", max_steps=4, learning_rate=1e-2)
    results = lapt.main(*parse_lapt(argv))
    vocab = results["vocab_size"]
    adapter = count_adapter_parameters(BottleneckConfig.from_preset("seq_bn"), HIDDEN, LAYERS)["total"]
    assert results["trainable_parameters"] == adapter + head_count(vocab)
    head = results["mlm_head"]
    assert head["train_head"] == "auto" and head["trains"] and not head["output_projection_trains"]
    assert HEAD_KEYS <= set(head["missing_from_checkpoint"]) and head["trainable_parameters"] == head_count(vocab)
    # The head's transform and bias are saved beside the adapter; the embeddings (= output projection) are not.
    best = out / "best"
    extra = load_file(str(best / TRAINABLE_BASE_FILE))
    assert set(extra) == HEAD_KEYS
    # Loaded onto a fresh base (whose new head is random again), the trained head comes back.
    model = load_merged_lapt_adapter(best)
    params = dict(model.named_parameters())
    assert all(torch.equal(params[k], v) for k, v in extra.items())
    base = load_file(str(encoder_dir / "model.safetensors"))
    assert torch.equal(model.bert.embeddings.word_embeddings.weight, base["embeddings.word_embeddings.weight"])
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    card = (best / "README.md").read_text()
    assert "| MLM head | new (the base checkpoint has none); transform and output bias trained" in card
    # FLOPs: the transform trained (×3), the frozen output projection only passed gradients on (×2).
    flops = results["flops"]["this_session"]
    positions = flops["projected_positions"]
    assert flops["head"] == positions * (3 * 2 * HIDDEN * HIDDEN + 2 * 2 * HIDDEN * vocab)


def test_train_head_false_keeps_the_random_head_frozen(lapt, encoder_dir, tiny_corpus_dir, tmp_path, capsys):
    out = tmp_path / "frozen"
    argv = tiny_lapt_argv(encoder_dir, tiny_corpus_dir, out, lapt_mode="seq_bn", train_head="false", max_steps=2)
    results = lapt.main(*parse_lapt(argv))  # setup_logging sends the recipe's log to stdout
    adapter = count_adapter_parameters(BottleneckConfig.from_preset("seq_bn"), HIDDEN, LAYERS)["total"]
    assert results["trainable_parameters"] == adapter and not results["mlm_head"]["trains"]
    assert "stays frozen at random values" in capsys.readouterr().out
    assert not (out / "best" / TRAINABLE_BASE_FILE).exists()
    # Regression: a frozen head was counted as trained (×3) under adapters; it only passes gradients on (×2).
    flops = results["flops"]["this_session"]
    assert flops["head"] == 2 * FlopCounter(HIDDEN, 64, LAYERS, results["vocab_size"]).head_forward(
        flops["projected_positions"]
    )
    assert "| MLM head | new (the base checkpoint has none); frozen |" in (out / "README.md").read_text()


def test_train_head_true_on_a_pretrained_head(lapt, source_model_dir, tiny_corpus_dir, tmp_path):
    out = tmp_path / "forced"
    argv = tiny_lapt_argv(source_model_dir, tiny_corpus_dir, out, lapt_mode="seq_bn", train_head="true", max_steps=2)
    results = lapt.main(*parse_lapt(argv))
    assert results["mlm_head"]["missing_from_checkpoint"] == [] and results["mlm_head"]["trains"]
    extra = load_file(str(out / "best" / TRAINABLE_BASE_FILE))
    assert set(extra) == {"lm_head.bias", "lm_head.dense.weight", "lm_head.dense.bias", "lm_head.layer_norm.weight",
                          "lm_head.layer_norm.bias"}  # fmt: skip


def test_resumed_seq_bn_inv_run_with_a_new_head_ends_where_an_uninterrupted_one_ends(
    lapt, encoder_dir, tiny_corpus_dir, tmp_path
):
    full = tmp_path / "uninterrupted"
    options = {"lapt_mode": "seq_bn_inv", "learning_rate": 1e-2}
    lapt.main(*parse_lapt(tiny_lapt_argv(encoder_dir, tiny_corpus_dir, full, **options)))
    resumed = tmp_path / "resumed"
    shutil.copytree(full, resumed)
    shutil.rmtree(resumed / "checkpoint-6")
    results = lapt.main(*parse_lapt(tiny_lapt_argv(encoder_dir, tiny_corpus_dir, resumed, resume=True, **options)))
    assert results["resumed_from"].endswith("checkpoint-4") and results["mlm_head"]["trains"]
    a = load_file(str(full / "checkpoint-6" / TRAINABLE_BASE_FILE))
    b = load_file(str(resumed / "checkpoint-6" / TRAINABLE_BASE_FILE))
    assert set(a) == HEAD_KEYS and all(torch.equal(a[k], b[k]) for k in a)


def test_lora_on_an_encoder_without_head_saves_and_merges_the_trained_head(
    lapt, encoder_dir, tiny_corpus_dir, tmp_path
):
    pytest.importorskip("peft")
    out = tmp_path / "lora"
    argv = tiny_lapt_argv(encoder_dir, tiny_corpus_dir, out, lapt_mode="lora", max_steps=2, learning_rate=1e-2)
    results = lapt.main(*parse_lapt(argv))
    assert results["mlm_head"]["trains"]
    extra = load_file(str(out / "best" / TRAINABLE_BASE_FILE))
    assert set(extra) == HEAD_KEYS
    merged = load_merged_lapt_adapter(out / "best")
    params = dict(merged.named_parameters())
    assert all(torch.equal(params[k], v) for k, v in extra.items())
    meta = json.loads((out / LAPT_RESULTS_FILE).read_text())
    assert meta["config"]["train_head"] == "auto"
