"""A sweep's cached stages, each built once in the work directory by its recipe's ``main()``.

data (once) → tokenizer (per target, vocabulary size, α) → replaced model (per tokenizer and init; the source
vocabulary gets the source with an MLM head instead) → LAPT (per model, mode, α and steps). A LAPT run with more
steps continues from the final checkpoint of the next shorter run of the grid (``lapt_continue``): with a
learning rate that does not depend on the run's length, resuming is bit-identical to an uninterrupted run
(docs/lapt.md), so the 200-step model *is* the 100-step model trained 100 steps more, and training it from
scratch (when the shorter run's checkpoint is gone) gives the same weights.

Layout under the work directory: ``data/``, ``tokenizer/<target>/v<size>_a<α>``, ``source_mlm``,
``replaced/<target>/v<size>_a<α>/<init>``, ``lapt/<model path>`` (trained in ``<dir>.partial``, renamed when
``lapt_results.json`` is there), each with ``<output>.settings.json`` beside it (`cache`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from ..io_utils import atomic_directory, write_json
from ..layout import DATA_REPORT_FILE, LAPT_RESULTS_FILE
from .cache import PARTIAL, build_once
from .config import FAMILY, SweepConfig, SweepConfigError, split_key_value
from .grid import Model, lapt_predecessor, slug
from .recipes import DEFAULT_RECIPES_DIR, STAGES, StageArguments

logger = logging.getLogger("langadapt.experiments")
CONTINUATION_FILE = "sweep_continuation.json"  # in a LAPT run that continued a shorter one
LENGTH_FREE_SCHEDULES = ("constant", "constant_with_warmup")


@dataclasses.dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def source_mlm(self) -> Path:
        return self.root / "source_mlm"

    def tokenizer(self, model: Model) -> Path:
        target, key = model.tokenizer_key
        return self.root / "tokenizer" / target / key

    def replaced(self, model: Model) -> Path:
        target, key = model.tokenizer_key
        return self.root / "replaced" / target / key / slug(model.init)

    def lapt(self, model: Model) -> Path:
        return self.root / "lapt" / model.path

    def finetune(self, sweep_name: str) -> Path:
        return self.root / "finetune" / sweep_name


def lapt_complete(path: Path) -> bool:
    return (path / LAPT_RESULTS_FILE).is_file()


class SweepStages:
    """Builds (or reuses) the stages of a sweep's models."""

    def __init__(self, config: SweepConfig, work_dir: str | Path, recipes_dir: Path = DEFAULT_RECIPES_DIR):
        self.config = config
        self.work = Workspace(Path(work_dir))
        self.args = {stage: StageArguments(config, stage, recipes_dir) for stage in STAGES}
        self._source: str | None = None
        check_lapt_settings(config, self.args["lapt"].fixed)

    # --- inputs ------------------------------------------------------------------------------------------------
    def source(self) -> str:
        """The source model; 'e5-small' is multilingual-e5-small converted locally (no Hub access needed)."""
        if self._source is None:
            if self.config.source_model == "e5-small":
                from ..models import load_e5_small

                self._source = str(load_e5_small())
            else:
                self._source = self.config.source_model
        return self._source

    def corpora(self, target: str) -> tuple[list[str], list[str]]:
        """(train, dev) NAME=PATH specs of a target's corpora (prepared ones when prepare_data)."""
        names = self.config.corpus_names() if target == FAMILY else [target]
        if self.config.prepare_data:
            data = self.ensure_data()
            return [f"{n}={data / n / 'train.txt'}" for n in names], [f"{n}={data / n / 'dev.txt'}" for n in names]
        pick = lambda specs: [s for s in specs if split_key_value(s, "corpora")[0] in names]  # noqa: E731
        return pick(self.config.corpora), pick(self.config.dev_corpora)

    def data_settings(self) -> dict[str, Any]:
        if self.config.prepare_data:
            return {"data": self.args["data"].record({"corpora": self.config.corpora})}
        return {"data": {"corpora": self.config.corpora, "dev_corpora": self.config.dev_corpora}}

    # --- stages ------------------------------------------------------------------------------------------------
    def ensure_data(self) -> Path:
        output = self.work.data
        values = {"corpora": self.config.corpora, "output_dir": str(output)}

        def build() -> None:
            (args,) = self.args["data"].build(values)
            self.args["data"].recipe.main(args)

        return build_once(output, self.data_settings(), lambda p: (p / DATA_REPORT_FILE).is_file(), build)

    def tokenizer_settings(self, model: Model) -> tuple[dict[str, Any], dict[str, Any]]:
        values = {"tokenizer_name_or_path": self.config.source_model, "vocab_size": model.vocab_size}
        if model.alpha is not None:
            values["alpha"] = model.alpha
        return values, {"tokenizer": self.args["tokenizer"].record(values), **self.data_settings()}

    def ensure_tokenizer(self, model: Model) -> Path:
        output = self.work.tokenizer(model)
        values, settings = self.tokenizer_settings(model)

        def build() -> None:
            train, dev = self.corpora(model.target)
            paths = {
                "corpora": train,
                "stats_corpora": dev,
                "tokenizer_name_or_path": self.source(),
                "output_dir": str(output),
            }
            (args,) = self.args["tokenizer"].build({**values, **paths})
            self.args["tokenizer"].recipe.main(args)

        return build_once(output, settings, Path.is_dir, build)

    def input_settings(self, model: Model) -> dict[str, Any]:
        """The settings of the model LAPT starts from (the replaced model, or the source with an MLM head)."""
        seed = self.args["replace"].fixed.get("seed", 42)
        if model.vocab_size is None:
            return {"source_mlm": {"source_model": self.config.source_model, "seed": seed}}
        values = {"model_name_or_path": self.config.source_model, "init_spec": model.init}
        return {"replace": self.args["replace"].record(values), **self.tokenizer_settings(model)[1]}

    def ensure_source_mlm(self) -> Path:
        """The source with an MLM head (a fresh one for a sentence encoder such as e5): the full-vocabulary LAPT
        input."""
        from ..vocab import load_source_model, with_mlm_head

        output = self.work.source_mlm
        seed = self.args["replace"].fixed.get("seed", 42)

        def build() -> None:
            model, tokenizer, _ = load_source_model(self.source())
            model = with_mlm_head(model, seed=seed)
            with atomic_directory(output) as tmp:
                model.save_pretrained(tmp)
                tokenizer.save_pretrained(tmp)

        return build_once(output, self.input_settings(_SOURCE), Path.is_dir, build)

    def ensure_replaced(self, model: Model) -> Path:
        output = self.work.replaced(model)

        def build() -> None:
            tokenizer = self.ensure_tokenizer(model)
            values = {
                "model_name_or_path": self.source(),
                "target_tokenizer": str(tokenizer),
                "output_dir": str(output),
                "init_spec": model.init,
            }
            if "focus" in model.init.split("+"):  # FOCUS's fastText, trained on the target's text
                values["fasttext_corpus"] = [spec.partition("=")[2] for spec in self.corpora(model.target)[0]]
            args, options = self.args["replace"].build(values)
            self.args["replace"].recipe.main(args, options)

        return build_once(output, self.input_settings(model), Path.is_dir, build)

    def lapt_values(self, model: Model) -> dict[str, Any]:
        values = {"lapt_mode": model.lapt_mode, "max_steps": model.lapt_steps}
        if model.alpha is not None:
            values["alpha"] = model.alpha
        return values

    def lapt_settings(self, model: Model) -> dict[str, Any]:
        return {"lapt": self.args["lapt"].record(self.lapt_values(model)), **self.input_settings(model)}

    def has_longer_run(self, model: Model) -> bool:
        """Whether a longer LAPT run of the grid continues this one (so its final checkpoint is kept)."""
        return self.config.lapt_continue and any(s > model.lapt_steps for s in self.config.lapt_steps)

    def ensure_lapt(self, model: Model) -> Path:
        """LAPT of the model's input; trains in ``<dir>.partial`` and becomes ``<dir>`` once the recipe wrote
        ``lapt_results.json``. A killed run resumes from its last complete checkpoint; a run with a shorter
        predecessor starts from that one's final checkpoint (when kept), else from step 0."""
        from ..lapt import find_resume_checkpoint

        output = self.work.lapt(model)

        def build() -> None:
            partial = output.with_name(output.name + PARTIAL)
            if lapt_complete(partial):  # killed while tidying up: nothing to train again
                self.finish_lapt(model, partial, output)
                return
            input_dir = self.ensure_source_mlm() if model.vocab_size is None else self.ensure_replaced(model)
            resume = find_resume_checkpoint(partial) is not None  # a checkpoint cut short by a kill does not count
            if not resume:
                resume = self.start_from_predecessor(model, partial)
            train, dev = self.corpora(model.target)
            paths = {"output_dir": str(partial), "resume": resume, "overwrite": not resume, "eval_on_start": not resume,
                     "train_corpora": train, "dev_corpora": dev}  # fmt: skip
            model_args, lapt_args, training_args = self.args["lapt"].build(
                {**self.lapt_values(model), **paths, "model_name_or_path": str(input_dir)}
            )
            self.args["lapt"].recipe.main(model_args, lapt_args, training_args)
            self.finish_lapt(model, partial, output)

        return build_once(output, self.lapt_settings(model), lapt_complete, build)

    def start_from_predecessor(self, model: Model, partial: Path) -> bool:
        """Put the next shorter run's final checkpoint (hard links) and ``best/`` in ``partial``; False if there is
        no such run or its checkpoint was not kept (then this run trains from step 0, to the same weights)."""
        from ..lapt.resume import is_complete_checkpoint

        shorter = lapt_predecessor(self.config, model)
        if shorter is None:
            return False
        shorter_dir = self.ensure_lapt(shorter)  # lock order: longer before shorter, never the reverse
        checkpoint = shorter_dir / f"checkpoint-{shorter.lapt_steps}"
        if not is_complete_checkpoint(checkpoint):
            logger.warning("%s has no final checkpoint: LAPT of %s starts from step 0", shorter_dir, model.name)
            return False
        if partial.exists():
            shutil.rmtree(partial)
        partial.mkdir(parents=True)
        link_tree(checkpoint, partial / checkpoint.name)
        if (shorter_dir / "best").is_dir():
            link_tree(shorter_dir / "best", partial / "best")
        write_json(partial / CONTINUATION_FILE, {"continued_from": str(shorter_dir), "step": shorter.lapt_steps})
        logger.info("LAPT of %s continues %s from step %d", model.name, shorter_dir, shorter.lapt_steps)
        return True

    def finish_lapt(self, model: Model, partial: Path, output: Path) -> None:
        """Delete the checkpoints (``best/`` is what later stages use) but the final one when a longer run of the
        grid continues from it, and move the run into place."""
        keep = f"checkpoint-{model.lapt_steps}" if self.has_longer_run(model) else None
        for leftover in [*partial.glob("checkpoint-*"), *partial.glob(".best.*")]:  # .best.*: an interrupted copy
            if leftover.is_dir() and leftover.name != keep:
                shutil.rmtree(leftover)
        if output.exists():  # a stale directory without lapt_results.json (should not happen): replace it
            shutil.rmtree(output)
        os.replace(partial, output)

    def ensure_model(self, model: Model) -> tuple[str, Path | None]:
        """The model a unit fine-tunes (the source, the replaced model without LAPT, or LAPT's ``best/``) and the
        LAPT directory (None without LAPT)."""
        if model.lapt_steps == 0:
            return (self.source() if model.vocab_size is None else str(self.ensure_replaced(model))), None
        lapt_dir = self.ensure_lapt(model)
        return str(lapt_dir / "best"), lapt_dir


# Any source-vocabulary model: the source MLM's settings do not depend on the other factors.
_SOURCE = Model(FAMILY, None, None, "source", "none", 0)


def link_tree(source: Path, destination: Path) -> None:
    """Copy a directory as hard links (no disk space; training never writes into an existing checkpoint), or as
    copies where the file system cannot link."""
    try:
        shutil.copytree(source, destination, copy_function=os.link)
    except OSError:
        shutil.rmtree(destination, ignore_errors=True)
        shutil.copytree(source, destination)


def check_lapt_settings(config: SweepConfig, fixed: dict[str, Any]) -> None:
    """Settings that would make the grid's LAPT runs wrong, caught before anything trains."""
    from ..lapt import LaptArguments, LaptTrainingArguments

    def value(name: str) -> Any:
        if name in fixed:
            return fixed[name]
        for dtype in (LaptArguments, LaptTrainingArguments):
            if name in dtype.__dataclass_fields__:
                return dtype.__dataclass_fields__[name].default
        raise KeyError(name)

    steps = sorted(s for s in config.lapt_steps if s > 0)
    freeze = value("freeze_transformer_steps")
    if steps and "full" in config.lapt_mode and freeze >= steps[0]:
        raise SweepConfigError(
            f"lapt_args: freeze_transformer_steps={freeze} is not below the shortest LAPT run ({steps[0]} steps): "
            "FULL would never train the transformer body there; set freeze_transformer_steps (a step count, the "
            "same for every run length, as [TX] keeps 10k frozen steps for 100k–400k)"
        )
    if not config.lapt_continue or len(steps) < 2:
        return
    why = (
        "lapt_continue: a longer LAPT run continues from the final checkpoint of the shorter one, which equals "
        "training it from step 0 only if"
    )
    fix = "or set lapt_continue: false to train each length on its own (as [TX] did)"
    schedule = str(getattr(value("lr_scheduler_type"), "value", value("lr_scheduler_type")))
    if schedule not in LENGTH_FREE_SCHEDULES:
        raise SweepConfigError(
            f"{why} the learning rate does not depend on the run's length; lr_scheduler_type={schedule} does. Set "
            f"lapt_args: [lr_scheduler_type=constant_with_warmup, warmup_steps=N] {fix}"
        )
    warmup = value("warmup_steps")
    if 0 < warmup < 1:  # a fraction of the run's steps
        raise SweepConfigError(
            f"{why} the warmup is a step count: warmup_steps={warmup} is a fraction of the run, {fix}"
        )
    if value("early_stopping_patience") is not None:
        raise SweepConfigError(f"{why} every run reaches its step count: early_stopping_patience must be unset, {fix}")
    for name in ("eval_steps", "save_steps"):
        interval = value(name)
        bad = [s for s in steps if interval and s % interval]
        if bad:
            raise SweepConfigError(
                f"{why} each shorter run ends on an evaluation and a checkpoint of the longer one: lapt_steps {bad} "
                f"are not multiples of {name}={interval:g}, {fix}"
            )


def lapt_wall_time(lapt_dir: Path) -> float:
    """Wall time of a LAPT run including the shorter runs it continued (each session's own time summed)."""
    results = json.loads((lapt_dir / LAPT_RESULTS_FILE).read_text(encoding="utf-8"))
    total = float(results["wall_time_s"])
    continuation = lapt_dir / CONTINUATION_FILE
    if continuation.is_file():
        shorter = Path(json.loads(continuation.read_text(encoding="utf-8"))["continued_from"])
        if (shorter / LAPT_RESULTS_FILE).is_file():
            total += lapt_wall_time(shorter)
    return total
