"""Running a sweep: each unit once (resumable), several processes on one work directory, one results JSON per
unit and test language, carrying the grid factors for the report and the regression.

A unit is done when all its results JSONs exist; a rerun skips it, unless its results were made with other
settings than the config's now (`StaleStageError`: results of two configurations would mix under one name).
Each unit is claimed by the process that starts it (others skip it), and each stage is built by one process
while the others wait and reuse it (`locks`).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from ..io_utils import write_json
from ..layout import LAPT_RESULTS_FILE, UNIT_RESULTS_FILE
from ..recipes_loader import load_recipe
from .cache import StaleStageError, check_settings
from .catalog import DataCatalog
from .config import FAMILY, SweepConfig, SweepRunArguments
from .grid import Model, Unit, expand_models, expand_units
from .locks import LockHeld, exclusive, is_held
from .recipes import DEFAULT_RECIPES_DIR, StageArguments
from .stages import SweepStages, lapt_wall_time

logger = logging.getLogger("langadapt.experiments")
# The report's rows: one per model of the grid.
ROW_FIELDS = ["vocabulary", "alpha", "lapt_steps", "init_method", "lapt_mode"]
FINETUNE_UNRECORDED = ("model_name_or_path", "model_label")  # paths of the work dir; the model's settings say it


def default_dirs(config: SweepConfig, run_args: SweepRunArguments) -> tuple[Path, Path]:
    root = Path("runs") / "sweeps" / config.name
    return Path(run_args.work_dir or root / "work"), Path(run_args.results_dir or root / "results")


def unit_status_line(name: str, *, done: bool, claim: Path, work_dir: Path) -> str:
    """A unit's line in a listing: done, todo, or running (another process holds its ``claim``); for an unfinished
    unit whose fine-tuning checkpointed in ``work_dir`` (interrupted, or under way), how far it got: a rerun
    continues from there."""
    from ..evaluation import interrupted_progress

    if done:
        return f"done    {name}"
    line = f"{'running' if is_held(claim) else 'todo':<7} {name}"
    progress = interrupted_progress(work_dir)
    if progress is None:
        return line
    best = "–" if progress["best_metric"] is None else f"{progress['best_metric']:.4f}"
    return (
        f"{line}  (checkpoint at epoch {progress['epoch']:g} of {progress['num_train_epochs']:g}, step "
        f"{progress['step']} of {progress['max_steps']}; best dev {best})"
    )


class Sweep:
    """A sweep config expanded against its data, with its stages and the units to run."""

    def __init__(
        self, config: SweepConfig, run_args: SweepRunArguments | None = None, recipes_dir: Path = DEFAULT_RECIPES_DIR
    ):
        self.config = config
        self.run_args = run_args or SweepRunArguments()
        self.work_dir, self.results_dir = default_dirs(config, self.run_args)
        self.recipes_dir = recipes_dir
        self.catalog = DataCatalog(config.dataset_entries(), config.data_dirs)
        self.only = config.patterns("only", self.run_args.only)
        self.units = expand_units(config, self.catalog, self.only)
        self.stages = SweepStages(config, self.work_dir, recipes_dir)
        self._finetune_args: dict[str, StageArguments] = {}
        for unit in self.units:  # a tasks entry's own fine-tuning options are checked before anything runs
            self.finetune_args(unit)

    # --- settings ----------------------------------------------------------------------------------------------
    def finetune_args(self, unit: Unit) -> StageArguments:
        if unit.entry.text not in self._finetune_args:
            base = self.stages.args["finetune"]
            self._finetune_args[unit.entry.text] = base.with_options(
                unit.entry.options, f"tasks entry {unit.entry.text!r}"
            )
        return self._finetune_args[unit.entry.text]

    def finetune_values(self, unit: Unit) -> dict[str, Any]:
        split = lambda lang, name: f"{lang}={self.catalog.split(unit.task, lang, name)}"  # noqa: E731
        with_dev = all(self.catalog.get(unit.task, lang).dev is not None for lang in unit.train_languages)
        return {
            "task": unit.task,
            "regime": unit.regime,
            "train_data": [split(lang, "train") for lang in unit.train_languages],
            "dev_data": [split(lang, "dev") for lang in unit.train_languages] if with_dev else [],
            "test_data": [split(lang, "test") for lang in unit.test_languages],
            "seeds": [unit.seed],
        }

    def model_settings(self, model: Model) -> dict[str, Any]:
        if model.lapt_steps > 0:
            return self.stages.lapt_settings(model)
        if model.vocab_size is None:
            return {"source_model": self.config.source_model}
        return self.stages.input_settings(model)

    def unit_settings(self, unit: Unit) -> dict[str, Any]:
        """Everything a unit's results depend on: the model's stage settings and the fine-tuning's."""
        finetune = self.finetune_args(unit).record(self.finetune_values(unit))
        for name in FINETUNE_UNRECORDED:
            finetune.pop(name, None)
        return {"finetune": finetune, **self.model_settings(unit.model)}

    # --- state -------------------------------------------------------------------------------------------------
    def is_done(self, unit: Unit) -> bool:
        """All results JSONs are there; made with other settings is an error (see the module docstring)."""
        paths = unit.results_paths(self.results_dir)
        if not all(p.is_file() for p in paths):
            return False
        current = self.unit_settings(unit)
        for path in paths:
            saved = json.loads(path.read_text(encoding="utf-8")).get("sweep", {}).get("settings")
            if saved is not None:
                check_settings(saved, current, path, f"unit {unit.name}")
        return True

    def pending(self) -> list[Unit]:
        return [unit for unit in self.units if not self.is_done(unit)]

    # --- running -----------------------------------------------------------------------------------------------
    def run_unit(self, unit: Unit) -> list[dict[str, Any]]:
        """Build (or reuse) the unit's model, fine-tune and test it for the unit's seed, write its results."""
        from ..evaluation import unit_dir

        start = time.time()
        model_path, lapt_dir = self.stages.ensure_model(unit.model)
        prepared = time.time()
        args = self.finetune_args(unit)
        finetune_dir = self.stages.work.finetune(self.config.name)
        paths = {"model_name_or_path": model_path, "model_label": unit.model.label, "output_dir": str(finetune_dir),
                 "overwrite": True}  # fmt: skip
        args.recipe.main(*args.build({**self.finetune_values(unit), **paths}))
        finished = time.time()
        settings = self.unit_settings(unit)
        records = []
        for language in unit.test_languages:
            path = unit_dir(finetune_dir, unit.model.label, unit.task, unit.regime, language, unit.seed)
            record = json.loads((path / UNIT_RESULTS_FILE).read_text(encoding="utf-8"))
            record.update(self.unit_fields(unit, language, lapt_dir))
            record["sweep"] = {
                "name": self.config.name,
                "unit": unit.name,
                "wall_time_s": {"prepare": round(prepared - start, 1), "finetune": round(finished - prepared, 1)},
                "settings": settings,
            }
            write_json(unit.results_path(self.results_dir, language), record)
            records.append(record)
        return records

    def unit_fields(self, unit: Unit, language: str, lapt_dir: Path | None) -> dict[str, Any]:
        """The grid factors as top-level fields (what the report's rows and the regression read)."""
        model = unit.model
        lapt = lapt_summary(lapt_dir)
        return {
            "vocabulary": model.vocabulary,
            "vocab_size": model.vocab_size,
            "alpha": model.alpha,
            "lapt_steps": model.lapt_steps,
            "init_method": model.init,
            "lapt_mode": model.lapt_mode,
            "lapt_flops": lapt["flops"] if lapt else 0.0,
            "adaptation_target": model.target,
            "test_dataset": self.catalog.get(unit.task, language).directory.name,
            "train_datasets": [self.catalog.get(unit.task, lang).directory.name for lang in unit.train_languages],
            "lapt": lapt,
        }

    def run(self) -> list[Unit]:
        """Every pending unit in run order; returns the units still pending at the end."""
        todo = self.pending()
        logger.info("sweep %s: %d units, %d to run; work dir %s", self.config.name, len(self.units), len(todo),
                    self.work_dir)  # fmt: skip
        failed: dict[Model, str] = {}
        for done, unit in enumerate(todo[: self.run_args.max_units], start=1):
            started = time.time()
            logger.info("=== unit %d/%d: %s", done, len(todo), unit.name)
            if unit.model in failed:  # its model could not be built: its other units would fail the same way
                logger.error("=== %s skipped: %s", unit.name, failed[unit.model])
                continue
            try:
                with exclusive(unit.claim_path(self.results_dir), wait=False):
                    if self.is_done(unit):
                        logger.info("=== %s: finished by another process", unit.name)
                        continue
                    records = self.run_unit(unit)
            except LockHeld:
                logger.info("=== %s: running in another process; skipped", unit.name)
                continue
            except StaleStageError:
                raise
            except Exception as err:  # one broken stage must not stop the rest of a long grid
                logger.exception("=== %s failed", unit.name)
                failed[unit.model] = f"{type(err).__name__}: {err}"
                continue
            scores = ", ".join(f"{r['language']} {r['metric']} {r['metrics'][r['metric']]:.4f}" for r in records)
            logger.info("=== %s: %s in %.0f s", unit.name, scores, time.time() - started)
        for model, error in failed.items():
            logger.error("=== failed model %s: %s", model.name, error)
        return self.pending()

    def build_models(self) -> list[Model]:
        """``lapt_only``: every selected model's stages, in run order; a model that fails is logged, the others
        go on."""
        models = expand_models(self.config, self.only)
        for n, model in enumerate(models, start=1):
            logger.info("=== model %d/%d: %s", n, len(models), model.name)
            try:
                self.stages.ensure_model(model)
            except StaleStageError:
                raise
            except Exception:
                logger.exception("=== model %s failed", model.name)
        return models

    def list_units(self) -> list[str]:
        """A line per unit (`unit_status_line`), then how many are done."""
        from ..evaluation import seed_work_dir

        todo = set(self.pending())
        finetune_dir = self.stages.work.finetune(self.config.name)
        lines = [
            unit_status_line(
                unit.name,
                done=unit not in todo,
                claim=unit.claim_path(self.results_dir),
                work_dir=seed_work_dir(
                    finetune_dir, unit.model.label, unit.task, unit.regime, unit.test_languages[0], unit.seed
                ),
            )
            for unit in self.units
        ]
        lines.append(f"{len(self.units) - len(todo)}/{len(self.units)} units done ({self.results_dir})")
        return lines

    def write_report(self) -> list[Path]:
        """``<results_dir>/report.md`` (and its CSVs and figures) by recipes/report.py, a row per model."""
        recipe = load_recipe("report", self.recipes_dir)
        fields = ROW_FIELDS if self.config.adaptation == FAMILY else ["adaptation_target", *ROW_FIELDS]
        args = recipe.ReportArguments(
            results_dirs=[str(self.results_dir)], output_prefix=str(self.results_dir / "report"), row_fields=fields
        )
        return recipe.main(args)


def lapt_summary(lapt_dir: Path | None) -> dict[str, Any] | None:
    """A LAPT run's compute and quality figures for the results JSONs (FLOPs: the whole run, the shorter runs
    it continued included; wall time likewise)."""
    if lapt_dir is None:
        return None
    results = json.loads((lapt_dir / LAPT_RESULTS_FILE).read_text(encoding="utf-8"))
    return {
        "dir": str(lapt_dir),
        "steps": results["steps"],
        "global_batch_size": results["global_batch_size"],
        "vocab_size": results["vocab_size"],
        "trainable_parameters": results["trainable_parameters"],
        "flops": results["flops"]["total"],
        "wall_time_s": round(lapt_wall_time(lapt_dir), 1),
        "best_dev_loss": results["best_dev_loss"],
        "best_step": results["best_step"],
        "dev_loss_curve": results["dev_loss_curve"],
        "nonfinite_events": len(results["nonfinite_events"]),
    }
