"""The stage recipes a sweep calls, and their arguments: the stage's YAML, the sweep's overrides, the grid's values.

A sweep stage calls ``recipes/<stage>.py``'s ``main()`` with the dataclasses its parser makes, so it runs exactly
what a user running that recipe would. The fixed settings are the recipe YAML (``*_config``) and ``key=value``
overrides (``*_args``), type-checked like a YAML file; the fields the sweep sets itself (paths, grid factors,
seeds) may not be overridden, and a YAML value for one is replaced (logged).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..configs import ConfigError, LangadaptParser
from ..recipes_loader import RECIPES_DIR, load_recipe
from .config import SweepConfig, SweepConfigError, parse_overrides

logger = logging.getLogger("langadapt.experiments")

# Where the recipes are in a source checkout (the one recipe loader's default).
DEFAULT_RECIPES_DIR = RECIPES_DIR

# Per stage: the recipe file, the sweep config's YAML and overrides fields, and the fields the sweep sets (why).
STAGES = {
    "data": ("prepare_data", "data_config", "data_args", {"corpora": "the sweep's corpora", "output_dir": "work dir"}),
    "tokenizer": (
        "train_tokenizer",
        "tokenizer_config",
        "tokenizer_args",
        {
            "corpora": "the sweep's corpora",
            "stats_corpora": "the sweep's dev corpora",
            "tokenizer_name_or_path": "source_model",
            "output_dir": "work dir",
            "vocab_size": "grid factor vocab_size",
            "alpha": "grid factor alpha",
            "overwrite": "the sweep's caching",
        },
    ),
    "replace": (
        "replace_vocab",
        "replace_config",
        "replace_args",
        {
            "model_name_or_path": "source_model",
            "target_tokenizer": "the tokenizer stage",
            "output_dir": "work dir",
            "init_spec": "grid factor init",
            "fasttext_model": "the sweep's FOCUS fastText stage",
            "fasttext_corpus": "the sweep's FOCUS fastText stage",
            "overwrite": "the sweep's caching",
        },
    ),
    "lapt": (
        "lapt",
        "lapt_config",
        "lapt_args",
        {
            "model_name_or_path": "the replaced model",
            "tokenizer_name_or_path": "the replaced model",
            "train_corpora": "the sweep's corpora",
            "dev_corpora": "the sweep's dev corpora",
            "alpha": "grid factor alpha",
            "lapt_mode": "grid factor lapt_mode",
            "max_steps": "grid factor lapt_steps",
            "output_dir": "work dir",
            "resume": "the sweep's caching",
            "overwrite": "the sweep's caching",
            "eval_on_start": "the sweep (step 0 is evaluated once, not again when a run continues)",
        },
    ),
    "finetune": (
        "finetune",
        "finetune_config",
        "finetune_args",
        {
            "task": "the tasks entry",
            "regime": "the tasks entry",
            "train_data": "the tasks entry and datasets",
            "dev_data": "the tasks entry and datasets",
            "test_data": "the tasks entry and datasets",
            "seeds": "the tasks entry",
            "model_name_or_path": "the sweep's model",
            "model_label": "the sweep's model",
            "output_dir": "work dir",
            "overwrite": "the sweep's caching",
        },
    ),
}
# Fields whose value does not change what a stage computes: left out of the settings records.
UNRECORDED = {"output_dir", "overwrite", "resume", "logging_dir", "report_to", "disable_tqdm", "log_level"}


class StageArguments:
    """One stage's fixed settings (YAML + overrides, coerced and checked) and how to build its arguments."""

    def __init__(
        self,
        config: SweepConfig,
        stage: str,
        recipes_dir: Path = DEFAULT_RECIPES_DIR,
        controlled: dict[str, str] | None = None,
    ):
        """``controlled``: the fields the caller sets itself (field → why) instead of the sweep's (``STAGES``); the
        replication harness (benchmarks/replication) reads its budgets' stage settings through this class."""
        self.stage = stage
        self.recipe_name, config_field, args_field, sweep_controlled = STAGES[stage]
        self.controlled = sweep_controlled if controlled is None else controlled
        self.recipe = load_recipe(self.recipe_name, recipes_dir)
        parser: LangadaptParser = self.recipe.make_parser()
        self.parser = parser
        self.dataclass_types = parser.dataclass_types
        self.fixed: dict[str, Any] = {}
        yaml_path = getattr(config, config_field)
        if yaml_path:
            replaced = []
            for key, value in parser.apply_yaml_defaults(yaml_path).items():  # unknown keys, bad types: ConfigError
                if key in self.controlled:
                    replaced.append(key)
                else:
                    self.fixed[key] = value
            if replaced:
                logger.info("%s (%s): the sweep sets %s itself", config_field, yaml_path, ", ".join(sorted(replaced)))
        self.add_overrides(parse_overrides(getattr(config, args_field), args_field), args_field)

    def add_overrides(self, overrides: dict[str, Any], what: str) -> None:
        actions = self.parser._known_actions()
        for old_key, value in overrides.items():
            key = self.parser.canonical_name(old_key, what)
            if key != old_key and key in overrides:
                raise SweepConfigError(f"{what}: {old_key!r} is the deprecated name of {key!r}; give only {key!r}")
            if key not in actions:
                raise SweepConfigError(
                    f"{what}: {key!r} is not an option of recipes/{self.recipe_name}.py (`--help` lists them)"
                )
            if key in self.controlled:
                raise SweepConfigError(f"{what}: {key} is set by the sweep ({self.controlled[key]}); remove it")
            try:
                self.fixed[key] = self.parser._coerce(actions[key], key, value, what)
            except ConfigError as err:
                raise SweepConfigError(str(err)) from None

    def with_options(self, options: Iterable[tuple[str, Any]], what: str) -> StageArguments:
        """A copy with a tasks entry's own fine-tuning overrides added."""
        copy = object.__new__(StageArguments)
        copy.__dict__.update(self.__dict__, fixed=dict(self.fixed))
        copy.add_overrides(dict(options), what)
        return copy

    def values(self, sweep_values: dict[str, Any]) -> dict[str, Any]:
        return {**self.fixed, **sweep_values}

    def build(self, sweep_values: dict[str, Any]) -> tuple:
        """The recipe's argument dataclasses (in its parser's order) for these sweep-set values."""
        values = self.values(sweep_values)
        unknown = set(sweep_values) - {f for t in self.dataclass_types for f in t.__dataclass_fields__}
        if unknown:  # a bug of the sweep, not of the config
            raise AssertionError(f"{self.recipe_name}: no fields {sorted(unknown)}")
        built = []
        for dtype in self.dataclass_types:
            fields = {
                k: v
                for k, v in values.items()
                if k in dtype.__dataclass_fields__ and dtype.__dataclass_fields__[k].init
            }
            try:
                built.append(dtype(**fields))
            except (TypeError, ValueError) as err:
                raise SweepConfigError(f"{self.recipe_name} arguments ({dtype.__name__}): {err}") from err
        return tuple(built)

    def record(self, sweep_values: dict[str, Any]) -> dict[str, Any]:
        """What the stage's outputs depend on, JSON-friendly: the basis of the settings checks."""
        # A renamed field is recorded under its old name, so work directories built before the rename stay valid.
        recorded_as = {new: old for old, new in self.parser.deprecated_names.items()}
        values = {
            recorded_as.get(k, k): _jsonable(v) for k, v in self.values(sweep_values).items() if k not in UNRECORDED
        }
        return dict(sorted(values.items()))


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)
