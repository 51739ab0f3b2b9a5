"""The replication grid: budgets, units (language, init method, LAPT mode, seed) in run order, and stage paths.

A unit is one fine-tuning seed of one adapted model. Work shared between units is cached per stage under the
work directory (tokenizer and fastText per language, replaced model per (language, init), LAPT model per
(language, init, mode)); the unit's own output is one results JSON under the results directory.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

import legacy
import settings

from langadapt import ConfigError, LangadaptParser, write_json
from langadapt.experiments.config import SweepConfigError
from langadapt.layout import UNIT_RESULTS_FILE

logger = logging.getLogger("langadapt.replication")

HERE = Path(__file__).resolve().parent
CONFIG_DIR = HERE / "configs"

# [ES] Table 1's init methods in the paper's row order, plus MEAN (not in the papers; see
# docs/methods.md#embedding-initialisation).
INIT_METHODS = ("random", "ident", "script", "script+posn", "script+posn+ident", "focus", "mean")
LAPT_MODES = ("full", "emb")
# Baselines keep the source vocabulary: init "source" with mode "none" (off the shelf) or a LAPT mode.
SOURCE_VOCAB = "source"
NO_LAPT = "none"


@dataclasses.dataclass
class Budget:
    """One compute budget (configs/<name>.yaml): the grid, the data, and each stage's recipe YAML and overrides.

    The stage settings live in the recipes' own field names (``lapt_args: [max_steps=400, ...]``), resolved by the
    recipe's parser (settings.py): the budget re-declares none of them."""

    name: str = field(metadata={"help": "Budget name; results go to results/<name>/."})
    stages_from: str | None = field(
        default=None,
        metadata={
            "help": "Another budget whose cached stages (tokenizer … LAPT) this one reuses: every field not given "
            "is inherited from it (its *_args lists are merged into the base's), and only finetune_config, "
            "finetune_args and the grid may differ from it."
        },
    )
    # Grid
    languages: list[str] = field(default_factory=lambda: ["myv", "sme"], metadata={"help": "Target languages."})
    init_methods: list[str] = field(default_factory=lambda: list(INIT_METHODS), metadata={"help": "Init specs."})
    lapt_modes: list[str] = field(default_factory=lambda: list(LAPT_MODES), metadata={"help": "LAPT modes."})
    baseline_modes: list[str] = field(
        default_factory=lambda: [NO_LAPT, "full"],
        metadata={"help": "Source-vocabulary baselines: 'none' = off the shelf, 'full' = full-vocabulary LAPT."},
    )
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3], metadata={"help": "Fine-tuning seeds."})
    # Data (NAME=PATH specs, one per language)
    source_model: str = field(default="e5-small", metadata={"help": "Source model dir, or 'e5-small' (local)."})
    lapt_train: list[str] = field(default_factory=list, metadata={"help": "LAPT/tokenizer text per language."})
    lapt_dev: list[str] = field(default_factory=list, metadata={"help": "LAPT dev text per language."})
    ud_train: list[str] = field(default_factory=list, metadata={"help": "UD training treebank per language."})
    ud_test: list[str] = field(default_factory=list, metadata={"help": "UD test treebank per language."})
    # Stage settings: a recipe YAML (None: the recipe's defaults), then field=value overrides in its field names
    tokenizer_config: str | None = field(default=None, metadata={"help": "recipes/train_tokenizer.py YAML."})
    tokenizer_args: list[str] = field(default_factory=list, metadata={"help": "train_tokenizer overrides, k=v."})
    replace_config: str | None = field(default=None, metadata={"help": "recipes/replace_vocab.py YAML."})
    replace_args: list[str] = field(
        default_factory=list,
        metadata={"help": "replace_vocab overrides, k=v (fasttext_threads: FOCUS's fastText too)."},
    )
    lapt_config: str | None = field(default=None, metadata={"help": "recipes/lapt.py YAML."})
    lapt_args: list[str] = field(default_factory=list, metadata={"help": "lapt overrides, k=v."})
    finetune_config: str | None = field(default=None, metadata={"help": "recipes/finetune.py YAML."})
    finetune_args: list[str] = field(default_factory=list, metadata={"help": "finetune overrides, k=v."})
    use_cpu: bool = field(default=False, metadata={"help": "Force CPU (LAPT and fine-tuning)."})
    num_threads: int | None = field(default=None, metadata={"help": "torch threads (None: torch's default)."})

    def spec(self, option: str, language: str) -> str:
        """The PATH of ``language`` in a NAME=PATH list option (e.g. ``ud_test``)."""
        for item in getattr(self, option):
            name, _, path = item.partition("=")
            if name == language:
                return path
        raise KeyError(f"budget {self.name!r}: no {option} entry for language {language!r}")

    def setting(self, stage: str, name: str) -> Any:
        """A resolved stage setting (``budget.setting("lapt", "max_steps")``): the budget's, else the recipe's
        default."""
        return settings.setting(self, stage, name)


# Fields that choose which units run or how fast, not what a unit computes.
GRID_FIELDS = {"languages", "init_methods", "lapt_modes", "baseline_modes", "seeds", "num_threads"}
# Fields that name a budget rather than say what it computes.
IDENTITY_FIELDS = {"name", "stages_from"}
# The budget's own fields the cached stages depend on (besides the stage settings).
DATA_FIELDS = ("source_model", "lapt_train", "lapt_dev", "ud_train", "ud_test", "use_cpu")
OVERRIDE_LISTS = tuple(f"{stage}_args" for stage in settings.STAGES)


def budget_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    return CONFIG_DIR / f"{name_or_path}.yaml" if not path.suffix else path


def _command_line_fields(overrides: Sequence[str]) -> set[str]:
    """The fields set on the command line (``--field value`` or ``--field=value``)."""
    return {o[2:].partition("=")[0] for o in overrides if o.startswith("--")}


def load_budget(name_or_path: str, overrides: Sequence[str] = ()) -> Budget:
    """configs/<name>.yaml (or a path), with ``--field value`` overrides; unknown keys, in the YAML or in an
    override list, raise ConfigError naming the file and the field. An ``--X_args k=v ...`` override changes
    those fields of the YAML's ``X_args`` and keeps its others.

    A budget with ``stages_from: <base>`` takes every field it does not set from the base budget (its override
    lists merged into the base's); a cached stage's setting, data or use_cpu different from the base's raises
    ConfigError, since the stages it reuses were not made with it."""
    from langadapt.configs import load_flat_yaml

    path = budget_path(name_or_path)
    parser = LangadaptParser(Budget)
    (budget,) = parser.parse([str(path), *overrides])
    on_command_line = _command_line_fields(overrides)
    if on_command_line & set(OVERRIDE_LISTS):
        (from_file,) = parser.parse([str(path)])
        for name in on_command_line & set(OVERRIDE_LISTS):
            setattr(budget, name, _merged(getattr(from_file, name), getattr(budget, name), f"--{name}", path))
    if budget.stages_from is not None:
        if budget.stages_from == budget.name:
            raise ConfigError(f"{path}: stages_from names the budget itself ({budget.name!r})")
        base = load_budget(budget.stages_from)
        given = set(load_flat_yaml(path)) | on_command_line
        for name in (f.name for f in dataclasses.fields(Budget) if f.name not in IDENTITY_FIELDS):
            if name not in given:
                setattr(budget, name, getattr(base, name))
            elif name in OVERRIDE_LISTS:
                setattr(budget, name, _merged(getattr(base, name), getattr(budget, name), name, path))
    records = _resolved_records(budget, path)
    if budget.stages_from is not None:
        changed = _differences(budget_record(base), records, "here", shared_only=True)
        if changed:
            raise ConfigError(
                f"{path}: budget {budget.name!r} reuses the cached stages of {base.name!r} (stages_from) but changes "
                f"settings they were made with ({'; '.join(changed)}); only finetune_config, finetune_args and the "
                "grid may differ. Drop stages_from to build its own stages."
            )
    return budget


def _merged(base: list[str], extra: list[str], what: str, path: Path) -> list[str]:
    try:
        return settings.merge_overrides(base, extra, what)
    except SweepConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def _resolved_records(budget: Budget, path: Path) -> dict[str, Any]:
    """``budget_record``, with a bad override or recipe YAML reported against the budget file."""
    try:
        return budget_record(budget)
    except (SweepConfigError, ConfigError) as err:
        raise ConfigError(f"{path}: {err}") from None


def budget_record(budget: Budget) -> dict[str, Any]:
    """What a budget computes, JSON-friendly: its name, data, and each stage's resolved settings (``budget.json``;
    the grid is left out: it chooses which units run, not what they compute)."""
    record = {k: getattr(budget, k) for k in ("name", "stages_from", *DATA_FIELDS)}
    return {**record, "stages": settings.stage_records(budget)}


def _differences(saved: dict[str, Any], current: dict[str, Any], now: str, shared_only: bool = False) -> list[str]:
    """``field: <saved> there, <current> <now>`` for each top-level field and each stage setting that differs;
    ``shared_only``: only what the cached stages depend on (not the name nor fine-tuning)."""
    top = DATA_FIELDS if shared_only else ("name", "stages_from", *DATA_FIELDS)
    lines = [f"{k}: {saved.get(k)!r} there, {current.get(k)!r} {now}" for k in top if saved.get(k) != current.get(k)]
    for stage in settings.CACHED_STAGES if shared_only else settings.STAGES:
        old, new = saved.get("stages", {}).get(stage, {}), current["stages"][stage]
        for key in sorted(set(old) | set(new)):
            if old.get(key, MISSING_SETTING) != new.get(key, MISSING_SETTING):
                there, here = (repr(d.get(key)) if key in d else "unset" for d in (old, new))
                lines.append(f"{stage}_args {key}: {there} there, {here} {now}")
    return lines


MISSING_SETTING = object()


def check_work_dir_budget(budget: Budget, work_dir: Path, create: bool = True) -> None:
    """Record the budget's resolved settings in ``<work_dir>/budget.json`` on first use (``create``); later raise
    ConfigError if a run with other settings (say ``--lapt_args max_steps=800``) would reuse the stages cached
    there under the same name. A ``budget.json`` of the old format (the harness's own field names) is converted
    once and rewritten in the new one when it holds the same settings (legacy.py)."""
    current = budget_record(budget)
    path = work_dir / "budget.json"
    if not path.is_file():
        if create:
            write_json(path, current)
        return
    saved = json.loads(path.read_text(encoding="utf-8"))
    if legacy.is_legacy_record(saved):
        saved = budget_record(Budget(**legacy.budget_fields(saved)))
        if saved == current:
            write_json(path, current)  # atomic
            logger.info("%s: converted to the budget.json format of stage settings", path)
            return
    changed = _differences(saved, current, "now")
    if changed:
        raise ConfigError(
            f"{path}: budget {budget.name!r} differs from the one its cached stages were made with "
            f"({'; '.join(changed)}). Give the changed budget its own --name (results and work directory follow "
            "it), or another --work_dir and --results_dir."
        )


@dataclasses.dataclass(frozen=True, order=False)
class Unit:
    language: str
    init: str  # an init spec, or "source" (the source vocabulary)
    mode: str  # a LAPT mode, or "none" (no LAPT)
    seed: int

    @property
    def model_key(self) -> tuple[str, str, str]:
        return self.language, self.init, self.mode

    @property
    def name(self) -> str:
        return f"{self.language}/{self.mode}/{self.init}/seed{self.seed}"

    def results_path(self, results_dir: str | Path) -> Path:
        return Path(results_dir) / self.language / self.mode / self.init / f"seed{self.seed}" / UNIT_RESULTS_FILE


def enumerate_units(
    budget: Budget,
    languages: Iterable[str] | None = None,
    modes: Iterable[str] | None = None,
    inits: Iterable[str] | None = None,
    seeds: Iterable[int] | None = None,
) -> list[Unit]:
    """Every unit in run order: per language, the off-the-shelf baseline, then each LAPT mode in the budget's
    order (full first) with its full-vocabulary baseline before the new-vocabulary init methods; the seeds of
    one model run together (they share its LAPT). Filters keep the order."""
    keep = lambda values, chosen: [v for v in values if chosen is None or v in set(chosen)]  # noqa: E731
    units = []
    for language in keep(budget.languages, languages):
        models = [(SOURCE_VOCAB, NO_LAPT)] if NO_LAPT in budget.baseline_modes else []
        for mode in budget.lapt_modes:
            if mode in budget.baseline_modes:
                models.append((SOURCE_VOCAB, mode))
            models += [(init, mode) for init in budget.init_methods]
        for init, mode in models:
            if (modes is None or mode in set(modes)) and (inits is None or init in set(inits)):
                units += [Unit(language, init, mode, seed) for seed in keep(budget.seeds, seeds)]
    return units


def pending_units(units: Sequence[Unit], results_dir: str | Path) -> list[Unit]:
    """The units whose results JSON does not exist yet (a rerun skips the finished ones)."""
    return [u for u in units if not u.results_path(results_dir).is_file()]


@dataclasses.dataclass(frozen=True)
class StagePaths:
    """Cached stage outputs under one work directory (each written atomically, reused when complete).

    ``shared_root`` holds the stages up to LAPT when they come from another budget (``stages_from``); the
    fine-tuning outputs and unit claims stay under ``root``."""

    root: Path
    shared_root: Path | None = None

    @property
    def stage_root(self) -> Path:
        return self.shared_root or self.root

    def tokenizer(self, language: str) -> Path:
        return self.stage_root / "tokenizer" / language

    def fasttext(self, language: str) -> Path:
        return self.stage_root / "fasttext" / f"{language}.bin"

    def source_mlm(self) -> Path:
        return self.stage_root / "source_mlm"

    def replaced(self, language: str, init: str) -> Path:
        return self.stage_root / "replaced" / language / init

    def lapt(self, language: str, init: str, mode: str) -> Path:
        return self.stage_root / "lapt" / language / init / mode

    def finetune(self) -> Path:
        return self.root / "finetune"

    def unit_claim(self, unit: Unit) -> Path:
        """Locked (``locks.exclusive``) by the process running ``unit``."""
        return self.root / "claims" / unit.name.replace("/", "__")
