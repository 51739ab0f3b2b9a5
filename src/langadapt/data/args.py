"""Arguments of `recipes/prepare_data.py`."""

from __future__ import annotations

from dataclasses import dataclass, field

from .corpus import DECODE_POLICIES


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


__all__ = ["DataPreparationArguments"]
