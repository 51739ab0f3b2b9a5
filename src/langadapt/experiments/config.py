"""The sweep config: one flat YAML file that declares a family experiment ([TX]) as a grid over the stages.

A sweep adapts a source model to a group of corpora under every combination of the grid factors (vocabulary
size, α, LAPT steps, init method, LAPT mode) and evaluates every adapted model on a list of tasks. Fixed stage
settings come from the stage recipes' own YAML files (``*_config``) and ``key=value`` overrides (``*_args``), so a
stage of the sweep runs exactly what ``recipes/<stage>.py`` would run with them. Everything here is checked
without touching the file system; data locations are resolved when the grid is expanded (`catalog`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import field
from typing import Any

import yaml

SOURCE_VOCAB = "source"  # vocab_size value, and the init of a model that keeps the source vocabulary
NO_LAPT = "none"  # lapt_mode of a model with 0 LAPT steps
FAMILY = "family"  # the adaptation target when one model is adapted to all corpora together
ADAPTATIONS = ("family", "per_language")
# The grid factors: config fields holding lists of values, and the names `exclude`/`only` patterns use.
FACTORS = ("vocab_size", "alpha", "lapt_steps", "init", "lapt_mode")
PATTERN_FIELDS = (*FACTORS, "target")
TASK_KEYS = ("task", "regime", "languages", "train", "test", "seeds")
DEFAULT_SEEDS = (1, 2, 3, 4)  # the fine-tuning recipe's default ([ES]: 4 seeds)


class SweepConfigError(ValueError):
    """A sweep config value is invalid; the message names the field (and the entry)."""


def parse_vocab_size(value: Any) -> int | None:
    """``"source"`` → None (keep the source vocabulary), else a positive number of tokens."""
    text = str(value).strip()
    if text == SOURCE_VOCAB:
        return None
    if not re.fullmatch(r"[0-9]+", text) or int(text) <= 0:
        raise SweepConfigError(f"vocab_size: {value!r} is neither 'source' nor a positive number of tokens")
    return int(text)


def vocabulary_label(vocab_size: int | None) -> str:
    """How results name a vocabulary: ``source``, ``16k`` (16,384 or 16,000), else the number."""
    if vocab_size is None:
        return SOURCE_VOCAB
    for unit in (1024, 1000):
        if vocab_size % unit == 0:
            return f"{vocab_size // unit}k"
    return str(vocab_size)


def split_key_value(text: str, what: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise SweepConfigError(f"{what}: expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def parse_overrides(items: list[str], what: str) -> dict[str, Any]:
    """``key=value`` strings → {key: value}; values are read as YAML (``1e-4``, ``true``, ``[1, 2]``)."""
    overrides = {}
    for item in items:
        key, value = split_key_value(item, what)
        if key in overrides:
            raise SweepConfigError(f"{what}: {key!r} is given twice")
        try:
            overrides[key] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError as err:
            raise SweepConfigError(f"{what}: {item!r} has a value that is not valid YAML: {err}") from err
    return overrides


@dataclasses.dataclass(frozen=True)
class Pattern:
    """``factor=value ...``: a model matches when every named factor has that value (``exclude``/``only``)."""

    text: str
    values: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, text: str, what: str) -> Pattern:
        pairs = [split_key_value(token, f"{what} entry {text!r}") for token in text.split()]
        if not pairs:
            raise SweepConfigError(f"{what}: empty pattern")
        for name, _ in pairs:
            if name not in PATTERN_FIELDS:
                raise SweepConfigError(
                    f"{what}: entry {text!r} names unknown factor {name!r}; factors: {', '.join(PATTERN_FIELDS)}"
                )
        return cls(text, tuple(pairs))

    def matches(self, factors: dict[str, str]) -> bool:
        return all(factors.get(name) == value for name, value in self.values)


def factor_text(name: str, value: Any) -> str:
    """A factor value as patterns compare it (``0.10`` and ``0.1`` are the same α)."""
    if value is None:
        return SOURCE_VOCAB if name == "vocab_size" else "none"
    if name == "alpha":
        return f"{float(value):g}"
    return str(value)


@dataclasses.dataclass(frozen=True)
class TaskEntry:
    """One ``tasks`` entry: ``task=pos regime=few_shot languages=myv,sme seeds=1,2,3 [FINETUNE_FIELD=VALUE ...]``.

    ``full``/``few_shot``: each language trains and tests on its own dataset. ``zero_shot``: one run trains on
    ``train`` (default: every dataset of the task with a training split that is not tested) and tests on each of
    ``test`` (default: every dataset of the task without a training split). Other keys are fields of the
    fine-tuning recipe, for this entry only."""

    text: str
    task: str
    regime: str
    languages: tuple[str, ...] = ()
    train: tuple[str, ...] = ()
    test: tuple[str, ...] = ()
    seeds: tuple[int, ...] = DEFAULT_SEEDS
    options: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def parse(cls, text: str) -> TaskEntry:
        what = f"tasks entry {text!r}"
        values: dict[str, str] = {}
        for token in text.split():
            key, value = split_key_value(token, what)
            if key in values:
                raise SweepConfigError(f"{what}: {key!r} is given twice")
            values[key] = value
        for required in ("task", "regime"):
            if not values.get(required):
                raise SweepConfigError(f"{what}: '{required}=' is required")
        lists = {k: tuple(v for v in values.get(k, "").split(",") if v) for k in ("languages", "train", "test")}
        try:
            seeds = tuple(int(s) for s in values["seeds"].split(",")) if "seeds" in values else DEFAULT_SEEDS
        except ValueError:
            raise SweepConfigError(f"{what}: seeds must be integers separated by commas") from None
        options = {k: v for k, v in values.items() if k not in TASK_KEYS}
        entry = cls(text, values["task"], values["regime"], seeds=seeds,
                    options=tuple(parse_overrides([f"{k}={v}" for k, v in options.items()], what).items()),
                    **lists)  # fmt: skip
        entry.check()
        return entry

    def check(self) -> None:
        from ..evaluation import get_task
        from ..evaluation.regimes import REGIMES

        what = f"tasks entry {self.text!r}"
        try:
            get_task(self.task)
        except KeyError as err:
            raise SweepConfigError(f"{what}: {err.args[0]}") from None
        if self.regime not in REGIMES:
            raise SweepConfigError(f"{what}: unknown regime {self.regime!r}; valid: {', '.join(REGIMES)}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise SweepConfigError(f"{what}: seeds must list distinct seeds")
        if self.regime == "zero_shot":
            if self.languages:
                raise SweepConfigError(f"{what}: zero_shot takes train= and test=, not languages=")
            overlap = set(self.train) & set(self.test)
            if overlap:
                raise SweepConfigError(f"{what}: {sorted(overlap)} both trained on and tested zero-shot")
        elif self.train or self.test:
            raise SweepConfigError(f"{what}: train=/test= are for zero_shot; {self.regime} takes languages=")
        elif not self.languages:
            raise SweepConfigError(f"{what}: languages= is required for {self.regime}")


@dataclasses.dataclass(frozen=True)
class DatasetEntry:
    """``LANG=LOCATION`` or ``TASK:LANG=LOCATION``: a directory with the split files (``*-ud-train.conllu``,
    ``train.tsv``...), given as a path or as a name looked up in ``data_dirs`` (a UD treebank name)."""

    task: str | None
    language: str
    location: str

    @classmethod
    def parse(cls, text: str) -> DatasetEntry:
        key, location = split_key_value(text, "datasets")
        task, _, language = key.rpartition(":")
        if not language or not location:
            raise SweepConfigError(f"datasets: expected [TASK:]LANG=LOCATION, got {text!r}")
        return cls(task or None, language, location)


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclasses.dataclass
class SweepConfig:
    """A family experiment: corpora, the grid, fixed stage settings and the task list (docs/experiments.md)."""

    name: str = field(default=None, metadata=_help("Sweep name (default output: runs/sweeps/<name>/)."))
    source_model: str = field(
        default=None, metadata=_help("Source model: Hub id, local directory, or 'e5-small' (converted locally).")
    )
    # Corpora
    corpora: list[str] = field(
        default_factory=list,
        metadata=_help("Tokenizer and LAPT text, NAME=SOURCE[,SOURCE...] per language (raw when prepare_data)."),
    )
    dev_corpora: list[str] = field(
        default_factory=list,
        metadata=_help("Dev text per corpus NAME (only without prepare_data; prepared data has its own dev split)."),
    )
    prepare_data: bool = field(
        default=True, metadata=_help("Clean and split the corpora with recipes/prepare_data.py first (once).")
    )
    adaptation: str = field(
        default=FAMILY,
        metadata={
            "help": "family: one model per grid point for all corpora (α mixes them); per_language: one per corpus.",
            "choices": list(ADAPTATIONS),
        },
    )
    # Grid
    vocab_size: list[str] = field(
        default_factory=lambda: [SOURCE_VOCAB],
        metadata=_help("Grid: vocabulary sizes (special tokens included), 'source' = keep the source vocabulary."),
    )
    alpha: list[float] = field(
        default_factory=lambda: [0.2], metadata=_help("Grid: α of the tokenizer's and LAPT's corpus mixing.")
    )
    lapt_steps: list[int] = field(
        default_factory=lambda: [100_000], metadata=_help("Grid: LAPT optimizer steps (0 = no LAPT).")
    )
    init: list[str] = field(
        default_factory=lambda: ["script+posn+ident"],
        metadata=_help("Grid: embedding init specs of new vocabularies (replace_vocab's init_spec)."),
    )
    lapt_mode: list[str] = field(default_factory=lambda: ["full"], metadata=_help("Grid: LAPT modes."))
    exclude: list[str] = field(
        default_factory=list,
        metadata=_help(
            "Models left out of the grid, as 'factor=value ...' patterns (e.g. 'vocab_size=source lapt_mode=emb')."
        ),
    )
    lapt_continue: bool = field(
        default=True,
        metadata=_help(
            "A longer LAPT run continues from the final checkpoint of the next shorter one of the grid (needs a "
            "learning-rate schedule that does not depend on the run's length); off: every length trains alone."
        ),
    )
    # Fixed stage settings: a stage recipe's YAML file, then key=value overrides
    data_config: str | None = field(
        default=None, metadata=_help("prepare_data YAML (its corpora/output_dir are the sweep's).")
    )
    data_args: list[str] = field(default_factory=list, metadata=_help("prepare_data overrides, key=value."))
    tokenizer_config: str | None = field(default=None, metadata=_help("train_tokenizer YAML."))
    tokenizer_args: list[str] = field(default_factory=list, metadata=_help("train_tokenizer overrides, key=value."))
    replace_config: str | None = field(default=None, metadata=_help("replace_vocab YAML."))
    replace_args: list[str] = field(default_factory=list, metadata=_help("replace_vocab overrides, key=value."))
    lapt_config: str | None = field(default=None, metadata=_help("lapt YAML."))
    lapt_args: list[str] = field(default_factory=list, metadata=_help("lapt overrides, key=value."))
    finetune_config: str | None = field(default=None, metadata=_help("finetune YAML."))
    finetune_args: list[str] = field(default_factory=list, metadata=_help("finetune overrides, key=value."))
    # Evaluation
    datasets: list[str] = field(
        default_factory=list,
        metadata=_help("Evaluation data, [TASK:]LANG=DIR: a directory of split files, or its name under data_dirs."),
    )
    data_dirs: list[str] = field(
        default_factory=list, metadata=_help("Where dataset names are looked up, in order (e.g. a UD release).")
    )
    tasks: list[str] = field(
        default_factory=list,
        metadata=_help(
            "Evaluations: 'task=pos regime=few_shot languages=myv,sme seeds=1,2,3 [finetune_field=value]'."
        ),
    )

    def __post_init__(self):
        for required in ("name", "source_model"):
            if not getattr(self, required):
                raise SweepConfigError(f"{required} is required")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.name):
            raise SweepConfigError(f"name: {self.name!r} must be a plain file name (letters, digits, _ . -)")
        if not self.corpora:
            raise SweepConfigError("corpora: at least one corpus is required")
        if not self.tasks:
            raise SweepConfigError("tasks: at least one task entry is required")
        self._check_corpora()
        self._check_grid()
        self.patterns("exclude")
        for name in ("data_args", "tokenizer_args", "replace_args", "lapt_args", "finetune_args"):
            parse_overrides(getattr(self, name), name)
        entries = self.task_entries()
        self._check_datasets(entries)

    # --- checks ------------------------------------------------------------------------------------------------
    def _check_corpora(self) -> None:
        names = [split_key_value(spec, "corpora")[0] for spec in self.corpora]
        if len(set(names)) != len(names):
            raise SweepConfigError(f"corpora: a name is given twice ({names})")
        if self.prepare_data and self.dev_corpora:
            raise SweepConfigError("dev_corpora: prepare_data makes the dev split; give dev_corpora only without it")
        if not self.prepare_data:
            dev = [split_key_value(spec, "dev_corpora")[0] for spec in self.dev_corpora]
            if sorted(dev) != sorted(names):
                raise SweepConfigError(
                    f"dev_corpora: needs one entry per corpus {names} without prepare_data, got {dev}"
                )

    def _check_grid(self) -> None:
        from ..lapt import LAPT_MODES
        from ..vocab import parse_init_spec

        for name in FACTORS:
            values = [factor_text(name, v) for v in getattr(self, name)]
            if not values:
                raise SweepConfigError(f"{name}: the grid needs at least one value")
            if len(set(values)) != len(values):
                raise SweepConfigError(f"{name}: a value is given twice ({values})")
        sizes = [parse_vocab_size(v) for v in self.vocab_size]
        self.vocab_size = [SOURCE_VOCAB if s is None else str(s) for s in sizes]
        for value in self.alpha:
            if not value > 0:
                raise SweepConfigError(f"alpha: {value} is not > 0")
        for value in self.lapt_steps:
            if value < 0:
                raise SweepConfigError(f"lapt_steps: {value} is negative")
        for spec in self.init:
            if spec == SOURCE_VOCAB:
                raise SweepConfigError(
                    "init: 'source' is not an init method (vocab_size: source keeps the vocabulary)"
                )
            try:
                parse_init_spec(spec)
            except KeyError as err:
                raise SweepConfigError(f"init: {spec!r}: {err.args[0]}") from None
        for mode in self.lapt_mode:
            try:
                LAPT_MODES.get(mode)
            except KeyError as err:
                raise SweepConfigError(f"lapt_mode: {err.args[0]}") from None

    def _check_datasets(self, entries: list[TaskEntry]) -> None:
        datasets = self.dataset_entries()
        known = {(d.task, d.language) for d in datasets}
        if len(known) != len(datasets):
            raise SweepConfigError("datasets: a [TASK:]LANG is given twice")
        corpora = {split_key_value(spec, "corpora")[0] for spec in self.corpora}
        for entry in entries:
            named = [*entry.languages, *entry.train, *entry.test]
            for language in named:
                if (entry.task, language) not in known and (None, language) not in known:
                    raise SweepConfigError(
                        f"tasks entry {entry.text!r}: no datasets entry for language {language!r} "
                        f"(add '{language}=DIR' or '{entry.task}:{language}=DIR' to datasets)"
                    )
            if self.adaptation == "per_language":
                if entry.regime == "zero_shot":
                    raise SweepConfigError(
                        f"tasks entry {entry.text!r}: zero_shot needs one model for several languages "
                        "(adaptation: family)"
                    )
                missing = sorted(set(entry.languages) - corpora)
                if missing:
                    raise SweepConfigError(
                        f"tasks entry {entry.text!r}: adaptation per_language evaluates each language on its own "
                        f"model, but {missing} is not a corpus name ({sorted(corpora)})"
                    )

    # --- parsed views ------------------------------------------------------------------------------------------
    def task_entries(self) -> list[TaskEntry]:
        entries = [TaskEntry.parse(text) for text in self.tasks]
        return entries

    def dataset_entries(self) -> list[DatasetEntry]:
        return [DatasetEntry.parse(text) for text in self.datasets]

    def corpus_names(self) -> list[str]:
        return [split_key_value(spec, "corpora")[0] for spec in self.corpora]

    def patterns(self, field_name: str, texts: list[str] | None = None) -> list[Pattern]:
        """The ``exclude`` (or a run's ``only``) patterns; a value that no model of the grid has is an error."""
        patterns = [Pattern.parse(text, field_name) for text in (self.exclude if texts is None else texts)]
        grid = {name: {factor_text(name, v) for v in getattr(self, name)} for name in FACTORS}
        grid["lapt_mode"].add(NO_LAPT)
        grid["init"].add(SOURCE_VOCAB)
        grid["target"] = {FAMILY} if self.adaptation == FAMILY else set(self.corpus_names())
        for pattern in patterns:
            for name, value in pattern.values:
                shown = value if name != "alpha" else _alpha_text(value, field_name, pattern.text)
                if shown not in grid[name]:
                    raise SweepConfigError(
                        f"{field_name}: entry {pattern.text!r}: {name}={value} is not in the grid "
                        f"({', '.join(sorted(grid[name]))})"
                    )
        return [
            Pattern(p.text, tuple((n, _alpha_text(v, field_name, p.text) if n == "alpha" else v) for n, v in p.values))
            for p in patterns
        ]


def _alpha_text(value: str, field_name: str, text: str) -> str:
    try:
        return f"{float(value):g}"
    except ValueError:
        raise SweepConfigError(f"{field_name}: entry {text!r}: alpha={value} is not a number") from None


@dataclasses.dataclass
class SweepRunArguments:
    """Where a sweep writes and which part of it a run does (not part of what the results mean)."""

    work_dir: str | None = field(default=None, metadata=_help("Cached stages (default runs/sweeps/<name>/work)."))
    results_dir: str | None = field(
        default=None,
        metadata=_help("One results JSON per unit and test language (default runs/sweeps/<name>/results)."),
    )
    only: list[str] = field(
        default_factory=list,
        metadata=_help("Run only the models matching one of these 'factor=value ...' patterns (a slice)."),
    )
    list_units: bool = field(
        default=False,
        metadata=_help("List the units (done / todo / running; an interrupted one's last checkpoint) and exit."),
    )
    lapt_only: bool = field(default=False, metadata=_help("Build the selected models' stages; fine-tune nothing."))
    report_only: bool = field(default=False, metadata=_help("Only write the report of the results there are."))
    report: bool = field(default=True, metadata=_help("Write <results_dir>/report.md (recipes/report.py) at the end."))
    max_units: int | None = field(default=None, metadata=_help("Stop after this many units (e.g. to time one)."))
    num_threads: int | None = field(default=None, metadata=_help("torch threads (default: torch's)."))
