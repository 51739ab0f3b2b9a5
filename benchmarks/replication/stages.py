"""The harness's stages, each cached in the work directory and reused when complete (atomic directories).

tokenizer (per language) → fastText (per language, FOCUS only) → replaced model (per language and init) →
LAPT (per language, init and mode; the source vocabulary gets a fresh MLM head first) → fine-tuning (per seed).
Stages call the recipes' ``main()`` so the harness runs exactly what a user would, with the arguments the recipe's
parser makes of the budget's stage settings (settings.py) and the values the harness sets (paths, init, mode).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from grid import NO_LAPT, SOURCE_VOCAB, Budget, StagePaths, Unit
from locks import exclusive
from settings import stage_arguments

from langadapt import atomic_directory, write_json
from langadapt.experiments.runner import lapt_summary
from langadapt.layout import LAPT_RESULTS_FILE, UNIT_RESULTS_FILE

logger = logging.getLogger("langadapt.replication")
REPO = Path(__file__).resolve().parents[2]
PARTIAL = ".partial"
FAILED_TOKENIZERS: dict[Path, Exception] = {}  # this process's failed tokenizer stages


@cache
def recipe(name: str):
    """A recipe module (``recipes/<name>.py``) loaded from its file: the harness calls its ``main()``."""
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", REPO / "recipes" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_once(output: Path, is_complete: Callable[[Path], bool], build: Callable[[], object]) -> Path:
    """``output`` built by ``build()`` unless complete; under its lock, so that of several harness processes
    sharing the work directory one builds it and the others wait and reuse it. A stage's build may need earlier
    stages (LAPT → replaced model → tokenizer, fastText), so locks are always taken in that order: no deadlock."""
    if not is_complete(output):
        with exclusive(output):
            if not is_complete(output):  # another process may have built it while this one waited
                build()
    return output


def resolve_source(budget: Budget) -> str:
    """The source model directory; 'e5-small' is multilingual-e5-small converted locally (no Hub access)."""
    if budget.source_model == "e5-small":
        from langadapt.models import load_e5_small

        return str(load_e5_small())
    return budget.source_model


def tokenizer_arguments(budget: Budget, language: str, source: str, output_dir: Path):
    """The tokenizer recipe's (TokenizerTrainingArguments,) for one language of the budget."""
    return stage_arguments(budget, "tokenizer").build(
        {
            "corpora": [f"{language}={budget.spec('lapt_train', language)}"],
            "stats_corpora": [f"{language}={budget.spec('lapt_dev', language)}"],
            "tokenizer_name_or_path": source,
            "output_dir": str(output_dir),
        }
    )


def ensure_tokenizer(budget: Budget, paths: StagePaths, language: str, source: str) -> Path:
    """A SentencePiece tokenizer trained on this language's LAPT text alone ([ES])."""
    output = paths.tokenizer(language)
    if output in FAILED_TOKENIZERS:  # every init method of the language needs it: fail fast, do not retrain
        raise FAILED_TOKENIZERS[output]
    (args,) = tokenizer_arguments(budget, language, source, output)
    try:
        return build_once(output, Path.is_dir, lambda: recipe("train_tokenizer").main(args))
    except Exception as err:
        FAILED_TOKENIZERS[output] = err
        raise


def ensure_fasttext(budget: Budget, paths: StagePaths, language: str) -> Path:
    """FOCUS's fastText model on the LAPT text tokenized with the new tokenizer, once per language."""
    from transformers import AutoTokenizer

    from langadapt.vocab import train_fasttext

    output = paths.fasttext(language)

    def build() -> None:
        tmp = output.with_name(output.name + PARTIAL)
        tokenizer = AutoTokenizer.from_pretrained(paths.tokenizer(language))
        threads = budget.setting("replace", "fasttext_threads")  # the replace stage's, which FOCUS then uses
        train_fasttext([budget.spec("lapt_train", language)], tokenizer, tmp, threads=threads)
        os.replace(tmp, output)

    return build_once(output, Path.is_file, build)


def ensure_source_mlm(paths: StagePaths, source: str) -> Path:
    """The source with an MLM head (fresh for a sentence encoder such as e5): the full-vocabulary LAPT input."""
    from langadapt.vocab import load_source_model, with_mlm_head

    def build() -> None:
        model, tokenizer, _ = load_source_model(source)
        model = with_mlm_head(model, seed=42)
        with atomic_directory(paths.source_mlm()) as tmp:
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)

    return build_once(paths.source_mlm(), Path.is_dir, build)


def replace_arguments(budget: Budget, init: str, source: str, tokenizer: Path, fasttext: Path | None, output: Path):
    """The vocabulary replacement recipe's (VocabReplacementArguments, InitOptions) for one init method."""
    return stage_arguments(budget, "replace").build(
        {
            "model_name_or_path": source,
            "target_tokenizer": str(tokenizer),
            "output_dir": str(output),
            "init_spec": init,
            "fasttext_model": None if fasttext is None else str(fasttext),
        }
    )


def ensure_replaced(budget: Budget, paths: StagePaths, language: str, init: str, source: str) -> Path:
    """The source with this language's tokenizer and embeddings re-initialised by ``init``."""
    output = paths.replaced(language, init)

    def build() -> None:
        tokenizer = ensure_tokenizer(budget, paths, language, source)
        fasttext = ensure_fasttext(budget, paths, language) if "focus" in init.split("+") else None
        recipe("replace_vocab").main(*replace_arguments(budget, init, source, tokenizer, fasttext, output))

    return build_once(output, Path.is_dir, build)


def lapt_arguments(budget: Budget, model_dir: str | Path, language: str, mode: str, output_dir: Path, resume: bool):
    """The LAPT recipe's (ModelArguments, LaptArguments, LaptTrainingArguments) for one model of the budget."""
    return stage_arguments(budget, "lapt").build(
        {
            "model_name_or_path": str(model_dir),
            "train_corpora": [f"{language}={budget.spec('lapt_train', language)}"],
            "dev_corpora": [f"{language}={budget.spec('lapt_dev', language)}"],
            "lapt_mode": mode,
            "resume": resume,
            "overwrite": not resume,
            "output_dir": str(output_dir),
            # The dev loss of the LAPT input too (step 0 of the loss-vs-step table); dev masking is fixed per draw,
            # so this evaluation leaves the training run unchanged. Not again on resume: step 0 is in the log.
            "eval_on_start": not resume,
            "use_cpu": budget.use_cpu,
            "disable_tqdm": True,
            "report_to": "none",
        }
    )


def ensure_lapt(budget: Budget, paths: StagePaths, language: str, init: str, mode: str, source: str) -> Path:
    """LAPT of the (replaced or source-vocabulary) model; trains in ``<dir>.partial`` and becomes ``<dir>`` once
    ``lapt_results.json`` (the recipe's last write) is there. After a kill it resumes from the last complete
    checkpoint (ending where an uninterrupted run ends), starts over if none is complete, and only tidies up if
    the run had finished."""
    from langadapt.lapt import find_resume_checkpoint

    output = paths.lapt(language, init, mode)

    def build() -> None:
        partial = output.with_name(output.name + PARTIAL)
        if (partial / LAPT_RESULTS_FILE).is_file():  # killed while tidying up: nothing to train again
            finish_lapt(partial, output)
            return
        if init == SOURCE_VOCAB:
            model_dir = ensure_source_mlm(paths, source)
        else:
            model_dir = ensure_replaced(budget, paths, language, init, source)
        resume = find_resume_checkpoint(partial) is not None  # a checkpoint cut short by the kill does not count
        recipe("lapt").main(*lapt_arguments(budget, model_dir, language, mode, partial, resume))
        finish_lapt(partial, output)

    return build_once(output, lambda path: (path / LAPT_RESULTS_FILE).is_file(), build)


def finish_lapt(partial: Path, output: Path) -> None:
    """Delete a finished LAPT run's checkpoints (``best/`` is all later stages need) and move it into place."""
    for leftover in [*partial.glob("checkpoint-*"), *partial.glob(".best.*")]:  # .best.*: an interrupted copy
        if leftover.is_dir():
            shutil.rmtree(leftover)
    if output.exists():  # a stale directory without lapt_results.json (should not happen): replace it
        shutil.rmtree(output)
    os.replace(partial, output)


def ensure_model(budget: Budget, paths: StagePaths, unit: Unit, source: str) -> tuple[str, Path | None]:
    """The model the unit fine-tunes (the source off the shelf, else the LAPT stage's ``best/``, built or
    reused) and the LAPT directory (None off the shelf)."""
    if unit.mode == NO_LAPT:
        return source, None
    lapt_dir = ensure_lapt(budget, paths, unit.language, unit.init, unit.mode, source)
    return str(lapt_dir / "best"), lapt_dir


def finetune_arguments(budget: Budget, unit: Unit, model_path: str, label: str, output_dir: Path):
    """The fine-tuning recipe's (EvalDataArguments, EvalModelArguments, FinetuneArguments) for one unit: UD POS in
    the full regime (``dev_size`` training sentences held out as dev), the unit's seed."""
    return stage_arguments(budget, "finetune").build(
        {
            "task": "pos",
            "regime": "full",
            "train_data": [f"{unit.language}={budget.spec('ud_train', unit.language)}"],
            "test_data": [f"{unit.language}={budget.spec('ud_test', unit.language)}"],
            "seeds": [unit.seed],
            "model_name_or_path": model_path,
            "model_label": label,
            "output_dir": str(output_dir),
            "use_cpu": budget.use_cpu,
            "disable_tqdm": True,
            "report_to": "none",
        }
    )


def unit_label(unit: Unit) -> str:
    """The fine-tuning recipe's model label of the unit's model (its folder under ``finetune/``)."""
    return f"{unit.language}__{unit.mode}__{unit.init}"


def finetune_work_dir(paths: StagePaths, unit: Unit) -> Path:
    """Where the unit's fine-tuning keeps its checkpoints while it runs (and after a kill, to continue from)."""
    from langadapt.evaluation import seed_work_dir

    return seed_work_dir(paths.finetune(), unit_label(unit), "pos", "full", unit.language, unit.seed)


def run_unit(budget: Budget, paths: StagePaths, unit: Unit, results_dir: Path, source: str) -> dict[str, Any]:
    """Build (or reuse) the unit's model, fine-tune and test it for the unit's seed, write its results JSON."""
    from langadapt.evaluation import unit_dir

    start = time.time()
    model_path, lapt_dir = ensure_model(budget, paths, unit, source)
    prepared = time.time()
    label = unit_label(unit)
    recipe("finetune").main(*finetune_arguments(budget, unit, model_path, label, paths.finetune()))
    result_file = unit_dir(paths.finetune(), label, "pos", "full", unit.language, unit.seed) / UNIT_RESULTS_FILE
    record = json.loads(result_file.read_text(encoding="utf-8"))
    record.update(
        init_method=unit.init,
        lapt_mode=unit.mode,
        budget=budget.name,
        unit=unit.name,
        lapt=lapt_summary(lapt_dir),
        harness_wall_time_s={"prepare": round(prepared - start, 1), "finetune": round(time.time() - prepared, 1)},
    )
    write_json(unit.results_path(results_dir), record)
    return record
