"""Shared helpers of the LAPT tests: argv for a tiny in-process run of recipes/lapt.py."""

from __future__ import annotations

from pathlib import Path

from langadapt import LangadaptParser
from langadapt.lapt import LaptArguments, LaptTrainingArguments, ModelArguments


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
