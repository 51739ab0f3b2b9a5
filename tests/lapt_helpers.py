"""Shared helpers of the LAPT tests: argv for a tiny in-process run of recipes/lapt.py."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

from langadapt import LangadaptParser
from langadapt.lapt import LaptArguments, LaptTrainingArguments, ModelArguments

EMB = "roberta.embeddings.word_embeddings.weight"
# What the tiny LAPT input claims about itself: a replaced vocabulary (so the replaced-vocabulary defaults apply).
PROVENANCE = {"source_model": "FacebookAI/xlm-roberta-base", "init_spec": "script+posn+ident", "vocab_size": 1000}


def weights(path: Path) -> dict[str, torch.Tensor]:
    """A saved model's tensors, the tied embedding matrix under its own name too."""
    state = load_file(str(path / "model.safetensors"))
    if EMB not in state:  # tied: saved once under the decoder's name
        state[EMB] = state["lm_head.decoder.weight"]
    return state


def tiny_lapt_argv(model_dir: Path, corpus_dir: Path, output_dir: Path, **overrides) -> list[str]:
    options = {
        "model_name_or_path": str(model_dir),
        "output_dir": str(output_dir),
        "max_steps": 6,
        "per_device_train_batch_size": 4,
        "per_device_eval_batch_size": 16,
        "eval_steps": 2,
        "save_steps": 2,
        "logging_steps": 1,
        "dev_draws": 24,
        "freeze_transformer_steps": 3,
        "learning_rate": 1e-3,
        "max_seq_length": 32,
        "use_cpu": True,
        "disable_tqdm": True,
        "seed": 0,
    }
    options.update(overrides)
    argv = [
        "--train_corpora", f"myv={corpus_dir / 'myv.txt'}", f"sme={corpus_dir / 'sme.txt'}",
        "--dev_corpora", f"myv={corpus_dir / 'myv.txt'}", f"sme={corpus_dir / 'sme.txt'}",
    ]  # fmt: skip
    for key, value in options.items():
        argv += [f"--{key}", str(value)]
    return argv


def parse_lapt(argv: list[str]) -> tuple:
    return LangadaptParser((ModelArguments, LaptArguments, LaptTrainingArguments)).parse(argv)


# --- a real process killed mid-run (`python -m tests.lapt_helpers POINT STEP ARGV...`) --------------------------
KILL_POINTS = {
    "step_end": "right after the update of STEP (before any evaluation or save at STEP)",
    "mid_save": "inside the save of checkpoint-STEP: weights, optimizer and RNG state written, trainer_state.json not",
    "before_best_copy": "after checkpoint-STEP is complete, before it is copied to best/",
}


def run_and_kill(point: str, step: int, argv: list[str]) -> None:
    """Run recipes/lapt.py in this process and SIGKILL it at ``point`` of optimizer step ``step``."""
    import os
    import signal

    from transformers import TrainerCallback

    from langadapt.recipes_loader import load_recipe

    if point not in KILL_POINTS:
        raise ValueError(f"kill point {point!r}: expected one of {sorted(KILL_POINTS)}")

    def die(at: str, global_step: int) -> None:
        if at == point and global_step == step:
            os.kill(os.getpid(), signal.SIGKILL)

    class Killer(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            die("step_end", state.global_step)

        def on_save(self, args, state, control, **kwargs):
            die("before_best_copy", state.global_step)

    lapt = load_recipe("lapt")

    class KilledTrainer(lapt.LaptTrainer):
        def __init__(self, *args, callbacks=(), **kwargs):
            super().__init__(*args, callbacks=[Killer(), *callbacks], **kwargs)  # first: before the best/ copy

        def _save_rng_state(self, output_dir):  # the last file before trainer_state.json
            super()._save_rng_state(output_dir)
            die("mid_save", self.state.global_step)

    lapt.LaptTrainer = KilledTrainer
    lapt.main(*parse_lapt(argv))
    raise SystemExit(f"the run ended without being killed at {point} of step {step}")


if __name__ == "__main__":
    import sys

    run_and_kill(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
