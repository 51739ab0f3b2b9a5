"""`--resume` ends bit-identical to an uninterrupted run: states a kill leaves, real SIGKILLed processes, the RNG
streams (dropout on), interrupted checkpoint and best/ writes, and the callbacks' state across a resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerControl, TrainerState

from langadapt.lapt import BestCheckpointCallback, NonFiniteGuard, StabilityCallback, find_resume_checkpoint
from langadapt.lapt.resume import discard_interrupted_writes
from langadapt.layout import LAPT_RESULTS_FILE
from langadapt.recipes_loader import load_recipe

from .lapt_helpers import parse_lapt, tiny_lapt_argv

ROOT = Path(__file__).resolve().parents[1]
# 8 steps, the body frozen for the first 3, a checkpoint and a dev evaluation every 2; the tiny model keeps its
# dropout (0.1), so a resumed run only matches if the RNG streams continue exactly.
RUN = dict(max_steps=8, freeze_transformer_steps=3, save_steps=2, eval_steps=2, save_total_limit=10)


@pytest.fixture(scope="module")
def lapt():
    return load_recipe("lapt")


def run_argv(source_model_dir: Path, corpus_dir: Path, output_dir: Path, **overrides) -> list[str]:
    return tiny_lapt_argv(source_model_dir, corpus_dir, output_dir, **{**RUN, **overrides})


@pytest.fixture(scope="module")
def uninterrupted(lapt, source_model_dir, tiny_corpus_dir, tmp_path_factory) -> Path:
    output_dir = tmp_path_factory.mktemp("resume") / "uninterrupted"
    lapt.main(*parse_lapt(run_argv(source_model_dir, tiny_corpus_dir, output_dir)))
    return output_dir


def assert_same_run(resumed: Path, reference: Path) -> None:
    """Final and best weights equal to the bit, and the same dev-loss curve and best step."""
    for folder in ("checkpoint-8", "best"):
        a, b = (
            load_file(str(reference / folder / "model.safetensors")),
            load_file(str(resumed / folder / "model.safetensors")),
        )
        assert a.keys() == b.keys()
        differing = [name for name in a if not torch.equal(a[name], b[name])]
        assert not differing, f"{folder}: {len(differing)} tensors differ, e.g. {differing[0]}"
    expected, got = (json.loads((d / LAPT_RESULTS_FILE).read_text()) for d in (reference, resumed))
    assert got["dev_loss_curve"] == expected["dev_loss_curve"] and got["best_step"] == expected["best_step"]


def state_after_kill(uninterrupted: Path, destination: Path, last_complete: int, partial: int | None) -> Path:
    """What a run killed after checkpoint-``last_complete`` leaves: no later checkpoint (or a ``partial`` one
    without trainer_state.json, as when killed mid-save), no results, best/ caught mid-copy (only its temporary
    folder left)."""
    shutil.copytree(uninterrupted, destination)
    for checkpoint in destination.glob("checkpoint-*"):
        step = int(checkpoint.name.split("-")[1])
        if step == partial:
            (checkpoint / "trainer_state.json").unlink()
        elif step > last_complete:
            shutil.rmtree(checkpoint)
    for name in (LAPT_RESULTS_FILE, "README.md", "trainer_state.json", "train_results.json", "all_results.json"):
        (destination / name).unlink(missing_ok=True)
    shutil.rmtree(destination / "best")
    (destination / ".best.k1ll3d.tmp").mkdir()
    return destination


@pytest.mark.parametrize(
    "last_complete, partial",
    [(2, None), (4, 6)],
    ids=["resume-inside-frozen-phase", "resume-after-it-partial-checkpoint"],
)
def test_resume_from_what_a_kill_leaves_is_bit_identical(
    lapt, uninterrupted, source_model_dir, tiny_corpus_dir, tmp_path, last_complete, partial
):
    killed = state_after_kill(uninterrupted, tmp_path / "killed", last_complete, partial)
    results = lapt.main(*parse_lapt(run_argv(source_model_dir, tiny_corpus_dir, killed, resume=True)))
    assert results["resumed_from"].endswith(f"checkpoint-{last_complete}")
    assert not (killed / ".best.k1ll3d.tmp").exists()
    assert_same_run(killed, uninterrupted)


@pytest.mark.slow  # two fresh Python processes with torch and transformers: ~20 s on 2 busy cores
def test_sigkilled_processes_resume_bit_identical(lapt, uninterrupted, source_model_dir, tiny_corpus_dir, tmp_path):
    """Real processes killed with SIGKILL (no cleanup runs): at step 3 (the frozen phase spans the kill and the
    resume from checkpoint-2) and while writing checkpoint-6 (resume from checkpoint-4, after the frozen phase)."""
    kills = {"step_end": 3, "mid_save": 6}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    processes = {}
    for point, step in kills.items():
        argv = run_argv(source_model_dir, tiny_corpus_dir, tmp_path / point, log_level="warning")
        command = [sys.executable, "-m", "tests.lapt_helpers", point, str(step), *argv]
        processes[point] = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
    for point, process in processes.items():
        output = process.communicate(timeout=300)[0].decode(errors="replace")
        assert process.returncode == -signal.SIGKILL, f"{point}: exit {process.returncode}\n{output[-3000:]}"
    assert (tmp_path / "mid_save" / "checkpoint-6" / "model.safetensors").is_file()
    assert not (tmp_path / "mid_save" / "checkpoint-6" / "trainer_state.json").exists()
    for point, resumed_from in [("step_end", 2), ("mid_save", 4)]:
        killed = tmp_path / point
        results = lapt.main(*parse_lapt(run_argv(source_model_dir, tiny_corpus_dir, killed, resume=True)))
        assert results["resumed_from"].endswith(f"checkpoint-{resumed_from}")
        assert_same_run(killed, uninterrupted)


def test_evaluation_does_not_change_the_training_run(lapt, source_model_dir, tiny_corpus_dir, tmp_path):
    # Each dev evaluation starts a data-loader iterator, which draws from the global RNG that dropout uses.
    common = dict(max_steps=3, freeze_transformer_steps=0, save_steps=3)
    often, never = tmp_path / "often", tmp_path / "never"
    lapt.main(*parse_lapt(tiny_lapt_argv(source_model_dir, tiny_corpus_dir, often, eval_steps=1, **common)))
    lapt.main(*parse_lapt(tiny_lapt_argv(source_model_dir, tiny_corpus_dir, never, eval_strategy="no", **common)))
    a, b = (load_file(str(d / "checkpoint-3" / "model.safetensors")) for d in (often, never))
    assert all(torch.equal(a[name], b[name]) for name in a)


def fake_checkpoint(directory: Path, step: int, state: str | None = None) -> Path:
    checkpoint = directory / f"checkpoint-{step}"
    checkpoint.mkdir(parents=True)
    (checkpoint / "model.safetensors").write_bytes(b"weights")
    if state is not None:
        (checkpoint / "trainer_state.json").write_text(state)
    return checkpoint


def test_the_last_complete_checkpoint_is_resumed_and_interrupted_writes_are_removed(tmp_path):
    complete = fake_checkpoint(tmp_path, 20, json.dumps({"global_step": 20}))
    fake_checkpoint(tmp_path, 30, json.dumps({"global_step": 30})[:9])  # cut short by the kill
    fake_checkpoint(tmp_path, 40)  # killed before trainer_state.json
    fake_checkpoint(tmp_path, 50, json.dumps({"global_step": 40}))  # not its own state
    (tmp_path / "best").mkdir()
    (tmp_path / ".best.abc.tmp").mkdir()
    (tmp_path / ".best.def.old").mkdir()
    assert find_resume_checkpoint(tmp_path) == complete
    removed = discard_interrupted_writes(tmp_path)
    assert sorted(p.name for p in removed) == [".best.abc.tmp", ".best.def.old", "checkpoint-30", "checkpoint-40",
                                                "checkpoint-50"]  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best", "checkpoint-20"]
    assert find_resume_checkpoint(tmp_path / "missing") is None


def test_nonfinite_guard_state_survives_a_resume():
    class Args:
        max_grad_norm = 1.0

    model = torch.nn.Linear(2, 2)
    guard, state = NonFiniteGuard(max_in_a_row=5), TrainerState()
    callback = StabilityCallback(guard)
    for step in range(2, 6):  # non-finite losses at the optimizer steps 3, 5 and 6
        state.global_step = step
        model(torch.ones(1, 2)).sum().backward()
        if step != 3:
            guard.flag()
        callback.on_pre_optimizer_step(Args, state, TrainerControl(), model=model)
    assert Args.max_grad_norm == 0.5 and guard.in_a_row == 2
    # A new process resumes at step 6 with the checkpoint's log history and the configured max_grad_norm.
    Args.max_grad_norm = 1.0
    resumed_guard = NonFiniteGuard(max_in_a_row=5)
    restored = TrainerState(global_step=6, log_history=json.loads(json.dumps(state.log_history)))
    StabilityCallback(resumed_guard).on_train_begin(Args, restored, TrainerControl())
    assert Args.max_grad_norm == 0.5 and resumed_guard.in_a_row == 2 and resumed_guard.events == guard.events


def test_best_checkpoint_callback_resumes_patience_and_a_missed_copy(tmp_path):
    checkpoint = fake_checkpoint(tmp_path, 4, json.dumps({"global_step": 4}))
    history = [{"step": 2, "eval_loss": 3.0}, {"step": 4, "eval_loss": 2.0}, {"step": 6, "eval_loss": 2.5}]
    shutil.copytree(checkpoint, tmp_path / "checkpoint-6")
    (tmp_path / "checkpoint-6" / "trainer_state.json").write_text(json.dumps({"global_step": 6}))
    # killed after checkpoint-4 was saved but before best/ (still step 2's) was replaced by it
    fake_checkpoint(tmp_path / "old", 2, json.dumps({"global_step": 2})).rename(tmp_path / "best")
    callback = BestCheckpointCallback(tmp_path, patience=2)
    callback.on_train_begin(None, TrainerState(global_step=6, log_history=history), TrainerControl())
    assert callback.best_step == 4 and callback.bad_evals == 1
    assert json.loads((tmp_path / "best" / "trainer_state.json").read_text())["global_step"] == 4
    control = TrainerControl()
    callback.on_evaluate(None, TrainerState(global_step=8), control, metrics={"eval_loss": 2.1})
    assert control.should_training_stop  # the second evaluation without improvement, counting the one before
