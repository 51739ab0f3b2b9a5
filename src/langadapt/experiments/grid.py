"""A sweep's grid expanded into models and units, in run order.

A **model** is one point of the grid: (target, vocabulary size, α, init, LAPT mode, LAPT steps). Factors that do
not change a model collapse, so each distinct model appears once: the source vocabulary has no init ("source"),
a model without LAPT steps has no mode ("none"), and α (which mixes corpora) is None for a target with one corpus
and for the source vocabulary without LAPT. A **unit** is one fine-tuning run of a model: (task entry, training
languages, seed), tested on one or more languages (one results JSON per test language).

Run order: per target, vocabulary, α, init, mode, the models by increasing steps (a longer LAPT run continues
from the shorter one), and per model its units (tasks in config order, seeds together).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Sequence
from pathlib import Path

from ..layout import UNIT_RESULTS_FILE
from .catalog import DataCatalog, DatasetNotFound
from .config import (
    FAMILY,
    NO_LAPT,
    SOURCE_VOCAB,
    Pattern,
    SweepConfig,
    SweepConfigError,
    TaskEntry,
    factor_text,
    parse_vocab_size,
    vocabulary_label,
)


def slug(text: str) -> str:
    """A path segment: init specs may hold ':' and '.' (module:callable)."""
    return re.sub(r"[^A-Za-z0-9+_.-]+", "_", text)


@dataclasses.dataclass(frozen=True)
class Model:
    target: str  # "family", or the corpus name with adaptation per_language
    vocab_size: int | None  # None: the source vocabulary
    alpha: float | None  # None: nothing to mix (one corpus, or the source vocabulary without LAPT)
    init: str  # an init spec, or "source"
    lapt_mode: str  # a LAPT mode, or "none"
    lapt_steps: int

    @property
    def vocabulary(self) -> str:
        return vocabulary_label(self.vocab_size)

    def factors(self) -> dict[str, str]:
        """The factor values as `Pattern` compares them."""
        values = {name: factor_text(name, getattr(self, name)) for name in ("vocab_size", "alpha", "lapt_steps")}
        return {**values, "init": self.init, "lapt_mode": self.lapt_mode, "target": self.target}

    @property
    def tokenizer_key(self) -> tuple[str, str]:
        """(target, 'v16k_a0.2'): the tokenizer (and FOCUS fastText) stage of a new vocabulary."""
        alpha = "" if self.alpha is None else f"_a{self.alpha:g}"
        return self.target, f"v{self.vocab_size}{alpha}"

    @property
    def path(self) -> Path:
        """Where the model's results go under the results directory."""
        target = [] if self.target == FAMILY else [self.target]
        alpha = "none" if self.alpha is None else f"{self.alpha:g}"
        parts = [
            f"vocab_{self.vocabulary}",
            f"alpha_{alpha}",
            slug(self.init),
            self.lapt_mode,
            f"steps_{self.lapt_steps}",
        ]
        return Path(*target, *parts)

    @property
    def label(self) -> str:
        """The fine-tuning recipe's model label (one path segment)."""
        return "__".join(self.path.parts)

    @property
    def name(self) -> str:
        return "/".join(self.path.parts)


@dataclasses.dataclass(frozen=True)
class Unit:
    model: Model
    entry: TaskEntry
    train_languages: tuple[str, ...]
    test_languages: tuple[str, ...]
    seed: int

    @property
    def task(self) -> str:
        return self.entry.task

    @property
    def regime(self) -> str:
        return self.entry.regime

    @property
    def name(self) -> str:
        return f"{self.model.name}/{self.task}/{self.regime}/{'+'.join(self.test_languages)}/seed{self.seed}"

    def results_path(self, results_dir: str | Path, language: str) -> Path:
        return (
            Path(results_dir)
            / self.model.path
            / self.task
            / self.regime
            / language
            / f"seed{self.seed}"
            / UNIT_RESULTS_FILE
        )

    def results_paths(self, results_dir: str | Path) -> list[Path]:
        return [self.results_path(results_dir, language) for language in self.test_languages]

    def claim_path(self, results_dir: str | Path) -> Path:
        """Locked by the process running the unit (its lock file sits beside the first results' seed folder)."""
        return self.results_path(results_dir, self.test_languages[0]).parent.with_name(
            f"seed{self.seed}.{'+'.join(self.test_languages)}"
        )


def expand_models(config: SweepConfig, only: Sequence[Pattern] = ()) -> list[Model]:
    """Every distinct model of the grid in run order, without the ``exclude``d ones (and, given ``only``
    patterns, only the models matching one of them)."""
    targets = [FAMILY] if config.adaptation == FAMILY else config.corpus_names()
    several_corpora = config.adaptation == FAMILY and len(config.corpus_names()) > 1
    exclude = config.patterns("exclude")
    models: list[Model] = []
    for target, size, alpha, init, mode in itertools.product(
        targets, config.vocab_size, config.alpha, config.init, config.lapt_mode
    ):
        for steps in sorted(config.lapt_steps):
            vocab_size = parse_vocab_size(size)
            model = Model(
                target=target,
                vocab_size=vocab_size,
                alpha=alpha if several_corpora and (vocab_size is not None or steps > 0) else None,
                init=SOURCE_VOCAB if vocab_size is None else init,
                lapt_mode=mode if steps > 0 else NO_LAPT,
                lapt_steps=steps,
            )
            if model in models or any(p.matches(model.factors()) for p in exclude):
                continue
            if only and not any(p.matches(model.factors()) for p in only):
                continue
            models.append(model)
    return models


def lapt_predecessor(config: SweepConfig, model: Model) -> Model | None:
    """The model whose LAPT run a longer one continues (the next shorter step count of the grid), if any."""
    if not config.lapt_continue or model.lapt_steps == 0:
        return None
    shorter = [s for s in config.lapt_steps if 0 < s < model.lapt_steps]
    return dataclasses.replace(model, lapt_steps=max(shorter)) if shorter else None


def task_runs(entry: TaskEntry, catalog: DataCatalog, target: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(training languages, test languages) of each run a task entry asks for (per seed)."""
    if entry.regime != "zero_shot":
        languages = [lang for lang in entry.languages if target in (FAMILY, lang)]
        return [((lang,), (lang,)) for lang in languages]
    listed = catalog.languages(entry.task)
    test = entry.test or tuple(lang for lang in listed if not catalog.has_train(entry.task, lang))
    train = entry.train or tuple(lang for lang in listed if lang not in test and catalog.has_train(entry.task, lang))
    if not test:
        raise DatasetNotFound(f"tasks entry {entry.text!r}: no dataset without a training split to test zero-shot")
    if not train:
        raise DatasetNotFound(f"tasks entry {entry.text!r}: no dataset with a training split to train on")
    return [(tuple(train), tuple(test))]


def expand_units(config: SweepConfig, catalog: DataCatalog, only: Sequence[Pattern] = ()) -> list[Unit]:
    """Every unit in run order; the data each needs is checked to exist (before anything trains)."""
    entries = config.task_entries()
    units = []
    for model in expand_models(config, only):
        for entry in entries:
            for train, test in task_runs(entry, catalog, model.target):
                for language in train:
                    catalog.split(entry.task, language, "train")
                for language in test:
                    catalog.split(entry.task, language, "test")
                units += [Unit(model, entry, train, test, seed) for seed in entry.seeds]
    names = [unit.name for unit in units]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise SweepConfigError(f"tasks: two entries make the same unit ({duplicated[0]}); merge or tell them apart")
    return units
