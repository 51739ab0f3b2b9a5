"""LAPT settings settled at start from the model and the launch: max_grad_norm, max_seq_length, the global batch."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from transformers import BertConfig, TrainingArguments, XLMRobertaConfig

from langadapt import ConfigError
from langadapt.lapt import LaptTrainingArguments, fit_max_seq_length, resolve_max_grad_norm
from langadapt.lapt.settings import usable_positions
from langadapt.layout import PROVENANCE_FILE
from langadapt.recipes_loader import load_recipe

from .conftest import synthetic_lines, write_lines
from .lapt_helpers import parse_lapt, tiny_lapt_argv

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def lapt():
    return load_recipe("lapt")


@pytest.fixture(scope="module")
def replaced_dir(tmp_path_factory, source_model_dir) -> Path:
    """The tiny model marked as a replaced vocabulary (the provenance file vocabulary replacement writes)."""
    directory = tmp_path_factory.mktemp("replaced") / "model"
    shutil.copytree(source_model_dir, directory)
    (directory / PROVENANCE_FILE).write_text(json.dumps({"init_spec": "ident", "vocab_size": 1000}))
    return directory


def run_config(lapt, model_dir: Path, corpus_dir: Path, output_dir: Path, **overrides) -> dict:
    argv = tiny_lapt_argv(model_dir, corpus_dir, output_dir, max_steps=1, eval_steps=1, save_steps=1, **overrides)
    return lapt.main(*parse_lapt(argv))["config"]


# --- max_grad_norm: [ES]'s 1.0, 0.5 for a replaced vocabulary, unless the user sets it -----------------------
def test_max_grad_norm_default_follows_the_vocabulary(lapt, replaced_dir, source_model_dir, tiny_corpus_dir, tmp_path):
    assert run_config(lapt, replaced_dir, tiny_corpus_dir, tmp_path / "replaced")["max_grad_norm"] == 0.5
    assert run_config(lapt, source_model_dir, tiny_corpus_dir, tmp_path / "source")["max_grad_norm"] == 1.0
    # A value the user gives wins either way (even one equal to the other case's default).
    config = run_config(lapt, replaced_dir, tiny_corpus_dir, tmp_path / "explicit", max_grad_norm=1.0)
    assert config["max_grad_norm"] == 1.0


def test_resolve_max_grad_norm_keeps_explicit_values():
    class Args:
        max_grad_norm = None

    assert resolve_max_grad_norm(Args, vocab_replaced=True) == 0.5
    Args.max_grad_norm = None
    assert resolve_max_grad_norm(Args, vocab_replaced=False) == 1.0
    Args.max_grad_norm = 0.7
    assert resolve_max_grad_norm(Args, vocab_replaced=True) == 0.7 and resolve_max_grad_norm(Args, False) == 0.7


# --- max_seq_length: no longer than the model's position embeddings -----------------------------------------
def test_usable_positions_count_roberta_offset():
    assert usable_positions(XLMRobertaConfig(max_position_embeddings=514, pad_token_id=1)) == 512
    assert usable_positions(XLMRobertaConfig(max_position_embeddings=130, pad_token_id=1)) == 128
    assert usable_positions(BertConfig(max_position_embeddings=512)) == 512


def test_fit_max_seq_length_caps_and_warns_once(caplog):
    class Args:
        max_seq_length = 256

    config = XLMRobertaConfig(max_position_embeddings=130, pad_token_id=1)
    with caplog.at_level(logging.WARNING, logger="langadapt"):
        assert fit_max_seq_length(Args, config) == 128 and Args.max_seq_length == 128
        assert fit_max_seq_length(Args, config) == 128  # already within: no second warning
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "max_seq_length 256" in warning and "(128 = max_position_embeddings 130 - first position 2)" in warning
    Args.max_seq_length = 64
    assert fit_max_seq_length(Args, config) == 64  # shorter than the table: unchanged


@pytest.mark.parametrize("packing", [True, False])
def test_long_lines_beyond_the_positions_train_instead_of_crashing(lapt, source_model_dir, tmp_path, packing):
    # Lines of 150+ words are far more than the tiny model's 128 usable positions (130 embeddings, pad id 1).
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for language in ("myv", "sme"):
        lines = [" ".join([line] * 15) for line in synthetic_lines(language, 40, seed=3)]
        write_lines(corpus / f"{language}.txt", lines)
    config = run_config(lapt, source_model_dir, corpus, tmp_path / "out", max_seq_length=256, packing=packing)
    assert config["max_seq_length"] == 128


# --- the global batch a config states is the one it trains with ----------------------------------------------
@pytest.fixture
def eight_processes(monkeypatch):
    """A launch of 8 processes (accelerate launch with accelerate_configs/ddp.yaml), faked."""
    monkeypatch.setattr(TrainingArguments, "world_size", property(lambda self: 8))


def test_lapt_config_on_eight_processes_refuses_eight_times_the_batch(eight_processes):
    config = str(ROOT / "recipes" / "configs" / "uralic" / "lapt_full.yaml")
    with pytest.raises(ConfigError, match=r"global_batch_size is 200 but .* 200 x 8 processes x .* 1 = 1600.*"
                       r"--per_device_train_batch_size 25"):  # fmt: skip
        parse_lapt([config])
    _, _, training_args = parse_lapt([config, "--per_device_train_batch_size", "25"])
    assert training_args.world_size == 8 and training_args.global_batch_size == 200


def test_lapt_global_batch_counts_accumulation(eight_processes, tmp_path):
    with pytest.raises(ValueError, match=r"5 x 8 processes x gradient_accumulation_steps 4 = 160"):
        LaptTrainingArguments(output_dir=str(tmp_path), global_batch_size=200, per_device_train_batch_size=5,
                              gradient_accumulation_steps=4, use_cpu=True)  # fmt: skip
    args = LaptTrainingArguments(output_dir=str(tmp_path), global_batch_size=160, per_device_train_batch_size=5,
                                 gradient_accumulation_steps=4, use_cpu=True)  # fmt: skip
    assert args.global_batch_size == 160
    # Nothing stated, nothing checked.
    assert LaptTrainingArguments(output_dir=str(tmp_path), use_cpu=True).global_batch_size is None


def test_every_training_config_states_its_global_batch_size():
    configs = sorted((ROOT / "recipes" / "configs").glob("*/lapt_*.yaml"))
    configs += sorted((ROOT / "recipes" / "configs").glob("*/finetune_*.yaml"))
    assert len(configs) >= 10
    for config in configs:
        assert "\nglobal_batch_size: " in config.read_text(encoding="utf-8"), config
