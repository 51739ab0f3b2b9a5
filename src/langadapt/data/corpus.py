"""Corpora: where a language's text comes from, read line by line without loading it into memory.

A corpus spec is a string ``NAME=SOURCE[,SOURCE...]``. NAME is a language code or the name of a group of
languages sampled as one unit (e.g. ``sami=sme.txt,sma.txt``). A SOURCE is

* a local plain-text file, one sentence (or paragraph) per line, optionally gzip-compressed (``.gz``);
  shell-style globs are expanded (sorted); or
* a Hub dataset: ``hf:DATASET_ID[?config=NAME&split=train&column=text&revision=REV]`` (streamed, never
  downloaded whole), e.g. GlotCC-V1 (one config per language: ``hf:cis-lmu/GlotCC-V1?config=hun-Latn``, with
  ``column=`` naming its text column); or anything else ``datasets.load_dataset`` takes, such as a packaged
  builder with ``data_files`` for local JSONL / CSV / Parquet shards: ``hf:json?data_files=shards/*.jsonl``
  (``data_files`` may repeat; globs are resolved by ``datasets``).

A line ends at ``\n`` (``\r\n`` included), nowhere else. What the rest of the pipeline sees as a line is
`clean_line` of it: any other line-break character inside (a stray ``\r``, ``\v``, ``\f``, ``\x1c``-``\x1e``,
NEL, U+2028, U+2029; text-mode readers and ``str.splitlines`` would split there) becomes a space, and
surrounding Unicode whitespace is stripped. A line left empty (blank, or only whitespace such as NBSP or
U+3000) is no line: `LineReader` skips it (counted in ``blank``) and `LinePool` does not index it, so the
two always agree on a corpus's lines.

Lines are decoded as UTF-8 one at a time so that a bad byte is reported with its file and line number.
The ``errors`` policy decides what happens then: ``fail`` (default) raises, ``replace`` substitutes U+FFFD,
``skip`` drops the line (counted by `LineReader.skipped`).
"""

from __future__ import annotations

import glob
import gzip
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

DECODE_POLICIES = ("fail", "replace", "skip")
HUB_PREFIX = "hf:"


class CorpusError(ValueError):
    """A corpus source is missing, empty or unreadable; the message names the file (and line)."""


# The characters besides "\n" at which str.splitlines() (and, for "\r", text-mode files) end a line.
_INNER_LINE_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")


def clean_line(text: str) -> str:
    """One line as the pipeline sees it: inner line-break characters become a space, outer whitespace goes."""
    return _INNER_LINE_BREAKS.sub(" ", text).strip()


@dataclass(frozen=True)
class TextSource:
    """One place text comes from: a local file or a Hub dataset column."""

    location: str
    hub_config: str | None = None
    hub_split: str = "train"
    hub_column: str = "text"
    hub_data_files: tuple[str, ...] = ()
    hub_revision: str | None = None

    @property
    def is_hub(self) -> bool:
        return self.location.startswith(HUB_PREFIX)

    @classmethod
    def parse(cls, text: str) -> TextSource:
        text = text.strip()
        if not text.startswith(HUB_PREFIX):
            return cls(location=text)
        dataset_id, query = parse_hub_query(text, ("config", "split", "column", "data_files", "revision"))
        data_files = parse_qs(urlsplit(text[len(HUB_PREFIX) :]).query).get("data_files", [])  # every one given
        return cls(
            location=HUB_PREFIX + dataset_id,
            hub_config=query.get("config"),
            hub_split=query.get("split", "train"),
            hub_column=query.get("column", "text"),
            hub_data_files=tuple(data_files),
            hub_revision=query.get("revision"),
        )

    def load_dataset_kwargs(self) -> dict:
        """Keyword arguments of ``datasets.load_dataset`` beyond the id and config (streamed)."""
        kwargs = {"split": self.hub_split, "streaming": True}
        if self.hub_data_files:
            kwargs["data_files"] = list(self.hub_data_files)
        if self.hub_revision:
            kwargs["revision"] = self.hub_revision
        return kwargs

    def __str__(self) -> str:
        if not self.is_hub:
            return self.location
        return (
            f"{self.location}?split={self.hub_split}&column={self.hub_column}"
            + (f"&config={self.hub_config}" if self.hub_config else "")
            + "".join(f"&data_files={f}" for f in self.hub_data_files)
            + (f"&revision={self.hub_revision}" if self.hub_revision else "")
        )


def split_named_spec(spec: str, what: str = "corpus") -> tuple[str, list[str]]:
    """``NAME=A,B`` → ``("NAME", ["A", "B"])``: the syntax shared by corpus specs and evaluation data specs."""
    name, sep, rest = spec.partition("=")
    items = [item.strip() for item in rest.split(",") if item.strip()]
    if not sep or not name.strip() or not items:
        raise CorpusError(f"{what} spec {spec!r} must look like NAME=SOURCE[,SOURCE...]")
    return name.strip(), items


def check_unique_names(names: list[str], what: str = "corpus") -> None:
    """A name given twice would be sampled as two units, or write over its own results."""
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CorpusError(f"{what} name(s) given more than once: {duplicates}")


def parse_hub_query(source: str, allowed: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """``hf:ID?key=value&...`` → (dataset id, parameters); a parameter outside ``allowed`` is an error."""
    parts = urlsplit(source[len(HUB_PREFIX) :])
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - set(allowed)
    if unknown:
        raise CorpusError(f"{source}: unknown Hub source parameter(s) {sorted(unknown)}; use {', '.join(allowed)}")
    dataset_id = (parts.netloc + parts.path).rstrip("/")  # a leading "/" is a local dataset directory
    if not dataset_id:
        raise CorpusError(f"{source}: missing dataset id after '{HUB_PREFIX}'")
    return dataset_id, query


@dataclass(frozen=True)
class CorpusSpec:
    """A sampling unit (a language or a group of languages) and its text sources."""

    name: str
    sources: tuple[TextSource, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, spec: str) -> CorpusSpec:
        name, items = split_named_spec(spec)
        sources: list[TextSource] = []
        for item in items:
            source = TextSource.parse(item)
            if source.is_hub:
                sources.append(source)
                continue
            matches = sorted(glob.glob(source.location)) if glob.has_magic(source.location) else [source.location]
            if not matches:
                raise CorpusError(f"corpus {name!r}: no file matches {source.location!r}")
            sources.extend(TextSource(location=m) for m in matches)
        return cls(name=name, sources=tuple(sources))


def parse_corpus_specs(specs: list[str] | tuple[str, ...]) -> list[CorpusSpec]:
    """Parse several specs; a name given twice is an error (it would be sampled as two units)."""
    parsed = [CorpusSpec.parse(spec) for spec in specs]
    check_unique_names([spec.name for spec in parsed])
    if not parsed:
        raise CorpusError("no corpus given")
    return parsed


class LineReader:
    """Iterate over the `clean_line` lines of one source, decoding with a policy for bad bytes.

    ``skipped`` counts undecodable lines dropped (``errors="skip"``), ``blank`` the empty lines skipped.
    """

    def __init__(self, source: TextSource | str, errors: str = "fail", skip_blank: bool = True):
        if errors not in DECODE_POLICIES:
            raise CorpusError(f"errors must be one of {DECODE_POLICIES}, got {errors!r}")
        self.source = TextSource.parse(source) if isinstance(source, str) else source
        self.errors = errors
        self.skip_blank = skip_blank
        self.skipped = 0
        self.blank = 0

    def __iter__(self) -> Iterator[str]:
        lines = self._iter_hub() if self.source.is_hub else self._iter_file()
        for line in lines:
            line = clean_line(line)
            if line or not self.skip_blank:
                yield line
            else:
                self.blank += 1

    def _iter_file(self) -> Iterator[str]:
        path = Path(self.source.location)
        if not path.is_file():
            raise CorpusError(f"{path}: file not found")
        if path.stat().st_size == 0:
            raise CorpusError(f"{path}: file is empty")
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            for line_number, raw in enumerate(handle, start=1):
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    if self.errors == "fail":
                        raise CorpusError(
                            f"{path}:{line_number}: invalid UTF-8 at byte {err.start} "
                            "(use --errors replace or --errors skip to continue)"
                        ) from err
                    if self.errors == "skip":
                        self.skipped += 1
                        logger.debug("%s:%d: skipped undecodable line", path, line_number)
                        continue
                    yield raw.decode("utf-8", errors="replace")

    def _iter_hub(self) -> Iterator[str]:
        from datasets import load_dataset

        dataset_id = self.source.location[len(HUB_PREFIX) :]
        try:
            dataset = load_dataset(dataset_id, self.source.hub_config, **self.source.load_dataset_kwargs())
        except Exception as err:  # noqa: BLE001 - the Hub raises many types; the message is what matters
            raise CorpusError(f"cannot open Hub dataset {self.source}: {err}") from err
        for row_number, row in enumerate(dataset, start=1):
            if self.source.hub_column not in row:
                raise CorpusError(
                    f"{self.source}: row {row_number} has no column {self.source.hub_column!r} (columns: {sorted(row)})"
                )
            # lines of a row end where a file's would (at "\n"), so both sources give the same lines
            yield from str(row[self.source.hub_column]).split("\n")


def iter_corpus_lines(spec: CorpusSpec, errors: str = "fail") -> Iterator[str]:
    """All non-blank lines of a corpus, source after source."""
    for source in spec.sources:
        yield from LineReader(source, errors=errors)


def count_lines(spec: CorpusSpec, errors: str = "fail") -> int:
    return sum(1 for _ in iter_corpus_lines(spec, errors=errors))
