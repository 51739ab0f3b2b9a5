"""Where a fine-tuning configuration's units live and which of them still have to run.

A unit is one (task, regime, test language, seed): ``OUTPUT_DIR/MODEL_LABEL/TASK/REGIME/LANG/seed{SEED}/`` holds its
``results.json`` (written atomically, last) and predictions. A unit whose results JSON names the same model is
skipped (``overwrite`` redoes it), so an interrupted or killed sweep continues where it stopped; one naming another
model is an error (`labels.finished_unit`). The test languages of a seed share one training run: its work
directory (checkpoints, deleted afterwards) and saved model sit beside the first language's units, its TensorBoard
events in ``REGIME/tensorboard/seed{SEED}``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..layout import UNIT_RESULTS_FILE
from .args import EvalDataArguments, EvalModelArguments
from .labels import finished_unit


def unit_dir(output_dir: str | Path, label: str, task: str, regime: str, language: str, seed: int) -> Path:
    return Path(output_dir) / label / task / regime / language / f"seed{seed}"


def seed_work_dir(output_dir: str | Path, label: str, task: str, regime: str, language: str, seed: int) -> Path:
    """The checkpoints of a seed's training run whose first test language is ``language`` (`SeedUnits.work_dir`)."""
    return _work_dir(unit_dir(output_dir, label, task, regime, language, seed).parent, seed)


def _work_dir(beside: Path, seed: int) -> Path:
    return beside / f"seed{seed}.work"


@dataclasses.dataclass
class SeedUnits:
    """One seed's units: every test language's directory, the languages still to run, and whether the seed's model
    is to be saved (``--save_model``)."""

    seed: int
    unit_dirs: dict[str, Path]
    pending: list[str]
    save_model: bool = False

    @property
    def needs_model(self) -> bool:
        """The model is to be saved and is not there (killed after the results JSONs, before the model)."""
        return self.save_model and not self.model_dir.is_dir()

    @property
    def done(self) -> bool:
        return not self.pending and not self.needs_model

    @property
    def results_paths(self) -> list[Path]:
        return [path / UNIT_RESULTS_FILE for path in self.unit_dirs.values()]

    @property
    def _beside(self) -> Path:  # the first test language's folder: REGIME/LANG
        return next(iter(self.unit_dirs.values())).parent

    @property
    def work_dir(self) -> Path:
        return _work_dir(self._beside, self.seed)

    @property
    def model_dir(self) -> Path:
        return self._beside / f"seed{self.seed}.model"

    @property
    def tensorboard_dir(self) -> Path:
        return self._beside.parent / "tensorboard" / f"seed{self.seed}"


def plan_seeds(
    *,
    task: str,
    label: str,
    languages: list[str],
    data_args: EvalDataArguments,
    model_args: EvalModelArguments,
    output_dir: str | Path,
) -> list[SeedUnits]:
    """Every seed's units, in ``--seeds`` order. All stored results are checked here, before anything trains: one
    holding another model's results under this label raises `ResultsCollisionError`."""
    plans = []
    for seed in data_args.seeds:
        dirs = {lang: unit_dir(output_dir, label, task, data_args.regime, lang, seed) for lang in languages}
        pending = [
            lang
            for lang, path in dirs.items()
            if model_args.overwrite
            or not finished_unit(path / UNIT_RESULTS_FILE, model_args.model_name_or_path, label)
        ]
        plans.append(SeedUnits(seed, dirs, pending, save_model=model_args.save_model))
    return plans


__all__ = ["SeedUnits", "plan_seeds", "unit_dir"]
