"""``report_to: tensorboard`` works offline: LAPT and fine-tuning runs leave event files with their curves."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from langadapt import LangadaptParser
from langadapt.evaluation import EvalDataArguments, EvalModelArguments, FinetuneArguments
from langadapt.recipes_loader import load_recipe

from .lapt_helpers import parse_lapt, tiny_lapt_argv
from .test_eval_finetune import COMMON, _sentences, _tiny_tokenizer, _write_conllu
from .tiny_models import tiny_xlmr_mlm


def scalar_tags(log_dir: Path) -> dict[str, list[float]]:
    events = sorted(log_dir.rglob("events.out.tfevents.*"))
    assert events, f"no TensorBoard event file under {log_dir}"
    accumulator = EventAccumulator(str(events[0].parent))
    accumulator.Reload()
    return {tag: [e.value for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}


def test_lapt_writes_tensorboard_events(source_model_dir, tiny_corpus_dir, tmp_path):
    out = tmp_path / "lapt"
    argv = tiny_lapt_argv(source_model_dir, tiny_corpus_dir, out, max_steps=4, report_to="tensorboard")
    load_recipe("lapt").main(*parse_lapt(argv))
    scalars = scalar_tags(out / "runs")  # the Trainer's default: OUTPUT_DIR/runs/<time>_<host>
    assert len(scalars["train/loss"]) == 4 and len(scalars["eval/loss"]) >= 2
    assert all(value > 0 for value in scalars["eval/loss"])


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tb_model")
    tokenizer = _tiny_tokenizer()
    tiny_xlmr_mlm(tokenizer, max_position_embeddings=64).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_finetune_keeps_tensorboard_events_beside_the_results(tiny_model_dir, tmp_path):
    train = _write_conllu(tmp_path / "train.conllu", _sentences(24, 1))
    test = _write_conllu(tmp_path / "test.conllu", _sentences(6, 2))
    out = tmp_path / "runs"
    argv = ["--task", "pos", "--model_name_or_path", str(tiny_model_dir), "--train_data", f"xx={train}",
            "--test_data", f"xx={test}", "--output_dir", str(out), "--report_to", "tensorboard", *COMMON]  # fmt: skip
    parsed = LangadaptParser((EvalDataArguments, EvalModelArguments, FinetuneArguments)).parse(argv)
    paths = load_recipe("finetune").main(*parsed)
    assert paths[0].is_file()
    regime_dir = out / tiny_model_dir.name / "pos" / "full"
    # The Trainer's own log dir is inside the work directory that is deleted after the run: the events must not be.
    scalars = scalar_tags(regime_dir / "tensorboard" / "seed1")
    assert "train/loss" in scalars and "eval/accuracy" in scalars
    assert not any(p.name.endswith(".work") for p in (regime_dir / "xx").iterdir())
