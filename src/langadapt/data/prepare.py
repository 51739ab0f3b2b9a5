"""The data-preparation steps: clean a corpus through the filters, then split off its dev set.

Per corpus, lines stream through the filter pipeline into a scratch file (`clean_corpus`), then a seeded choice of
line numbers goes to ``dev.txt`` and the rest to ``train.txt`` (`split_corpus`). ``recipes/prepare_data.py`` runs
them per corpus inside one temporary directory that is moved into place at the end. Output layout::

    <output_dir>/<name>/train.txt
    <output_dir>/<name>/dev.txt        (when dev_size > 0)
    <output_dir>/report.json           (per corpus: lines in, dropped per filter, lines out, train, dev)

Lines are those of `LineReader` (see `clean_line`); the line a filter judged is the line written, byte for
byte, so ``lines_out == train + dev`` and every file line is counted once: as ``blank_skipped``,
``undecodable_skipped`` or in ``lines_in``.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from tqdm.auto import tqdm

from .args import DataPreparationArguments
from .corpus import CorpusError, CorpusSpec, LineReader
from .filters import (
    AlphabeticRatioFilter,
    ExactDuplicateFilter,
    FilterPipeline,
    LanguageIdFilter,
    LineFilter,
    MaxAverageWordLengthFilter,
    MaxWordLengthFilter,
    MinWordsFilter,
    NormalizedDuplicateFilter,
)
from .splits import choose_dev_indices

logger = logging.getLogger(__name__)

KEPT_FILE_NAME = "kept.tmp"


def build_filters(args: DataPreparationArguments) -> list[LineFilter]:
    """The enabled filters, cheapest first, de-duplication last (so duplicates of dropped lines aren't counted)."""
    filters: list[LineFilter] = []
    if args.filter_min_words:
        filters.append(MinWordsFilter(args.min_words))
    if args.filter_avg_word_length:
        filters.append(MaxAverageWordLengthFilter(args.max_avg_word_length))
    if args.filter_word_length:
        filters.append(MaxWordLengthFilter(args.max_word_length))
    if args.filter_alpha_ratio:
        filters.append(AlphabeticRatioFilter(args.min_alpha_ratio, args.alpha_ratio_exclude_whitespace))
    if args.langid_model:
        filters.append(LanguageIdFilter(args.langid_model, args.langid_drop_labels, args.langid_threshold))
    if args.exact_dedup:
        filters.append(ExactDuplicateFilter())
    if args.normalized_dedup:
        filters.append(NormalizedDuplicateFilter())
    return filters


@dataclasses.dataclass
class CleanedCorpus:
    """A corpus's kept lines (a scratch file in its output folder) and its counts: sources, lines in, dropped per
    filter, lines out, blank and undecodable lines skipped."""

    corpus_dir: Path
    lines_out: int
    report: dict

    @property
    def kept_path(self) -> Path:
        return self.corpus_dir / KEPT_FILE_NAME


def clean_corpus(spec: CorpusSpec, *, filters: list[LineFilter], errors: str, corpus_dir: Path) -> CleanedCorpus:
    """Stream every source of ``spec`` through ``filters`` into ``corpus_dir/kept.tmp``. Give each corpus fresh
    filters: the de-duplication state is per corpus. A corpus left without lines is an error."""
    pipeline = FilterPipeline(filters)
    corpus_dir.mkdir()
    readers = [LineReader(source, errors=errors) for source in spec.sources]
    with open(corpus_dir / KEPT_FILE_NAME, "w", encoding="utf-8", newline="\n") as kept:
        for reader in readers:
            lines = tqdm(reader, desc=f"cleaning {spec.name}: {reader.source}", unit="line")
            for line in pipeline(lines):
                kept.write(line + "\n")
    if pipeline.report.lines_out == 0:
        raise CorpusError(
            f"corpus {spec.name!r} ({', '.join(str(s) for s in spec.sources)}) has no lines left after "
            f"filtering ({pipeline.report.to_dict()})"
        )
    report = {
        "sources": [str(s) for s in spec.sources],
        **pipeline.report.to_dict(),
        "blank_skipped": sum(r.blank for r in readers),
        "undecodable_skipped": sum(r.skipped for r in readers),
    }
    return CleanedCorpus(corpus_dir, pipeline.report.lines_out, report)


def split_corpus(cleaned: CleanedCorpus, *, dev_size: float, seed: int) -> dict[str, int]:
    """``dev_size`` seeded kept lines (a count, or a fraction when < 1) to ``dev.txt``, the others to ``train.txt``,
    in their order; the scratch file is removed. Returns the line counts ``{"train": .., "dev": ..}``."""
    dev_indices = choose_dev_indices(cleaned.lines_out, dev_size, seed)
    counts = {"train": 0, "dev": 0}
    # newline="\n" everywhere: line k of kept.tmp is exactly the k-th line the filters kept (universal newlines
    # would also split at a "\r", which `clean_line` already removed; this keeps the split exact regardless)
    text = {"encoding": "utf-8", "newline": "\n"}
    with open(cleaned.kept_path, **text) as kept, open(cleaned.corpus_dir / "train.txt", "w", **text) as train:
        dev = open(cleaned.corpus_dir / "dev.txt", "w", **text) if dev_indices else None  # noqa: SIM115
        try:
            for index, line in enumerate(kept):
                if index in dev_indices:
                    dev.write(line)
                    counts["dev"] += 1
                else:
                    train.write(line)
                    counts["train"] += 1
        finally:
            if dev is not None:
                dev.close()
    cleaned.kept_path.unlink()
    return counts


__all__ = [
    "CleanedCorpus",
    "build_filters",
    "clean_corpus",
    "split_corpus",
]
