"""The data-preparation stage: clean, de-duplicate, optionally language-filter, and split off a dev set.

Per corpus, lines stream through the filter pipeline into a scratch file, then a seeded choice of line
numbers goes to ``dev.txt`` and the rest to ``train.txt``. Output layout::

    <output_dir>/<name>/train.txt
    <output_dir>/<name>/dev.txt        (when dev_size > 0)
    <output_dir>/report.json           (per corpus: lines in, dropped per filter, lines out, train, dev)

The whole output directory is written under a temporary name and moved into place at the end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from ..io_utils import atomic_directory, check_output_dir, write_json
from .corpus import DECODE_POLICIES, CorpusError, LineReader, parse_corpus_specs
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

REPORT_FILE_NAME = "report.json"


@dataclass
class DataPreparationArguments:
    corpora: list[str] = field(
        default=None,
        metadata={
            "help": "Corpus specs NAME=SOURCE[,SOURCE...] (local .txt/.txt.gz files, globs, or "
            "hf:DATASET?config=..&split=..&column=..). Each NAME gets its own output folder."
        },
    )
    output_dir: str = field(
        default=None,
        metadata={"help": "Where <name>/train.txt, <name>/dev.txt and report.json go (written atomically)."},
    )
    # Cleaning filters ([ES] App. A); each can be switched off.
    filter_min_words: bool = field(default=True, metadata={"help": "Drop lines with fewer than min_words words."})
    min_words: int = field(default=2, metadata={"help": "Minimum number of whitespace-separated words."})
    filter_avg_word_length: bool = field(
        default=True, metadata={"help": "Drop lines whose average word length exceeds max_avg_word_length."}
    )
    max_avg_word_length: float = field(default=16.0, metadata={"help": "Maximum average word length (characters)."})
    filter_word_length: bool = field(
        default=True, metadata={"help": "Drop lines with a word longer than max_word_length."}
    )
    max_word_length: int = field(default=32, metadata={"help": "Maximum word length (characters)."})
    filter_alpha_ratio: bool = field(default=True, metadata={"help": "Drop lines with too few alphabetic characters."})
    min_alpha_ratio: float = field(default=0.5, metadata={"help": "Minimum share of alphabetic characters."})
    alpha_ratio_exclude_whitespace: bool = field(
        default=False, metadata={"help": "Compute the alphabetic share over non-space characters only."}
    )
    exact_dedup: bool = field(default=True, metadata={"help": "Drop exact duplicate lines."})
    normalized_dedup: bool = field(
        default=True, metadata={"help": "Drop lines equal to an earlier one when lower-cased, letters only."}
    )
    langid_model: str = field(
        default=None, metadata={"help": "Path of a fastText language-ID model (e.g. lid.176.bin); off when unset."}
    )
    langid_drop_labels: list[str] = field(
        default_factory=lambda: ["en"], metadata={"help": "Language labels whose lines are dropped."}
    )
    langid_threshold: float = field(default=0.9, metadata={"help": "Drop only at this probability or above."})
    # Splitting.
    dev_size: float = field(
        default=1000, metadata={"help": "Dev lines per corpus: a count (>= 1) or a fraction (< 1); 0 = no dev set."}
    )
    seed: int = field(default=42, metadata={"help": "Seed of the dev split."})
    errors: str = field(
        default="fail",
        metadata={"help": "Undecodable bytes: fail, replace (U+FFFD) or skip the line.", "choices": DECODE_POLICIES},
    )
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing non-empty output_dir."})

    def __post_init__(self):
        for name in ("corpora", "output_dir"):
            if not getattr(self, name):
                raise ValueError(f"{name} is required")
        if not 0 <= self.min_alpha_ratio <= 1:
            raise ValueError(f"min_alpha_ratio must be in [0, 1], got {self.min_alpha_ratio}")
        if self.dev_size < 0:
            raise ValueError(f"dev_size must be >= 0, got {self.dev_size}")


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


def prepare_corpora(args: DataPreparationArguments) -> dict:
    """Run the stage; returns the report (also written to ``report.json``)."""
    check_output_dir(args.output_dir, args.overwrite)
    specs = parse_corpus_specs(args.corpora)
    report: dict = {"corpora": {}, "filters": [f.name for f in build_filters(args)]}
    with atomic_directory(args.output_dir, overwrite=args.overwrite) as tmp_dir:
        for spec in specs:
            pipeline = FilterPipeline(build_filters(args))  # fresh de-duplication state per corpus
            corpus_dir = tmp_dir / spec.name
            corpus_dir.mkdir()
            kept_path = corpus_dir / "kept.tmp"
            readers = [LineReader(source, errors=args.errors) for source in spec.sources]
            with open(kept_path, "w", encoding="utf-8") as kept:
                for reader in readers:
                    lines = tqdm(reader, desc=f"cleaning {spec.name}: {reader.source}", unit="line")
                    for line in pipeline(lines):
                        kept.write(line + "\n")
            num_kept = pipeline.report.lines_out
            if num_kept == 0:
                raise CorpusError(
                    f"corpus {spec.name!r} ({', '.join(str(s) for s in spec.sources)}) has no lines left after "
                    f"filtering ({pipeline.report.to_dict()})"
                )
            dev_indices = choose_dev_indices(num_kept, args.dev_size, args.seed)
            counts = _split(kept_path, corpus_dir, dev_indices)
            kept_path.unlink()
            report["corpora"][spec.name] = {
                "sources": [str(s) for s in spec.sources],
                **pipeline.report.to_dict(),
                "undecodable_skipped": sum(r.skipped for r in readers),
                **counts,
            }
            logger.info("%s: %s", spec.name, report["corpora"][spec.name])
        write_json(tmp_dir / REPORT_FILE_NAME, report)
    return report


def _split(kept_path: Path, corpus_dir: Path, dev_indices: set[int]) -> dict[str, int]:
    counts = {"train": 0, "dev": 0}
    with open(kept_path, encoding="utf-8") as kept, open(corpus_dir / "train.txt", "w", encoding="utf-8") as train:
        dev = open(corpus_dir / "dev.txt", "w", encoding="utf-8") if dev_indices else None  # noqa: SIM115
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
    return counts
