"""LAPT modes seq_bn / seq_bn_inv through recipes/lapt.py on a tiny model: what trains, what is saved, resume,
loading the output, FLOPs, card, and the [KG] recipe configs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

from langadapt.adapters import BottleneckConfig, count_adapter_parameters
from langadapt.adapters.inject import list_adapters
from langadapt.lapt import FlopCounter, load_lapt_bottleneck
from langadapt.lapt.modes import is_adapter_dir, load_merged_lapt_adapter
from langadapt.layout import ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, TRAINABLE_BASE_FILE

from .lapt_helpers import parse_lapt, tiny_lapt_argv

ROOT = Path(__file__).resolve().parents[1]
HIDDEN, LAYERS = 32, 2  # the tiny source model's shape (tests/tiny_models.py)


def adapter_weights(directory: Path) -> dict[str, torch.Tensor]:
    return load_file(str(directory / ADAPTER_WEIGHTS_FILE))


def test_seq_bn_trains_only_the_adapter_and_saves_it_alone(lapt, lapt_model_dir, tiny_corpus_dir, tmp_path):
    out = tmp_path / "seq_bn"
    argv = tiny_lapt_argv(lapt_model_dir, tiny_corpus_dir, out, lapt_mode="seq_bn", train_embeddings="false",
                          max_steps=4, learning_rate=1e-2)  # fmt: skip
    results = lapt.main(*parse_lapt(argv))
    analytic = count_adapter_parameters(BottleneckConfig.from_preset("seq_bn"), HIDDEN, LAYERS)["total"]
    assert results["trainable_parameters"] == analytic == 2 * (32 * 2 + 2 + 2 * 32 + 32)
    best = out / "best"
    assert (best / ADAPTER_CONFIG_FILE).is_file() and not (best / "model.safetensors").exists()
    assert not (best / TRAINABLE_BASE_FILE).exists()  # embeddings did not train
    meta = json.loads((best / ADAPTER_CONFIG_FILE).read_text())
    assert meta["base_model"]["name_or_path"] == str(lapt_model_dir) and meta["config"]["reduction_factor"] == 16
    assert is_adapter_dir(best)
    # The adapter moved away from its init; loaded onto the base model it is the one the checkpoint holds.
    step = results["best_step"]
    saved = adapter_weights(out / f"checkpoint-{step}")
    assert saved.keys() == adapter_weights(best).keys()
    model = load_merged_lapt_adapter(best)
    assert list(list_adapters(model)) == ["lang"]
    params = dict(model.roberta.named_parameters())
    assert all(torch.equal(params[k], v) for k, v in saved.items())
    assert any(v.abs().max() > 0.05 for k, v in saved.items() if "adapter_up.weight" in k)  # trained, not N(0,.02)
    card = (best / "README.md").read_text()
    assert "load_lapt_bottleneck" in card and "cannot be merged" in card


def test_seq_bn_inv_with_replaced_vocabulary_trains_embeddings_and_head(
    lapt, lapt_model_dir, tiny_corpus_dir, tmp_path
):
    out = tmp_path / "seq_bn_inv"
    argv = tiny_lapt_argv(lapt_model_dir, tiny_corpus_dir, out, lapt_mode="seq_bn_inv", max_steps=2)
    results = lapt.main(*parse_lapt(argv))
    assert results["masked_only_head"] is True
    best = out / "best"
    extra = load_file(str(best / TRAINABLE_BASE_FILE))  # train_embeddings auto + provenance: they trained
    tied = {"roberta.embeddings.word_embeddings.weight", "lm_head.decoder.weight"}  # saved once, under either name
    assert len(tied & extra.keys()) == 1 and "lm_head.dense.weight" in extra
    assert not any(".encoder." in k for k in extra)  # the body stayed frozen
    assert any(k.startswith("invertible_adapters.lang.") for k in adapter_weights(best))
    base = load_file(str(lapt_model_dir / "model.safetensors"))
    model = load_merged_lapt_adapter(best)
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in base.items() if ".encoder." in k)
    assert not torch.equal(state["roberta.embeddings.word_embeddings.weight"],
                           base.get("roberta.embeddings.word_embeddings.weight", base.get("lm_head.decoder.weight")))  # fmt: skip
    assert model.lm_head.decoder.weight is model.roberta.embeddings.word_embeddings.weight


def test_resumed_seq_bn_inv_run_ends_where_an_uninterrupted_one_ends(lapt, lapt_model_dir, tiny_corpus_dir, tmp_path):
    full = tmp_path / "uninterrupted"
    options = {"lapt_mode": "seq_bn_inv", "learning_rate": 1e-2}
    lapt.main(*parse_lapt(tiny_lapt_argv(lapt_model_dir, tiny_corpus_dir, full, **options)))
    resumed = tmp_path / "resumed"
    shutil.copytree(full, resumed)
    shutil.rmtree(resumed / "checkpoint-6")  # "interrupted" after the step-4 checkpoint
    results = lapt.main(*parse_lapt(tiny_lapt_argv(lapt_model_dir, tiny_corpus_dir, resumed, resume=True, **options)))
    assert results["resumed_from"].endswith("checkpoint-4") and results["steps"] == 6
    for name in (ADAPTER_WEIGHTS_FILE, TRAINABLE_BASE_FILE):
        a, b = load_file(str(full / "checkpoint-6" / name)), load_file(str(resumed / "checkpoint-6" / name))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name


def test_bottleneck_adapters_cannot_be_merged(lapt, lapt_model_dir, tiny_corpus_dir, tmp_path):
    argv = tiny_lapt_argv(lapt_model_dir, tiny_corpus_dir, tmp_path / "x", lapt_mode="seq_bn", merge_adapters=True)
    with pytest.raises(ValueError, match="cannot be merged into the base weights"):
        lapt.main(*parse_lapt(argv))


def test_loading_onto_another_base_model_fails_clearly(lapt, lapt_model_dir, tiny_corpus_dir, tmp_path):
    out = tmp_path / "seq_bn"
    lapt.main(*parse_lapt(tiny_lapt_argv(lapt_model_dir, tiny_corpus_dir, out, lapt_mode="seq_bn", max_steps=2)))
    config = XLMRobertaConfig.from_pretrained(lapt_model_dir)
    config.vocab_size = 500
    other = XLMRobertaForMaskedLM(config)
    with pytest.raises(ValueError, match="vocab_size=1000, but this model has vocab_size=500"):
        load_lapt_bottleneck(other, out / "best")


def test_flop_counter_counts_the_adapter_as_trained():
    plain = FlopCounter(768, 3072, 12, 250_002)
    adapted = FlopCounter(768, 3072, 12, 250_002, adapter_per_token=1000.0, adapter_per_projected=10.0)
    for counter in (plain, adapted):
        counter.add_batch(batch=4, length=8, projected=5, body_trains=False)
    assert adapted.body - plain.body == 3 * 4 * 8 * 1000.0
    assert adapted.head - plain.head == 3 * 5 * 10.0


KG_LAPT_CONFIGS = sorted((ROOT / "recipes" / "configs" / "kg").glob("lapt_*.yaml"))


def test_kg_lapt_configs_are_found():
    assert len(KG_LAPT_CONFIGS) >= 3  # seq_bn, seq_bn_inv and lora at least: a moved folder must not pass silently


@pytest.mark.parametrize("config", KG_LAPT_CONFIGS, ids=lambda path: path.stem)
def test_kg_recipe_configs_keep_the_papers_settings(config):
    _, lapt_args, training_args = parse_lapt([str(config)])
    assert config.stem == f"lapt_{lapt_args.lapt_mode}"  # lapt_<mode>.yaml
    assert training_args.learning_rate == 1e-4
    assert training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps == 16
    assert training_args.max_steps == 100_000 and training_args.eval_strategy == "steps"
    if lapt_args.lapt_mode == "lora":
        assert (lapt_args.lora_r, lapt_args.lora_alpha, lapt_args.adapter_target_modules) == (8, 8, ["query", "value"])
    elif lapt_args.lapt_mode.startswith("seq_bn"):
        assert lapt_args.bottleneck_reduction_factor == 16 and lapt_args.bottleneck_non_linearity == "relu"


def test_masked_only_head_gives_the_stock_loss_with_the_inverse_applied():
    from langadapt.adapters import add_adapter, is_adapter_parameter
    from langadapt.lapt import disable_masked_only_head, enable_masked_only_head
    from langadapt.lapt.masked_head import mlm_loss

    torch.manual_seed(0)
    config = XLMRobertaConfig(vocab_size=50, hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=4,
                              intermediate_size=64, max_position_embeddings=40, type_vocab_size=1)  # fmt: skip
    model = XLMRobertaForMaskedLM(config).eval()
    add_adapter(model, "lang", BottleneckConfig.from_preset("seq_bn_inv"))
    with torch.no_grad():  # a NICE block far from the identity, so a skipped inverse would show
        for name, param in model.named_parameters():
            if is_adapter_parameter(name):
                param.normal_(0.0, 0.5)
    ids = torch.randint(3, 50, (2, 9), generator=torch.Generator().manual_seed(1))
    labels = torch.full_like(ids, -100)
    labels[:, ::3] = ids[:, ::3]
    with torch.no_grad():
        stock = model(input_ids=ids).logits
        assert enable_masked_only_head(model)
        masked = model(input_ids=ids, labels=labels)
        disable_masked_only_head(model)
    torch.testing.assert_close(masked.logits, stock[labels != -100], rtol=0, atol=1e-5)
    torch.testing.assert_close(masked.loss, mlm_loss(stock.view(-1, 50), labels.view(-1)), rtol=1e-6, atol=1e-6)
