"""MAD-X fine-tuning (--finetune_mode madx): a frozen language adapter, a trainable seq_bn task adapter and the task
head; the test language's adapter swapped in at test time (--test_language_adapter)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForMaskedLM

from langadapt.adapters import (
    BottleneckConfig,
    add_adapter,
    count_adapter_parameters,
    is_adapter_parameter,
    save_adapter,
)
from langadapt.adapters.inject import active_adapters
from langadapt.evaluation import (
    TASKS,
    EvalModelArguments,
    TaskOptions,
    load_encoder,
    setup_madx,
    use_language_adapter_for,
)
from langadapt.layout import ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, TRAINABLE_BASE_FILE
from langadapt.recipes_loader import load_recipe

from .test_eval_finetune import COMMON, _args, _sentences, _tiny_tokenizer, _write_conllu
from .tiny_models import tiny_xlmr_mlm

finetune = load_recipe("finetune")
HIDDEN, LAYERS = 32, 2


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("madx_base")
    tokenizer = _tiny_tokenizer()
    tiny_xlmr_mlm(tokenizer, max_position_embeddings=64).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _language_adapter(base_dir: Path, path: Path, preset: str, seed: int) -> Path:
    """A language adapter on the base model with weights far from the identity, so that swapping one shows."""
    model = AutoModelForMaskedLM.from_pretrained(base_dir)
    add_adapter(model, "lang", BottleneckConfig.from_preset(preset))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if is_adapter_parameter(name):
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    return save_adapter(model, path, "lang")


@pytest.fixture(scope="module")
def adapters(base_dir, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("madx_adapters")
    return {"sme": _language_adapter(base_dir, root / "sme", "seq_bn", 1),
            "est": _language_adapter(base_dir, root / "est", "seq_bn_inv", 2)}  # fmt: skip


def _madx_args(base_dir: Path, adapters: dict[str, Path], **overrides) -> EvalModelArguments:
    options = {"model_name_or_path": str(base_dir), "finetune_mode": "madx", "language_adapter": str(adapters["sme"]),
               "test_language_adapter": [f"est={adapters['est']}"], **overrides}  # fmt: skip
    return EvalModelArguments(**options)


def _pos_model(base_dir: Path):
    encoder, tokenizer = load_encoder(str(base_dir))
    return TASKS.get("pos").build_model(
        encoder, {"labels": ["ADJ", "NOUN", "PUNCT", "VERB"]}, TaskOptions()
    ), tokenizer


def test_madx_trains_only_the_task_adapter_and_head(base_dir, adapters):
    torch.manual_seed(0)
    model, tokenizer = _pos_model(base_dir)
    madx = setup_madx(model, _madx_args(base_dir, adapters), ["sme", "est"])
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("head.") or ".adapters.task." in n for n in trainable)
    task = count_adapter_parameters(BottleneckConfig.from_preset("seq_bn"), HIDDEN, LAYERS)["total"]
    head = sum(p.numel() for p in model.head.parameters())
    assert madx.trainable_parameters == task + head
    assert active_adapters(model.encoder) == ["lang", "task"]
    # One optimizer step changes the task adapter and the head, nothing else (frozen language adapter included).
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    batch = tokenizer(["abca tött .", "öka ma ."], return_tensors="pt", padding=True)
    hidden = model.encoder(**batch).last_hidden_state
    loss = model.head.classifier(hidden).logsumexp(-1).mean()
    loss.backward()
    optimizer.step()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and changed <= trainable
    assert any(".adapters.task." in n for n in changed) and any(n.startswith("head.") for n in changed)


def test_the_test_language_adapter_replaces_the_training_one(base_dir, adapters):
    model, tokenizer = _pos_model(base_dir)
    madx = setup_madx(model, _madx_args(base_dir, adapters), ["sme", "est", "fin"])
    model.eval()
    batch = tokenizer(["abca tött ."], return_tensors="pt")
    outputs = {}
    for language in ("sme", "est", "fin"):
        use_language_adapter_for(model, madx, language)
        outputs[language] = (active_adapters(model.encoder), model.encoder(**batch).last_hidden_state)
    assert outputs["sme"][0] == ["lang", "task"] and outputs["fin"][0] == ["lang", "task"]  # no adapter of its own
    assert outputs["est"][0] == ["lang_est", "task"]
    assert not torch.allclose(outputs["est"][1], outputs["sme"][1], atol=1e-3)
    torch.testing.assert_close(outputs["fin"][1], outputs["sme"][1], rtol=0, atol=0)


def test_recipe_runs_madx_and_swaps_the_adapter_per_test_language(base_dir, adapters, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    train = _write_conllu(data / "train.conllu", _sentences(24, 1))
    test = _write_conllu(data / "test.conllu", _sentences(6, 2))
    seen = {}
    score = finetune.score_test_set

    def recording_score(trainer, task, *, language, **kwargs):
        seen[language] = active_adapters(trainer.model.encoder)
        return score(trainer, task, language=language, **kwargs)

    monkeypatch.setattr(finetune, "score_test_set", recording_score)
    out = tmp_path / "runs"
    argv = ["--task", "pos", "--model_name_or_path", str(base_dir), "--finetune_mode", "madx",
            "--language_adapter", str(adapters["sme"]), "--test_language_adapter", f"est={adapters['est']}",
            "--train_data", f"sme={train}", "--test_data", f"sme={test}", f"est={test}", "--output_dir", str(out),
            "--save_model", "true", *COMMON]  # fmt: skip
    paths = finetune.main(*_args(argv))
    assert seen == {"sme": ["lang", "task"], "est": ["lang_est", "task"]}
    label = f"{base_dir.name}+madx-sme"  # not the label of a full fine-tuning of the same base model
    results = {p.parent.parent.name: json.loads(p.read_text()) for p in paths}
    assert all(p.is_relative_to(out / label) for p in paths)
    config = results["est"]["config"]  # what ran: the adapters and the mode
    assert config["finetune_mode"] == "madx" and config["language_adapter"] == str(adapters["sme"])
    assert config["test_language_adapter"] == [f"est={adapters['est']}"]
    # The saved model: the task adapter alone, and encoder weights other than it exactly as loaded.
    model_dir = out / label / "pos" / "full" / "sme" / "seed1.model"
    assert (model_dir / "task_adapter" / ADAPTER_CONFIG_FILE).is_file()
    saved = load_file(str(model_dir / "model.safetensors"))
    base = load_file(str(base_dir / "model.safetensors"))
    shared = [k for k in saved if not is_adapter_parameter(k) and f"roberta.{k}" in base]
    assert shared and all(torch.equal(saved[k], base[f"roberta.{k}"]) for k in shared)
    language = load_file(str(adapters["sme"] / ADAPTER_WEIGHTS_FILE))
    assert all(torch.equal(saved[k], v) for k, v in language.items())


def test_madx_argument_errors(base_dir, adapters, tmp_path):
    with pytest.raises(ValueError, match="--finetune_mode madx needs --language_adapter"):
        EvalModelArguments(model_name_or_path=str(base_dir), finetune_mode="madx")
    with pytest.raises(ValueError, match="need --finetune_mode madx"):
        EvalModelArguments(model_name_or_path=str(base_dir), language_adapter=str(adapters["sme"]))
    model, _ = _pos_model(base_dir)
    with pytest.raises(ValueError, match=r"names \['est'\], which are not test languages \(--test_data: sme\)"):
        setup_madx(model, _madx_args(base_dir, adapters), ["sme"])
    with pytest.raises(ValueError, match="expected LANG=PATH"):
        setup_madx(model, _madx_args(base_dir, adapters, test_language_adapter=["est"]), ["sme", "est"])
    # A language adapter trained with its embeddings (LAPT --train_embeddings) does not fit a shared base model.
    with_embeddings = tmp_path / "with_embeddings"
    _language_adapter(base_dir, with_embeddings, "seq_bn", 3)
    save_file({"roberta.embeddings.word_embeddings.weight": torch.zeros(2, 2), "lm_head.bias": torch.zeros(2)},
              str(with_embeddings / TRAINABLE_BASE_FILE))  # fmt: skip
    model, _ = _pos_model(base_dir)
    with pytest.raises(ValueError, match="trained together with base-model parameters"):
        setup_madx(model, _madx_args(base_dir, adapters, language_adapter=str(with_embeddings)), ["sme", "est"])
    # The base model must not carry the adapter already (a LAPT adapter output given as the model).
    model, _ = _pos_model(base_dir)
    add_adapter(model.encoder, "lang", BottleneckConfig.from_preset("seq_bn"))
    with pytest.raises(ValueError, match="already carries adapters"):
        setup_madx(model, _madx_args(base_dir, adapters), ["sme", "est"])
