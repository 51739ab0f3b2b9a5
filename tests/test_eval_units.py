"""Evaluation units: LAPT adapter outputs loaded with their trained weights, model labels and reuse of finished
units, killed runs, settings finetune sets itself, and windows capped at the model's position embeddings."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import XLMRobertaForMaskedLM

from langadapt import ConfigError
from langadapt.evaluation import (
    FinetuneArguments,
    build_table,
    collect_results,
    default_model_label,
    interrupted_progress,
    load_encoder,
    seed_work_dir,
)
from langadapt.evaluation.conllu import Sentence
from langadapt.evaluation.datasets import max_window_length
from langadapt.evaluation.labels import ResultsCollisionError, finished_unit
from langadapt.evaluation.pppl import load_masked_lm
from langadapt.evaluation.trainer import WordTaskTrainer
from langadapt.evaluation.units import plan_seeds, unit_dir
from langadapt.lapt import LAPT_MODES, LaptArguments
from langadapt.lapt.modes import save_lapt_adapter
from langadapt.lapt.resume import is_complete_checkpoint
from langadapt.layout import UNIT_RESULTS_FILE
from langadapt.recipes_loader import load_recipe

from .test_eval_finetune import COMMON, _args, _sentences, _tiny_tokenizer, _write_conllu
from .tiny_models import tiny_xlmr_mlm

REPO = Path(__file__).resolve().parents[1]
finetune = load_recipe("finetune")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("replaced")
    tokenizer = _tiny_tokenizer()
    tiny_xlmr_mlm(tokenizer, max_position_embeddings=64).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def ud(tmp_path_factory) -> dict[str, Path]:
    path = tmp_path_factory.mktemp("ud_units")
    return {
        "train": _write_conllu(path / "train.conllu", _sentences(24, 1)),
        "test": _write_conllu(path / "test.conllu", _sentences(6, 2)),
    }


def _pos_argv(model: Path | str, out: Path, ud: dict[str, Path], *extra: str) -> list[str]:
    return [
        *("--task", "pos", "--model_name_or_path", str(model), "--output_dir", str(out)),
        *("--train_data", f"xx={ud['train']}", "--test_data", f"xx={ud['test']}", *COMMON, *extra),
    ]


# --- LAPT adapter outputs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["lora", "ia3"])
def test_lapt_adapter_output_is_loaded_with_its_trained_embeddings_and_head(model_dir, tmp_path, mode):
    pytest.importorskip("peft")
    targets = ["query", "value", "output.dense"] if mode == "ia3" else ["query", "value"]
    setup = LAPT_MODES.get(mode)(
        XLMRobertaForMaskedLM.from_pretrained(model_dir),
        LaptArguments(lapt_mode=mode, adapter_target_modules=targets),
        vocab_replaced=True,  # embeddings and LM head train beside the adapter, as after vocabulary replacement
    )
    trained = setup.model.get_base_model()
    with torch.no_grad():  # what LAPT training would have done: new embeddings, head and adapter weights
        trained.roberta.embeddings.word_embeddings.weight.add_(torch.randn_like(trained.lm_head.decoder.weight))
        trained.lm_head.dense.weight.mul_(-1.0)
        for name, param in setup.model.named_parameters():
            if "lora_B" in name or "ia3_" in name:
                param.normal_(0.0, 0.5)
    best = tmp_path / f"lapt_{mode}_xx" / "best"
    save_lapt_adapter(setup.model, best)
    _tiny_tokenizer().save_pretrained(best)
    expected_embeddings = trained.roberta.embeddings.word_embeddings.weight.detach().clone()
    initial = XLMRobertaForMaskedLM.from_pretrained(model_dir)

    encoder, tokenizer = load_encoder(str(best))  # what finetune.py fine-tunes
    torch.testing.assert_close(encoder.get_input_embeddings().weight, expected_embeddings)
    assert not torch.allclose(encoder.get_input_embeddings().weight, initial.get_input_embeddings().weight)
    assert tokenizer.pad_token_id == 1
    query = encoder.encoder.layer[0].attention.self.query.weight
    assert not torch.allclose(query, initial.roberta.encoder.layer[0].attention.self.query.weight)  # merged
    masked_lm, _ = load_masked_lm(str(best))  # what pppl.py scores
    torch.testing.assert_close(masked_lm.lm_head.dense.weight, trained.lm_head.dense.weight)
    assert masked_lm.lm_head.decoder.weight is masked_lm.roberta.embeddings.word_embeddings.weight  # still tied


# --- labels and reuse of finished units -------------------------------------------------------------------------
def test_default_model_label_names_the_lapt_run(tmp_path, monkeypatch):
    assert default_model_label("runs/lapt_full_myv/best") == "lapt_full_myv"
    assert default_model_label("runs/lapt_full_myv/best/") == "lapt_full_myv"
    assert default_model_label("runs/lapt_lora_myv/best_merged") == "lapt_lora_myv-best_merged"
    assert default_model_label("runs/lapt_emb_myv/checkpoint-500") == "lapt_emb_myv-checkpoint-500"
    assert default_model_label("FacebookAI/xlm-roberta-base") == "xlm-roberta-base"
    assert default_model_label("runs/replaced/focus") == "focus"
    (tmp_path / "lapt_emb_sme" / "best").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "lapt_emb_sme")
    assert default_model_label("best") == default_model_label(".") == "lapt_emb_sme"  # from inside the run too


def test_finished_unit_reuses_only_the_same_models_results(tmp_path, monkeypatch):
    model = tmp_path / "runs" / "lapt_full_x" / "best"
    model.mkdir(parents=True)
    results = tmp_path / UNIT_RESULTS_FILE
    assert not finished_unit(results, str(model), "lapt_full_x")  # nothing there: run it
    results.write_text(json.dumps({"model_name_or_path": str(model)}))
    monkeypatch.chdir(tmp_path)
    assert finished_unit(results, "runs/lapt_full_x/best/", "lapt_full_x")  # another spelling of the same dir
    with pytest.raises(ResultsCollisionError, match=r"lapt_emb_x/best.*lapt_full_x/best|lapt_full_x/best.*emb"):
        finished_unit(results, "runs/lapt_emb_x/best", "best")
    results.write_text('{"model_name_or_path": "runs/lap')  # not JSON (written by hand or by an old version)
    assert not finished_unit(results, str(model), "lapt_full_x")  # redone, not trusted


def test_two_lapt_outputs_in_one_output_dir_get_their_own_results(model_dir, ud, tmp_path):
    full, emb = tmp_path / "lapt_full_xx" / "best", tmp_path / "lapt_emb_xx" / "best"
    shutil.copytree(model_dir, full)
    shutil.copytree(model_dir, emb)
    out = tmp_path / "eval"
    (first,) = finetune.main(*_args(_pos_argv(full, out, ud)))
    (second,) = finetune.main(*_args(_pos_argv(emb, out, ud)))  # the old label "best" made this reuse `first`
    assert first.relative_to(out).parts[0] == "lapt_full_xx" and second.relative_to(out).parts[0] == "lapt_emb_xx"
    assert json.loads(second.read_text())["model_name_or_path"] == str(emb)
    # The same label for another model: refused before anything trains, naming both models.
    with pytest.raises(ResultsCollisionError, match="lapt_full_xx/best.*lapt_emb_xx/best"):
        finetune.main(*_args(_pos_argv(emb, out, ud, "--model_label", "lapt_full_xx")))
    # --overwrite replaces them on purpose.
    (replaced,) = finetune.main(*_args(_pos_argv(emb, out, ud, "--model_label", "lapt_full_xx", "--overwrite", "1")))
    assert replaced == first and json.loads(first.read_text())["model_name_or_path"] == str(emb)


def _record(model_path: str, results_path: str, accuracy: float) -> dict:
    return {"task": "pos", "regime": "full", "language": "xx", "seed": 1, "model": Path(model_path).name,
            "model_name_or_path": model_path, "metrics": {"accuracy": accuracy}, "_path": results_path}  # fmt: skip


def test_report_refuses_two_results_for_one_cell(tmp_path):
    records = [_record("runs/a/best", "a/results.json", 0.5), _record("runs/b/best", "b/results.json", 0.9)]
    with pytest.raises(ResultsCollisionError, match=r"a/results.json and b/results.json.*'best'.*'xx'.*seed 1"):
        build_table(records, "accuracy")  # the old code kept whichever came last
    table = build_table(records, "accuracy", row_fields=("model_name_or_path",))  # fields that tell them apart
    assert [table.cells[row, "xx"].mean for row in table.rows] == [50.0, 90.0]
    # Rows that group several models (a grid reported by one factor) are split by model label instead.
    records = [_record("runs/lapt_a", "a/results.json", 0.5), _record("runs/lapt_b", "b/results.json", 0.9)]
    table = build_table(records, "accuracy", row_fields=("task",))
    assert table.rows == ["pos / lapt_a", "pos / lapt_b"] and table.cells["pos / lapt_b", "xx"].mean == 90.0
    # Overlapping result roots are not a collision: each file is read once.
    path = tmp_path / "runs" / "m" / UNIT_RESULTS_FILE
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(_record("runs/m", "", 0.5)))
    assert len(collect_results([tmp_path, tmp_path / "runs", path])) == 1


def test_a_finished_seed_whose_saved_model_is_missing_is_rerun_for_the_model(model_dir, ud, tmp_path):
    argv = _pos_argv(model_dir, tmp_path, ud, "--save_model", "true")
    (path,) = finetune.main(*_args(argv))
    saved, results = path.parent.parent / "seed1.model", path.read_bytes()
    shutil.rmtree(saved)  # as if killed after writing the results JSON, before saving the model
    finetune.main(*_args(argv))
    assert (saved / "labels.json").is_file() and path.read_bytes() == results


def test_plan_seeds_lays_out_the_units_and_finds_what_is_left(tmp_path):
    from langadapt.evaluation import EvalDataArguments, EvalModelArguments

    data_args = EvalDataArguments(train_data=["xx=a"], test_data=["xx=b", "yy=c"], regime="few_shot", seeds=[1, 2])
    model_args = EvalModelArguments(model_name_or_path="runs/m", save_model=True)
    done = unit_dir(tmp_path, "m", "pos", "few_shot", "yy", 2) / UNIT_RESULTS_FILE
    done.parent.mkdir(parents=True)
    done.write_text(json.dumps({"model_name_or_path": "runs/m"}))
    where = dict(task="pos", label="m", languages=["xx", "yy"], data_args=data_args, output_dir=tmp_path)
    first, second = plan_seeds(**where, model_args=model_args)
    assert (first.seed, first.pending, second.seed, second.pending) == (1, ["xx", "yy"], 2, ["xx"])
    assert second.results_paths == [tmp_path / "m/pos/few_shot/xx/seed2/results.json", done]
    # The seed's work dir and model sit beside its first test language; TensorBoard events beside the languages.
    assert second.work_dir == tmp_path / "m/pos/few_shot/xx/seed2.work"
    assert second.model_dir == tmp_path / "m/pos/few_shot/xx/seed2.model"
    assert second.tensorboard_dir == tmp_path / "m/pos/few_shot/tensorboard/seed2"
    second.pending.clear()  # as if xx had finished too: only the saved model is missing
    assert second.needs_model and not second.done
    second.model_dir.mkdir(parents=True)
    assert second.done
    model_args.overwrite = True
    assert [units.pending for units in plan_seeds(**where, model_args=model_args)] == [["xx", "yy"], ["xx", "yy"]]


# --- settings finetune sets itself ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("option", "value", "hint"),
    [
        ("--seed", "7", "--seeds"),
        ("--data_seed", "7", "--seeds"),
        ("--eval_strategy", "epoch", "--eval_every_epochs"),
        ("--save_strategy", "no", "best dev checkpoint"),
        ("--load_best_model_at_end", "false", None),  # the default: accepted
        ("--metric_for_best_model", "loss", "task's"),
    ],
)
def test_settings_finetune_sets_itself_are_refused(model_dir, ud, tmp_path, option, value, hint):
    argv = _pos_argv(model_dir, tmp_path, ud, option, value)
    if hint is None:
        _args(argv)
        return
    with pytest.raises(ConfigError, match=rf"{option[2:]}='?{value}'? would be ignored.*{hint}"):
        _args(argv)


def test_settings_finetune_sets_itself_are_refused_from_yaml(model_dir, ud, tmp_path):
    config = tmp_path / "finetune.yaml"
    config.write_text("task: pos\nseed: 3\n")
    with pytest.raises(ConfigError, match=r"seed=3 would be ignored.*--seeds"):
        _args([str(config), *_pos_argv(model_dir, tmp_path, ud)])


# --- windows and position embeddings ----------------------------------------------------------------------------
def test_max_window_length_counts_the_roberta_position_offset(model_dir):
    from transformers import BertConfig, BertModel

    assert max_window_length(load_encoder(str(model_dir))[0]) == 64 - 2  # XLM-R: positions start at pad id + 1
    bert = BertModel(BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8,
                                vocab_size=10, max_position_embeddings=40))  # fmt: skip
    assert max_window_length(bert) == 40


def test_max_length_beyond_the_position_embeddings_is_capped(tmp_path):
    # 16 positions take 14 subwords; the default max_length 256 used to crash the forward (index out of bounds).
    tokenizer = _tiny_tokenizer()
    model = tmp_path / "short_positions"
    tiny_xlmr_mlm(tokenizer, max_position_embeddings=16).save_pretrained(model)
    tokenizer.save_pretrained(model)
    long = Sentence(["abca"] * 40, ["NOUN"] * 40, [0] + list(range(1, 40)), ["root"] + ["dep"] * 39)
    sentences = _sentences(12, 5) + [long]
    train = _write_conllu(tmp_path / "train.conllu", sentences)
    argv = [
        *("--task", "parse", "--model_name_or_path", str(model), "--output_dir", str(tmp_path / "out")),
        *("--train_data", f"xx={train}", "--test_data", f"xx={train}", *COMMON, "--dev_size", "3"),
    ]
    (path,) = finetune.main(*_args(argv))
    results = json.loads(path.read_text())
    assert results["max_length"] == 14 and results["config"]["max_length"] == 256
    assert results["encoding"]["test"]["windowed_sentences"] >= 1 and 0 <= results["metrics"]["las"] <= 1


def test_pppl_caps_windows_and_refuses_another_models_results(tmp_path):
    from langadapt.evaluation import PPPLArguments, run_pseudo_perplexity

    tokenizer = _tiny_tokenizer()
    model = tmp_path / "lapt_full_xx" / "best"
    tiny_xlmr_mlm(tokenizer, max_position_embeddings=16).save_pretrained(model)
    tokenizer.save_pretrained(model)
    text = tmp_path / "text.txt"
    text.write_text(" ".join(["abca"] * 40) + "\nabc de\n", encoding="utf-8")
    args = PPPLArguments(model_name_or_path=str(model), texts=[f"xx={text}"], variants=["original"],
                         output_dir=str(tmp_path / "runs"), device="cpu")  # fmt: skip
    (path,) = run_pseudo_perplexity(args)  # max_length 256 > 14 used to crash the forward
    record = json.loads(path.read_text())
    assert path.relative_to(tmp_path / "runs").parts[0] == "lapt_full_xx"
    assert record["max_length"] == 14 and record["metrics"]["windowed_sentences"] == 1
    other = tmp_path / "lapt_emb_xx" / "best"
    shutil.copytree(model, other)
    args.model_name_or_path, args.model_label = str(other), "lapt_full_xx"
    with pytest.raises(ResultsCollisionError, match="lapt_full_xx/best.*lapt_emb_xx/best"):
        run_pseudo_perplexity(args)


# --- a killed run -----------------------------------------------------------------------------------------------
def test_finetune_killed_mid_training_continues_from_its_last_evaluation(model_dir, ud, tmp_path):
    out = tmp_path / "eval"
    argv = _pos_argv(model_dir, out, ud, "--seeds", "1", "2", "--num_train_epochs", "6", "--eval_every_epochs", "1")
    argv += ["--patience_epochs", "6", "--disable_tqdm", "true", "--report_to", "none"]
    seed_dirs = out / default_model_label(str(model_dir)) / "pos" / "full" / "xx"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    process = subprocess.Popen(
        [sys.executable, str(REPO / "recipes" / "finetune.py"), *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:  # kill it (no graceful stop) once seed 2 has a complete checkpoint: seed 1 finished, seed 2 mid-training
        deadline = time.time() + 120
        while not (
            complete := [p for p in (seed_dirs / "seed2.work").glob("checkpoint-*") if is_complete_checkpoint(p)]
        ):
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            assert time.time() < deadline, "seed 2 never checkpointed"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        first_complete_step = int(complete[0].name.rsplit("-", 1)[-1])
    finally:
        process.kill()
        process.wait()
    first = seed_dirs / "seed1" / UNIT_RESULTS_FILE
    finished = first.read_bytes()
    assert json.loads(finished)["seed"] == 1 and not (seed_dirs / "seed2" / UNIT_RESULTS_FILE).exists()

    paths = finetune.main(*_args(argv))  # the rerun: seed 1 reused untouched, seed 2 continued from its checkpoint
    assert first.read_bytes() == finished
    second = json.loads(paths[1].read_text())
    assert second["seed"] == 2 and second["steps"] == 18 and 0 <= second["metrics"]["accuracy"] <= 1
    # the last complete checkpoint at the kill (a later one may have been cut short by it: removed, not loaded)
    assert first_complete_step <= second["resumed_from_step"] < 18 and second["resumed_from_step"] % 3 == 0
    assert json.loads(finished)["resumed_from_step"] is None
    assert not (seed_dirs / "seed2.work").exists()  # the checkpoints are gone once the seed is done


def _interrupt_after_step(monkeypatch, step: int) -> None:
    """Make the Trainer die right after saving its checkpoint of ``step``, as a kill between two evaluations."""
    original = WordTaskTrainer._save_checkpoint

    def save_then_die(self, model, trial):
        original(self, model, trial)
        if self.state.global_step >= step:
            raise KeyboardInterrupt(f"killed after step {self.state.global_step}")

    monkeypatch.setattr(WordTaskTrainer, "_save_checkpoint", save_then_die)


def _resumable_argv(model_dir, out, ud, *extra):
    return _pos_argv(model_dir, out, ud, "--num_train_epochs", "6", "--eval_every_epochs", "1", "--patience_epochs",
                     "6", "--save_model", "true", "--report_to", "none", "--disable_tqdm", "true", *extra)  # fmt: skip


def _trained_state(out: Path, model_dir: Path) -> dict[str, torch.Tensor]:
    seed_dir = out / default_model_label(str(model_dir)) / "pos" / "full" / "xx" / "seed1.model"
    return load_file(seed_dir / "model.safetensors")


def test_interrupted_seed_resumes_to_the_uninterrupted_result(model_dir, ud, tmp_path, monkeypatch):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # bit-exact comparison: one intra-op thread (docs/lapt.md)
    try:
        _check_resumed_run_matches(model_dir, ud, tmp_path, monkeypatch)
    finally:
        torch.set_num_threads(threads)


def _check_resumed_run_matches(model_dir, ud, tmp_path, monkeypatch):
    (whole,) = finetune.main(*_args(_resumable_argv(model_dir, tmp_path / "whole", ud)))
    expected = json.loads(whole.read_text())

    out = tmp_path / "interrupted"
    with monkeypatch.context() as patch:
        _interrupt_after_step(patch, 9)  # 3 steps per epoch: after the third evaluation
        with pytest.raises(KeyboardInterrupt):
            finetune.main(*_args(_resumable_argv(model_dir, out, ud)))
    work_dir = out / default_model_label(str(model_dir)) / "pos" / "full" / "xx" / "seed1.work"
    assert seed_work_dir(out, default_model_label(str(model_dir)), "pos", "full", "xx", 1) == work_dir
    assert (work_dir / "checkpoint-9" / "optimizer.pt").is_file()  # full state, not only the model
    progress = interrupted_progress(work_dir)  # what a listing of the unfinished run shows
    assert {key: progress[key] for key in ("step", "max_steps", "epoch", "num_train_epochs")} == {
        "step": 9, "max_steps": 18, "epoch": 3.0, "num_train_epochs": 6
    }  # fmt: skip
    (resumed_path,) = finetune.main(*_args(_resumable_argv(model_dir, out, ud)))
    resumed = json.loads(resumed_path.read_text())
    assert progress["best_metric"] == max(point["value"] for point in resumed["dev_curve"][:3])
    assert interrupted_progress(work_dir) is None  # finished: the checkpoints are gone

    assert resumed["resumed_from_step"] == 9 and expected["resumed_from_step"] is None
    for key in ("metrics", "best_dev", "steps", "epochs_run", "dev_curve"):
        assert resumed[key] == expected[key], key
    # the dev metric of every evaluation (one per epoch here), the part before the interruption included
    assert [point["step"] for point in resumed["dev_curve"]] == [3, 6, 9, 12, 15, 18]
    best = max(resumed["dev_curve"], key=lambda point: point["value"])
    assert (best["step"], best["value"]) == (resumed["best_dev"]["step"], resumed["best_dev"]["value"])
    whole_state, resumed_state = _trained_state(tmp_path / "whole", model_dir), _trained_state(out, model_dir)
    assert whole_state.keys() == resumed_state.keys()
    assert all(torch.equal(whole_state[name], resumed_state[name]) for name in whole_state)


@pytest.mark.parametrize("change", [["--learning_rate", "2e-3"], ["--resume_interrupted", "false"]])
def test_interrupted_seed_restarts_when_the_run_differs(model_dir, ud, tmp_path, monkeypatch, change):
    out = tmp_path / "runs"
    with monkeypatch.context() as patch:
        _interrupt_after_step(patch, 6)
        with pytest.raises(KeyboardInterrupt):
            finetune.main(*_args(_resumable_argv(model_dir, out, ud)))
    (path,) = finetune.main(*_args(_resumable_argv(model_dir, out, ud, *change)))
    record = json.loads(path.read_text())
    assert record["resumed_from_step"] is None and record["steps"] == 18  # another run: started afresh


def test_finetuning_checkpoint_fields_are_refused_with_what_to_use():
    with pytest.raises(ValueError, match="save_steps.*--eval_every_epochs"):
        FinetuneArguments(save_steps=7)
    with pytest.raises(ValueError, match="save_only_model.*--resume_interrupted"):
        FinetuneArguments(save_only_model=True)
