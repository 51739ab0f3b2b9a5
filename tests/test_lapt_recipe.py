"""recipes/lapt.py end to end on a tiny model: freezing, best checkpoint, resume, stability, adapters, DDP, card."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForMaskedLM

from langadapt.lapt.hub import PushToHubError
from langadapt.lapt.stability import NonFiniteLossError
from langadapt.layout import LAPT_RESULTS_FILE, PROVENANCE_FILE, TRAINABLE_BASE_FILE

from .lapt_helpers import parse_lapt, tiny_lapt_argv, weights

ROOT = Path(__file__).resolve().parents[1]
BODY = "roberta.encoder.layer.0.attention.self.query.weight"
EMB = "roberta.embeddings.word_embeddings.weight"


def test_paper_configs_keep_the_paper_defaults():
    # recipes/configs/uralic holds the papers' settings; the demo's configs are deliberately tiny.
    configs = sorted((ROOT / "recipes" / "configs" / "uralic").glob("lapt_*.yaml"))
    assert len(configs) >= 3
    for config in configs:
        _, lapt_args, training_args = parse_lapt([str(config)])
        assert training_args.max_steps == 100_000 and lapt_args.mlm_probability == 0.15


def test_full_mode_freezes_then_trains_and_keeps_best(lapt, lapt_model_dir, tiny_corpus_dir, tmp_path):
    out = tmp_path / "full"
    argv = tiny_lapt_argv(lapt_model_dir, tiny_corpus_dir, out, weight_decay=0.1, save_total_limit=10)
    results = lapt.main(*parse_lapt(argv))
    source, step2, step4 = weights(lapt_model_dir), weights(out / "checkpoint-2"), weights(out / "checkpoint-4")
    body_names = [n for n in source if ".encoder." in n]
    # Frozen phase (3 steps): the body is bit-identical (no weight decay, no stale moments); embeddings train.
    assert all(torch.equal(source[n], step2[n]) for n in body_names)
    assert not torch.equal(source[EMB], step2[EMB]) and not torch.equal(
        source["lm_head.dense.weight"], step2["lm_head.dense.weight"]
    )
    # After it, the optimizer really updates the body.
    assert all(not torch.equal(source[n], step4[n]) for n in body_names if n.endswith("weight"))
    # Best checkpoint = lowest dev loss, copied with tokenizer, provenance and card.
    curve = results["dev_loss_curve"]
    assert [c["step"] for c in curve] == [2, 4, 6]
    best = min(curve, key=lambda c: c["loss"])
    assert results["best_step"] == best["step"] and results["best_dev_loss"] == pytest.approx(best["loss"])
    best_w = weights(out / "best")
    assert all(torch.equal(best_w[n], weights(out / f"checkpoint-{best['step']}")[n]) for n in best_w)
    for name in ["tokenizer.json", "config.json", PROVENANCE_FILE, "README.md"]:
        assert (out / "best" / name).is_file(), name
    assert not (out / "best" / "optimizer.pt").exists()
    assert AutoModelForMaskedLM.from_pretrained(out / "best").config.vocab_size == 1000
    saved = json.loads((out / LAPT_RESULTS_FILE).read_text())
    assert saved["steps"] == 6 and saved["flops"]["total"] > 0 and saved["masked_only_head"] is True
    assert saved["flops"]["this_session"]["projected_positions"] < saved["flops"]["this_session"]["tokens"]
    card = (out / "README.md").read_text()
    assert "script+posn+ident" in card and f"{results['best_dev_loss']:.4f}" in card and "| mode | full |" in card


def test_emb_mode_keeps_body_bit_identical(lapt, lapt_model_dir, tiny_corpus_dir, tmp_path):
    out = tmp_path / "emb"
    lapt.main(*parse_lapt(tiny_lapt_argv(lapt_model_dir, tiny_corpus_dir, out, lapt_mode="emb", weight_decay=0.1)))
    source, final = weights(lapt_model_dir), weights(out / "checkpoint-6")
    assert all(torch.equal(source[n], final[n]) for n in source if ".encoder." in n or "token_type" in n)
    for name in [
        EMB,
        "roberta.embeddings.position_embeddings.weight",
        "roberta.embeddings.LayerNorm.weight",
        "lm_head.dense.weight",
        "lm_head.bias",
    ]:
        assert not torch.equal(source[name], final[name]), name


def test_resume_ends_where_an_uninterrupted_run_ends(lapt, lapt_model_dir, tiny_corpus_dir, tmp_path):
    full = tmp_path / "uninterrupted"
    lapt.main(*parse_lapt(tiny_lapt_argv(lapt_model_dir, tiny_corpus_dir, full, log_batches=True)))
    resumed = tmp_path / "resumed"
    shutil.copytree(full, resumed)
    shutil.rmtree(resumed / "checkpoint-6")  # "interrupted" after the step-4 checkpoint
    (resumed / "lapt_rank0_draws.json").unlink()
    results = lapt.main(
        *parse_lapt(tiny_lapt_argv(lapt_model_dir, tiny_corpus_dir, resumed, resume=True, log_batches=True))
    )
    assert results["resumed_from"].endswith("checkpoint-4") and results["steps"] == 6
    a, b = weights(full / "checkpoint-6"), weights(resumed / "checkpoint-6")
    assert all(torch.equal(a[n], b[n]) for n in a)
    draws = json.loads((full / "lapt_rank0_draws.json").read_text())
    assert json.loads((resumed / "lapt_rank0_draws.json").read_text()) == draws[16:]  # steps 5–6 of batch 4
    assert [c["step"] for c in results["dev_loss_curve"]] == [2, 4, 6]


class NaNInjector:
    """Wraps AutoModelForMaskedLM so that chosen training forwards produce NaN embeddings."""

    def __init__(self, bad_calls: set[int] | None):
        self.bad_calls, self.calls = bad_calls, 0

    def from_pretrained(self, *args, **kwargs):
        loaded = AutoModelForMaskedLM.from_pretrained(*args, **kwargs)
        model = loaded[0] if isinstance(loaded, tuple) else loaded  # the recipe asks for output_loading_info

        def hook(module, inputs, output):
            if not module.training:
                return output
            self.calls += 1
            if self.bad_calls is None or self.calls in self.bad_calls:
                return output * float("nan")
            return output

        model.roberta.embeddings.register_forward_hook(hook)
        return loaded


def test_nonfinite_loss_skips_update_and_lowers_grad_norm(
    lapt, lapt_model_dir, tiny_corpus_dir, tmp_path, monkeypatch
):
    monkeypatch.setattr(lapt, "AutoModelForMaskedLM", NaNInjector({2, 3}))
    out = tmp_path / "nan"
    argv = tiny_lapt_argv(
        lapt_model_dir,
        tiny_corpus_dir,
        out,
        max_steps=4,
        freeze_transformer_steps=0,
        save_steps=1,
        save_total_limit=10,
        max_grad_norm=1.0,
    )
    results = lapt.main(*parse_lapt(argv))
    assert [e["step"] for e in results["nonfinite_events"]] == [2, 3]
    assert results["nonfinite_events"][0]["max_grad_norm_after"] == 0.5
    step1, step3 = weights(out / "checkpoint-1"), weights(out / "checkpoint-3")
    assert all(torch.equal(step1[n], step3[n]) for n in step1)  # steps 2 and 3 changed nothing
    assert all(torch.isfinite(t).all() for t in weights(out / "checkpoint-4").values())


def test_repeated_nonfinite_losses_stop_the_run(lapt, lapt_model_dir, tiny_corpus_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(lapt, "AutoModelForMaskedLM", NaNInjector(None))
    argv = tiny_lapt_argv(lapt_model_dir, tiny_corpus_dir, tmp_path / "nan", max_nonfinite_in_a_row=3)
    with pytest.raises(NonFiniteLossError, match="3 optimizer steps in a row"):
        lapt.main(*parse_lapt(argv))


def test_lora_run_saves_adapter_and_merged_model(lapt, lapt_model_dir, tiny_corpus_dir, tmp_path):
    out = tmp_path / "lora"
    argv = tiny_lapt_argv(lapt_model_dir, tiny_corpus_dir, out, lapt_mode="lora", merge_adapters=True, max_steps=4)
    results = lapt.main(*parse_lapt(argv))
    assert (out / "best" / "adapter_config.json").is_file()
    assert (out / "best" / TRAINABLE_BASE_FILE).is_file()  # replaced vocab: embeddings train
    merged = AutoModelForMaskedLM.from_pretrained(out / "best_merged")
    assert merged.lm_head.decoder.weight is merged.roberta.embeddings.word_embeddings.weight
    assert not torch.equal(merged.roberta.embeddings.word_embeddings.weight, weights(lapt_model_dir)[EMB])
    assert (out / "best_merged" / "README.md").is_file() and results["trainable_parameters"] < 60_000


def test_push_without_network_fails_clearly_and_keeps_local_output(
    lapt, lapt_model_dir, tiny_corpus_dir, tmp_path, monkeypatch
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    out = tmp_path / "push"
    argv = tiny_lapt_argv(
        lapt_model_dir, tiny_corpus_dir, out, max_steps=2, push_to_hub=True, hub_model_id="me/tiny-lapt"
    )
    with pytest.raises(PushToHubError, match="me/tiny-lapt.*local output"):
        lapt.main(*parse_lapt(argv))
    assert (out / "best" / "model.safetensors").is_file() and (out / "best" / "README.md").is_file()
    assert "me/tiny-lapt" in (out / "README.md").read_text()
    assert (out / LAPT_RESULTS_FILE).is_file()


def test_two_processes_match_the_single_process_run(lapt, lapt_model_dir, tiny_corpus_dir, tmp_path):
    common = dict(max_steps=4, freeze_transformer_steps=2, log_batches=True, save_total_limit=10)
    single = tmp_path / "single"
    lapt.main(
        *parse_lapt(tiny_lapt_argv(lapt_model_dir, tiny_corpus_dir, single, per_device_train_batch_size=4, **common))
    )
    ddp = tmp_path / "ddp"
    argv = tiny_lapt_argv(
        lapt_model_dir, tiny_corpus_dir, ddp, per_device_train_batch_size=2, log_level="warning", **common
    )
    accelerate = Path(sys.executable).parent / "accelerate"
    command = [str(accelerate), "launch", "--config_file", str(ROOT / "accelerate_configs" / "cpu.yaml"),
               "--num_processes", "2", "--main_process_port", "29533", str(ROOT / "recipes" / "lapt.py"), *argv]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rank0 = json.loads((ddp / "lapt_rank0_draws.json").read_text())
    rank1 = json.loads((ddp / "lapt_rank1_draws.json").read_text())
    assert not set(rank0) & set(rank1)  # the ranks saw different data ...
    assert sorted(rank0 + rank1) == sorted(
        json.loads((single / "lapt_rank0_draws.json").read_text())
    )  # ... together the same
    for step in (2, 4):  # frozen phase (grads discarded under DDP) and after it
        a, b = weights(single / f"checkpoint-{step}"), weights(ddp / f"checkpoint-{step}")
        for name in a:
            torch.testing.assert_close(a[name], b[name], atol=1e-5, rtol=1e-4)
    source = weights(lapt_model_dir)
    assert torch.equal(weights(ddp / "checkpoint-2")[BODY], source[BODY])
