"""Bottleneck language adapters (langadapt.adapters): config checks, placement, exactness, training, save/load and
the `adapters` library's checkpoint format, on tiny random BERT / XLM-R models."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import BertConfig, BertForMaskedLM, XLMRobertaConfig, XLMRobertaForMaskedLM
from transformers.activations import gelu

from langadapt.adapters import (
    BottleneckConfig,
    add_adapter,
    count_adapter_parameters,
    is_adapter_parameter,
    load_adapter,
    remove_adapter,
    save_adapter,
    set_active_adapters,
    train_adapters,
)
from langadapt.adapters.config import adapter_forward_flops
from langadapt.adapters.inject import active_adapters, list_adapters
from langadapt.adapters.invertible import NICECouplingBlock
from langadapt.layout import ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE

HIDDEN, LAYERS, VOCAB = 32, 2, 100


def tiny_xlmr(seed: int = 0, **overrides) -> XLMRobertaForMaskedLM:
    torch.manual_seed(seed)
    options = dict(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=4,
                   intermediate_size=64, max_position_embeddings=40, type_vocab_size=1)  # fmt: skip
    options.update(overrides)
    model = XLMRobertaForMaskedLM(XLMRobertaConfig(**options))
    with torch.no_grad():
        model.lm_head.bias.normal_(0.0, 0.5)
    return model.eval()


def tiny_bert(seed: int = 0) -> BertForMaskedLM:
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=40)  # fmt: skip
    return BertForMaskedLM(config).eval()


@pytest.fixture
def input_ids() -> torch.Tensor:
    return torch.randint(3, VOCAB, (3, 11), generator=torch.Generator().manual_seed(1))


def logits_of(model, ids) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids).logits


def randomize_adapters(model, std: float = 0.3, seed: int = 2) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if is_adapter_parameter(name):
                param.copy_(torch.randn(param.shape, generator=generator) * std)


# --- config ---------------------------------------------------------------------------------------------------
def test_parameter_count_is_analytic_for_xlmr_base():
    seq_bn = count_adapter_parameters(BottleneckConfig.from_preset("seq_bn"), hidden_size=768, num_layers=12)
    assert seq_bn == {"bottleneck": 12 * 74_544, "invertible": 0, "total": 12 * 74_544}
    inv = count_adapter_parameters(BottleneckConfig.from_preset("seq_bn_inv"), hidden_size=768, num_layers=12)
    assert inv["invertible"] == 296_064 and inv["total"] == 12 * 74_544 + 296_064


@pytest.mark.parametrize(
    "config",
    [
        BottleneckConfig.from_preset("seq_bn"),
        BottleneckConfig.from_preset("seq_bn_inv", leave_out=[1]),
        BottleneckConfig.from_preset("double_seq_bn", reduction_factor={"0": 2, "default": 8}),
        BottleneckConfig(ln_before=True, ln_after=True, scaling="channel", reduction_factor=4),
    ],
)
def test_instantiated_parameters_equal_the_analytic_count(config):
    model = tiny_xlmr()
    add_adapter(model, "lang", config)
    placed = sum(p.numel() for n, p in model.named_parameters() if is_adapter_parameter(n, "lang"))
    assert placed == count_adapter_parameters(config, HIDDEN, LAYERS)["total"]


def test_config_that_does_not_fit_the_model_names_field_and_values():
    model = tiny_xlmr()
    with pytest.raises(ValueError, match=r"reduction_factor=5 does not divide the model's hidden_size=32"):
        add_adapter(model, "lang", BottleneckConfig(reduction_factor=5))
    with pytest.raises(ValueError, match=r"leave_out: layer indices \[2\] do not exist.*num_hidden_layers=2"):
        add_adapter(model, "lang", BottleneckConfig(leave_out=[0, 2]))
    with pytest.raises(ValueError, match=r"inv_adapter_reduction_factor=3 does not divide half .*hidden_size=32"):
        add_adapter(model, "lang", BottleneckConfig.from_preset("seq_bn_inv", inv_adapter_reduction_factor=3))
    assert list_adapters(model) == {}  # nothing half-placed


def test_invalid_config_values_are_refused():
    with pytest.raises(ValueError, match="unknown adapter preset 'lora'"):
        BottleneckConfig.from_preset("lora")
    with pytest.raises(ValueError, match=r"inv_adapter: 'glow' is not supported"):
        BottleneckConfig(inv_adapter="glow", inv_adapter_reduction_factor=2)
    with pytest.raises(ValueError, match="non_linearity: unknown activation 'relux'"):
        BottleneckConfig(non_linearity="relux")
    with pytest.raises(ValueError, match="is_parallel=True is not supported"):
        BottleneckConfig.from_adapters_dict({"is_parallel": True}, where="x.json")
    with pytest.raises(ValueError, match=r"x.json: unknown adapter config fields \['r'\]"):
        BottleneckConfig.from_adapters_dict({"r": 8}, where="x.json")


# --- forward: the base model at step 0, the inverse, stacking ------------------------------------------------
@pytest.mark.parametrize("preset", ["seq_bn", "seq_bn_inv"])
def test_bert_init_stays_close_to_the_base_model(preset, input_ids):
    model = tiny_xlmr()
    base = logits_of(model, input_ids)
    add_adapter(model, "lang", BottleneckConfig.from_preset(preset))
    difference = (logits_of(model, input_ids) - base).abs().max().item()
    assert 0.0 < difference < 0.05 * base.abs().max().item()


@pytest.mark.parametrize("make_model", [tiny_xlmr, tiny_bert])
@pytest.mark.parametrize("preset", ["seq_bn", "seq_bn_inv", "double_seq_bn_inv"])
def test_zero_initialised_up_projection_equals_the_base_model_exactly(make_model, preset, input_ids):
    model = make_model()
    with torch.no_grad():
        base = model(input_ids=input_ids, output_hidden_states=True)
    add_adapter(model, "lang", BottleneckConfig.from_preset(preset, zero_init_up_projection=True))
    with torch.no_grad():
        adapted = model(input_ids=input_ids, output_hidden_states=True)
    assert torch.equal(adapted.logits, base.logits)
    assert all(torch.equal(a, b) for a, b in zip(adapted.hidden_states, base.hidden_states))


def test_nice_inverse_undoes_the_forward_to_float_precision():
    block = NICECouplingBlock(HIDDEN, "relu", 2)
    randomize_adapters(torch.nn.ModuleDict({"invertible_adapters": torch.nn.ModuleDict({"x": block})}), std=0.5)
    x = torch.randn(4, 7, HIDDEN)
    y = block(x)
    assert (y - x).abs().max() > 0.1  # a real transformation
    torch.testing.assert_close(block(y, rev=True), x, rtol=0, atol=1e-5)
    rows = x.reshape(-1, HIDDEN)  # the masked-only head passes [positions, hidden]
    torch.testing.assert_close(block(block(rows), rev=True), rows, rtol=0, atol=1e-5)
    block64 = block.double()
    assert (block64(block64(x.double()), rev=True) - x.double()).abs().max() < 1e-12


def test_inverse_runs_between_head_transform_and_decoder(input_ids):
    model = tiny_xlmr()
    add_adapter(model, "lang", BottleneckConfig.from_preset("seq_bn_inv"))
    randomize_adapters(model)
    block = model.roberta.invertible_adapters["lang"]
    with torch.no_grad():
        hidden = model.roberta(input_ids=input_ids)[0]
        head = model.lm_head
        transformed = head.layer_norm(gelu(head.dense(hidden)))
        expected = torch.nn.functional.linear(block(transformed, rev=True), head.decoder.weight, head.decoder.bias)
        embedded = model.roberta.embeddings(input_ids=input_ids)
        word = model.roberta.embeddings.word_embeddings(input_ids)
    torch.testing.assert_close(logits_of(model, input_ids), expected, rtol=0, atol=1e-5)
    assert not torch.allclose(embedded, word)  # the forward coupling ran on the embedding output
    assert model.lm_head.decoder.weight is model.roberta.embeddings.word_embeddings.weight  # still tied


def test_stacked_task_adapter_with_zero_output_leaves_the_language_adapter_output(input_ids):
    model = tiny_xlmr()
    add_adapter(model, "lang", BottleneckConfig.from_preset("seq_bn_inv"))
    randomize_adapters(model)
    lang_only = logits_of(model, input_ids)
    add_adapter(model, "task", BottleneckConfig(zero_init_up_projection=True), set_active=False)
    set_active_adapters(model, ["lang", "task"])
    assert active_adapters(model) == ["lang", "task"]
    assert torch.equal(logits_of(model, input_ids), lang_only)
    set_active_adapters(model, ["task", "lang"])  # the first adapter's invertible adapter runs: task has none
    assert not torch.allclose(logits_of(model, input_ids), lang_only)
    with pytest.raises(KeyError, match="no adapter named 'other'"):
        set_active_adapters(model, ["other"])


def test_remove_adapter_restores_the_model(input_ids):
    model = tiny_xlmr()
    keys, base = list(model.state_dict()), logits_of(model, input_ids)
    add_adapter(model, "lang", BottleneckConfig.from_preset("seq_bn_inv"))
    randomize_adapters(model)
    remove_adapter(model, "lang")
    assert list(model.state_dict()) == keys
    assert torch.equal(logits_of(model, input_ids), base)
    assert not model.roberta.embeddings._forward_hooks and not model.lm_head.decoder._forward_pre_hooks
    assert "forward" not in vars(model.roberta.encoder.layer[0].output)


def test_model_without_bert_style_layers_is_refused():
    with pytest.raises(ValueError, match="has no encoder.layer list"):
        add_adapter(torch.nn.Linear(2, 2), "lang", BottleneckConfig())


# --- training -------------------------------------------------------------------------------------------------
def test_only_adapter_parameters_change_in_training(input_ids):
    model = tiny_xlmr()
    add_adapter(model, "lang", BottleneckConfig.from_preset("seq_bn_inv"))
    train_adapters(model, "lang")
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(is_adapter_parameter(n, "lang") for n in trainable)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(2):
        loss = model(input_ids=input_ids, labels=input_ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    for name, param in model.named_parameters():
        assert torch.equal(param, before[name]) != (name in trainable), name


# --- save / load ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("file_format", ["langadapt", "adapters"])
def test_save_load_round_trip_is_bit_exact(tmp_path, input_ids, file_format):
    model = tiny_xlmr()
    add_adapter(model, "lang", BottleneckConfig.from_preset("seq_bn_inv", leave_out=[0]))
    randomize_adapters(model)
    save_adapter(model, tmp_path, "lang", base_model_name_or_path="tiny-xlmr", format=file_format)
    fresh = tiny_xlmr()
    assert load_adapter(fresh, tmp_path, name="sme") == "sme"
    ours = {k.replace(".lang.", ".sme."): v for k, v in model.state_dict().items()}
    assert ours.keys() == fresh.state_dict().keys()
    assert all(torch.equal(ours[k], v) for k, v in fresh.state_dict().items())
    assert torch.equal(logits_of(fresh, input_ids), logits_of(model, input_ids))
    if file_format == "langadapt":
        meta = json.loads((tmp_path / ADAPTER_CONFIG_FILE).read_text())
        assert meta["base_model"] == {"name_or_path": "tiny-xlmr", "model_type": "xlm-roberta", "hidden_size": 32,
                                      "num_hidden_layers": 2, "vocab_size": 100}  # fmt: skip
        assert meta["config"]["leave_out"] == [0]
        assert (tmp_path / ADAPTER_WEIGHTS_FILE).stat().st_size < 20_000


def test_loading_onto_the_wrong_base_model_names_field_and_values(tmp_path):
    model = tiny_xlmr()
    add_adapter(model, "lang", BottleneckConfig(reduction_factor=4))
    save_adapter(model, tmp_path / "own", "lang")
    save_adapter(model, tmp_path / "lib", "lang", format="adapters")
    cases = [
        ({"vocab_size": 120}, "own", r"vocab_size=100, but this model has vocab_size=120: wrong base model"),
        ({"num_hidden_layers": 3}, "own", r"num_hidden_layers=2, but this model has num_hidden_layers=3"),
        ({"hidden_size": 48}, "own", r"hidden_size=32, but this model has hidden_size=48"),
        ({"hidden_size": 48}, "lib", r"hidden_size=32, but this model has hidden_size=48"),
        ({"num_hidden_layers": 1}, "lib", r"weights for layer 1 .* this model has num_hidden_layers=1"),
    ]
    for overrides, directory, message in cases:
        with pytest.raises(ValueError, match=message):
            load_adapter(tiny_xlmr(**overrides), tmp_path / directory)


def test_resume_overwrites_weights_of_the_same_adapter_and_refuses_another_config(tmp_path):
    model = tiny_xlmr()
    add_adapter(model, "lang", BottleneckConfig())
    randomize_adapters(model)
    save_adapter(model, tmp_path, "lang")
    target = tiny_xlmr()
    add_adapter(target, "lang", BottleneckConfig())
    load_adapter(target, tmp_path)
    assert torch.equal(target.roberta.encoder.layer[1].output.adapters["lang"].adapter_up.weight,
                       model.roberta.encoder.layer[1].output.adapters["lang"].adapter_up.weight)  # fmt: skip
    other = tiny_xlmr()
    add_adapter(other, "lang", BottleneckConfig(reduction_factor=4))
    with pytest.raises(ValueError, match="already has an adapter 'lang' with a different config"):
        load_adapter(other, tmp_path)


# The `adapter_config.json` that `adapters` 1.3.0 writes for `SeqBnInvConfig()` (saved from an XLM-R model).
ADAPTERS_LIBRARY_CONFIG = {
    "config": {"adapter_residual_before_ln": False, "cross_adapter": False, "dropout": 0.0, "factorized_phm_W": True,
               "factorized_phm_rule": False, "hypercomplex_nonlinearity": "glorot-uniform", "init_weights": "bert",
               "init_weights_seed": None, "inv_adapter": "nice", "inv_adapter_reduction_factor": 2,
               "is_parallel": False, "learn_phm": True, "leave_out": [], "ln_after": False, "ln_before": False,
               "mh_adapter": False, "non_linearity": "relu", "original_ln_after": True, "original_ln_before": True,
               "output_adapter": True, "phm_bias": True, "phm_c_init": "normal", "phm_dim": 4,
               "phm_init_range": 0.0001, "phm_layer": False, "phm_rank": 1, "reduction_factor": 16,
               "residual_before_ln": True, "scaling": 1.0, "shared_W_phm": False, "shared_phm_rule": True,
               "stochastic_depth": 0.0, "use_gating": False},
    "hidden_size": HIDDEN, "model_class": "XLMRobertaAdapterModel", "model_name": "tiny", "model_type": "xlm-roberta",
    "name": "sme", "version": "adapters.1.3.0",
}  # fmt: skip


def adapters_library_weights(legacy: bool = False) -> dict[str, torch.Tensor]:
    """Weights named as `adapters` saves them (``roberta.`` prefix; adapter-transformers v1 names if legacy)."""
    generator = torch.Generator().manual_seed(3)
    layer_part, inv_part = ("layer_text_lang_adapters", "invertible_lang_adapters") if legacy else (
        "adapters", "invertible_adapters")  # fmt: skip
    shapes = {}
    for i in range(LAYERS):
        stem = f"roberta.encoder.layer.{i}.output.{layer_part}.sme."
        shapes |= {stem + "adapter_down.0.weight": (2, HIDDEN), stem + "adapter_down.0.bias": (2,),
                   stem + "adapter_up.weight": (HIDDEN, 2), stem + "adapter_up.bias": (HIDDEN,)}  # fmt: skip
    for subnet in ("F", "G"):
        stem = f"roberta.{inv_part}.sme.{subnet}."
        shapes |= {
            stem + "0.weight": (8, 16),
            stem + "0.bias": (8,),
            stem + "2.weight": (16, 8),
            stem + "2.bias": (16,),
        }
    return {k: torch.randn(s, generator=generator) for k, s in shapes.items()}


@pytest.mark.parametrize("legacy", [False, True])
def test_adapters_library_checkpoint_loads_with_its_weight_names(tmp_path, input_ids, legacy):
    weights = adapters_library_weights(legacy)
    torch.save(weights, tmp_path / "pytorch_adapter.bin")
    config = json.loads(json.dumps(ADAPTERS_LIBRARY_CONFIG))
    if legacy:  # adapter-transformers: no "version", and "gelu" then meant gelu_new
        del config["version"]
        config["config"]["non_linearity"] = "gelu"
    (tmp_path / "adapter_config.json").write_text(json.dumps(config))
    model = tiny_xlmr()
    assert load_adapter(model, tmp_path) == "sme"
    assert list_adapters(model)["sme"].non_linearity == ("gelu_new" if legacy else "relu")
    params = dict(model.named_parameters())
    for key, value in weights.items():
        ours = key.replace("layer_text_lang_adapters", "adapters").replace(
            "invertible_lang_adapters", "invertible_adapters"
        )
        assert torch.equal(params[ours], value), key
    assert torch.isfinite(logits_of(model, input_ids)).all()


def test_adapters_library_checkpoint_with_other_methods_is_refused(tmp_path):
    weights = adapters_library_weights()
    weights["roberta.encoder.layer.0.attention.self.query.loras.sme.lora_A"] = torch.zeros(8, HIDDEN)
    torch.save(weights, tmp_path / "pytorch_adapter.bin")
    (tmp_path / "adapter_config.json").write_text(json.dumps(ADAPTERS_LIBRARY_CONFIG))
    with pytest.raises(ValueError, match=r"have no place in the model's adapter 'sme'"):
        load_adapter(tiny_xlmr(), tmp_path)


def test_forward_flops_count_matmuls_of_bottlenecks_and_nice():
    flops = adapter_forward_flops(BottleneckConfig.from_preset("seq_bn_inv"), hidden_size=768, num_layers=12)
    nice = 2 * 2 * (384 * 192 + 192 * 384)
    assert flops == {"per_token": 12 * 2 * 2 * 768 * 48 + nice, "per_projected": nice}
