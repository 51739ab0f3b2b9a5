"""A budget's stage settings: each stage recipe's own YAML (``<stage>_config``) and ``field=value`` overrides
(``<stage>_args``) in the recipe's own field names, read by ``langadapt.experiments``' ``StageArguments`` exactly as
a sweep reads its ``*_config``/``*_args`` (docs/experiments.md). The harness sets the fields listed in
``HARNESS_SETS`` itself (paths, the grid's init and LAPT mode, caching); an override of one is an error.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from types import SimpleNamespace
from typing import Any

from langadapt.experiments.config import parse_overrides, split_key_value
from langadapt.experiments.recipes import STAGES as SWEEP_STAGES
from langadapt.experiments.recipes import StageArguments

STAGES = ("tokenizer", "replace", "lapt", "finetune")
# The stages whose outputs are cached in the work directory and shared by a budget with ``stages_from``.
CACHED_STAGES = ("tokenizer", "replace", "lapt")
_LOGS = "the harness (logs)"
HARNESS_SETS: dict[str, dict[str, str]] = {
    "tokenizer": {
        "corpora": "the budget's lapt_train",
        "stats_corpora": "the budget's lapt_dev",
        "tokenizer_name_or_path": "the budget's source_model",
        "output_dir": "the work directory",
        "overwrite": "the harness's caching",
    },
    "replace": {
        "model_name_or_path": "the budget's source_model",
        "target_tokenizer": "the tokenizer stage",
        "output_dir": "the work directory",
        "init_spec": "the budget's init_methods",
        "fasttext_model": "the harness's fastText stage",
        "fasttext_corpus": "the harness's fastText stage",
        "overwrite": "the harness's caching",
    },
    "lapt": {
        "model_name_or_path": "the replaced model",
        "tokenizer_name_or_path": "the replaced model",
        "train_corpora": "the budget's lapt_train",
        "dev_corpora": "the budget's lapt_dev",
        "lapt_mode": "the budget's lapt_modes",
        "output_dir": "the work directory",
        "resume": "the harness's caching",
        "overwrite": "the harness's caching",
        "eval_on_start": "the harness (step 0 is evaluated once, not again on resume)",
        "use_cpu": "the budget's use_cpu",
        "disable_tqdm": _LOGS,
        "report_to": _LOGS,
    },
    "finetune": {
        "task": "the harness (UD POS)",
        "regime": "the harness (full)",
        "train_data": "the budget's ud_train",
        "dev_data": "the harness (dev_size sentences held out of train)",
        "test_data": "the budget's ud_test",
        "seeds": "the unit's seed",
        "model_name_or_path": "the unit's model",
        "model_label": "the unit's model",
        "output_dir": "the work directory",
        "overwrite": "the harness's caching",
        "use_cpu": "the budget's use_cpu",
        "disable_tqdm": _LOGS,
        "report_to": _LOGS,
    },
}


def stage_arguments(budget: Any, stage: str) -> StageArguments:
    """The stage's fixed settings (its recipe YAML, then the budget's overrides, type-checked by the recipe's
    parser); raises ``SweepConfigError`` or ``ConfigError`` naming the field. Shared: do not modify."""
    return _stage_arguments(stage, getattr(budget, f"{stage}_config"), tuple(getattr(budget, f"{stage}_args")))


@cache
def _stage_arguments(stage: str, config: str | None, overrides: tuple[str, ...]) -> StageArguments:
    _, config_field, args_field, _ = SWEEP_STAGES[stage]
    source = SimpleNamespace(**{config_field: config, args_field: list(overrides)})
    return StageArguments(source, stage, controlled=HARNESS_SETS[stage])


def setting(budget: Any, stage: str, name: str) -> Any:
    """One resolved stage setting: the budget's (YAML or override), else the recipe's default."""
    args = stage_arguments(budget, stage)
    if name in args.fixed:
        return args.fixed[name]
    for dtype in args.dataclass_types:
        found = dtype.__dataclass_fields__.get(name)
        if found is not None:
            return found.default_factory() if found.default_factory is not dataclasses.MISSING else found.default
    raise KeyError(f"recipes/{args.recipe_name}.py has no field {name!r}")


def stage_records(budget: Any) -> dict[str, dict[str, Any]]:
    """Per stage, the settings its outputs depend on (JSON-friendly): what ``budget.json`` and ``stages_from``
    compare."""
    return {stage: stage_arguments(budget, stage).record({}) for stage in STAGES}


def merge_overrides(base: list[str], extra: list[str], what: str) -> list[str]:
    """``base`` with the entries of ``extra`` added, an entry of ``extra`` replacing ``base``'s for the same field
    (``--lapt_args max_steps=800`` changes that one setting, keeping the budget's others)."""
    parse_overrides(extra, what)  # malformed entries, a field given twice: SweepConfigError naming ``what``
    merged = {split_key_value(item, what)[0]: item for item in base}
    merged.update({split_key_value(item, what)[0]: item for item in extra})
    return list(merged.values())
