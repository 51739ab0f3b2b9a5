"""Evaluation data of a sweep: each dataset is a directory of split files, found by path or by name.

``datasets: [myv=UD_Erzya-JR, ner:et=et]`` with ``data_dirs: [../shared/data/ud, ../shared/data/wikiann]``: a
name is looked up in each data dir in turn (so a UD release given on the command line with ``--data_dirs`` adds
the treebanks that are not in the default ones); a location with a ``/`` or that exists is a path. A split file is
``*-ud-<split>.conllu`` (UD) or ``<split>.<ext>`` (WikiAnn, SIB-200, token<TAB>tag files).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from .config import DatasetEntry, SweepConfigError

SPLITS = ("train", "dev", "test")
SPLIT_SUFFIXES = (".conllu", ".tsv", ".txt", ".iob2", ".jsonl")


class DatasetNotFound(SweepConfigError):
    """A dataset or one of its needed split files is missing; the message names it and where it was looked for."""


def split_file(directory: Path, split: str) -> Path | None:
    """The file of ``split`` in a dataset directory (None if it has none); two candidates are an error."""
    candidates = sorted(directory.glob(f"*-ud-{split}.conllu"))
    candidates += [
        directory / f"{split}{suffix}" for suffix in SPLIT_SUFFIXES if (directory / f"{split}{suffix}").is_file()
    ]
    if len(candidates) > 1:
        raise DatasetNotFound(f"dataset {directory}: several {split} files {[c.name for c in candidates]}")
    return candidates[0] if candidates else None


@dataclasses.dataclass(frozen=True)
class Dataset:
    language: str
    directory: Path
    train: Path | None
    dev: Path | None
    test: Path | None


class DataCatalog:
    """Resolves (task, language) to a `Dataset` once; every failure names the entry and the dirs searched."""

    def __init__(self, entries: Sequence[DatasetEntry], data_dirs: Sequence[str]):
        self.entries = {(e.task, e.language): e for e in entries}
        self.data_dirs = [Path(d) for d in data_dirs]
        self._resolved: dict[tuple[str | None, str], Dataset] = {}

    def entry(self, task: str, language: str) -> DatasetEntry:
        found = self.entries.get((task, language)) or self.entries.get((None, language))
        if found is None:
            raise DatasetNotFound(f"datasets: no entry for language {language!r} (task {task})")
        return found

    def get(self, task: str, language: str) -> Dataset:
        entry = self.entry(task, language)
        key = (entry.task, entry.language)
        if key not in self._resolved:
            directory = self._locate(entry)
            splits = {split: split_file(directory, split) for split in SPLITS}
            self._resolved[key] = Dataset(language, directory, **splits)
        return self._resolved[key]

    def _locate(self, entry: DatasetEntry) -> Path:
        path = Path(entry.location)
        if "/" in entry.location or path.is_dir():
            if path.is_dir():
                return path
            raise DatasetNotFound(f"datasets: {entry.language}={entry.location}: no such directory")
        for root in self.data_dirs:
            if (root / entry.location).is_dir():
                return root / entry.location
        searched = ", ".join(str(d) for d in self.data_dirs) or "none (data_dirs is empty)"
        raise DatasetNotFound(
            f"datasets: {entry.language}={entry.location} is in none of the data_dirs ({searched}); pass "
            "--data_dirs with the directory that holds it (e.g. a UD release), keeping the others"
        )

    def split(self, task: str, language: str, split: str) -> Path:
        """A split file that must exist (the error names the dataset directory)."""
        dataset = self.get(task, language)
        path = getattr(dataset, split)
        if path is None:
            raise DatasetNotFound(f"dataset {language} ({dataset.directory}) has no {split} split, needed by {task}")
        return path

    def has_train(self, task: str, language: str) -> bool:
        return self.get(task, language).train is not None

    def languages(self, task: str) -> list[str]:
        """Every language with a dataset for ``task`` (its own entries, then the generic ones), in config order."""
        seen = []
        for task_name, language in self.entries:
            if task_name in (task, None) and language not in seen:
                seen.append(language)
        return seen
