"""Line filters for cleaning raw text ([ES] App. A, after OpusFilter), each switchable and parameterised.

Defaults are the paper's thresholds: drop lines with fewer than 2 words, an average word length above 16
characters, any word longer than 32 characters, or fewer than 50% alphabetic characters; drop duplicates
(exactly, or compared lower-cased with letters only); optionally drop lines a fastText language-ID model
assigns to an unwanted language (English) with probability >= 0.9. Words are whitespace-separated.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)


class LineFilter:
    """A named predicate over lines; ``keep`` returns False for a line to drop."""

    name = "filter"

    def keep(self, line: str) -> bool:
        raise NotImplementedError


@dataclass
class MinWordsFilter(LineFilter):
    min_words: int = 2
    name = "min_words"

    def keep(self, line: str) -> bool:
        return len(line.split()) >= self.min_words


@dataclass
class MaxAverageWordLengthFilter(LineFilter):
    max_average_length: float = 16.0
    name = "max_avg_word_length"

    def keep(self, line: str) -> bool:
        words = line.split()
        return bool(words) and sum(len(w) for w in words) / len(words) <= self.max_average_length


@dataclass
class MaxWordLengthFilter(LineFilter):
    max_length: int = 32
    name = "max_word_length"

    def keep(self, line: str) -> bool:
        return all(len(w) <= self.max_length for w in line.split())


@dataclass
class AlphabeticRatioFilter(LineFilter):
    """At least ``min_ratio`` of the characters are alphabetic (whitespace counted, as OpusFilter does)."""

    min_ratio: float = 0.5
    exclude_whitespace: bool = False
    name = "min_alpha_ratio"

    def keep(self, line: str) -> bool:
        chars = [c for c in line if not c.isspace()] if self.exclude_whitespace else line
        if not chars:
            return False
        return sum(c.isalpha() for c in chars) / len(chars) >= self.min_ratio


def _digest(text: str) -> bytes:
    # 16-byte digests keep the memory of de-duplication small even for tens of millions of lines.
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def normalize_for_dedup(line: str) -> str:
    """Lower-cased letters only: the key under which [ES] compared lines for duplicates."""
    return "".join(c for c in line.lower() if c.isalpha())


@dataclass
class ExactDuplicateFilter(LineFilter):
    """Drop a line identical to one seen before (stateful: one instance per corpus)."""

    name = "exact_dedup"
    _seen: set = field(default_factory=set, repr=False)

    def keep(self, line: str) -> bool:
        key = _digest(line)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


@dataclass
class NormalizedDuplicateFilter(ExactDuplicateFilter):
    """Drop a line whose lower-cased letters equal those of a line seen before."""

    name = "normalized_dedup"

    def keep(self, line: str) -> bool:
        return super().keep(normalize_for_dedup(line))


class LanguageIdFilter(LineFilter):
    """Drop lines a fastText language-ID model assigns to one of ``drop_labels`` with p >= ``threshold``.

    The model is given by path (e.g. ``lid.176.bin``); the `fasttext` package is only needed when it is used.
    """

    name = "langid"

    def __init__(self, model_path: str | Path, drop_labels: Iterable[str] = ("en",), threshold: float = 0.9):
        model_path = Path(model_path)
        if not model_path.is_file():
            raise FileNotFoundError(f"language-ID model not found: {model_path}")
        try:
            import fasttext
        except ImportError as err:
            raise ImportError("language-ID filtering needs fastText: pip install fasttext==0.9.3") from err
        self.model = fasttext.load_model(str(model_path))
        self.drop_labels = {label if label.startswith("__label__") else f"__label__{label}" for label in drop_labels}
        self.threshold = threshold

    def keep(self, line: str) -> bool:
        # fasttext 0.9.3's `predict` breaks under NumPy 2 (np.array(copy=False)); its C++ binding does not.
        predictions = self.model.f.predict(line.replace("\n", " "), 1, 0.0, "replace")
        if not predictions:
            return True
        probability, label = predictions[0]
        return not (label in self.drop_labels and probability >= self.threshold)


@dataclass
class FilterReport:
    """Lines in, lines dropped by each filter (first filter that rejects a line gets it), lines out."""

    lines_in: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    lines_out: int = 0

    def to_dict(self) -> dict:
        return {"lines_in": self.lines_in, "dropped": dict(self.dropped), "lines_out": self.lines_out}


class FilterPipeline:
    """Apply filters in order; a line is dropped by the first filter that rejects it and counted there."""

    def __init__(self, filters: list[LineFilter]):
        self.filters = filters
        self.report = FilterReport(dropped={f.name: 0 for f in filters})

    def __call__(self, lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            self.report.lines_in += 1
            for line_filter in self.filters:
                if not line_filter.keep(line):
                    self.report.dropped[line_filter.name] += 1
                    break
            else:
                self.report.lines_out += 1
                yield line
