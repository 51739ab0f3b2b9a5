"""Arguments of `recipes/train_tokenizer.py`."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..data.corpus import DECODE_POLICIES
from .sentencepiece_model import MODEL_TYPES


@dataclass
class TokenizerTrainingArguments:
    corpora: list[str] = field(
        default=None,
        metadata={
            "help": "Corpus specs NAME=SOURCE[,SOURCE...] (local .txt/.txt.gz files, globs, or "
            "hf:DATASET?config=..&split=..&column=..); each NAME is one α-sampling unit."
        },
    )
    tokenizer_name_or_path: str = field(
        default=None,
        metadata={
            "help": "Hub id or local directory of the source model whose special tokens (strings, roles, "
            "order) and tokenizer class the new tokenizer takes; also the baseline for the statistics.",
            "deprecated_names": ["source_tokenizer"],
        },
    )
    output_dir: str = field(default=None, metadata={"help": "Directory for the new tokenizer (written atomically)."})
    vocab_size: int = field(default=32768, metadata={"help": "Total vocabulary size, special tokens included."})
    model_type: str = field(default="unigram", metadata={"help": "SentencePiece model type.", "choices": MODEL_TYPES})
    alpha: float = field(default=0.2, metadata={"help": "Sampling temperature α: corpus i drawn with q_i ∝ p_i^α."})
    num_sample_lines: int = field(
        default=5_000_000,
        metadata={"help": "Lines drawn (α-sampled, with replacement) to train SentencePiece on ([TX]: ~5M)."},
    )
    corpus_caps: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Per-corpus line caps NAME=LINES (the first LINES lines are used).",
            "deprecated_names": ["caps"],
        },
    )
    character_coverage: float = field(default=0.9995, metadata={"help": "SentencePiece character_coverage."})
    stats_corpora: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Corpus specs (same names) to compute fertility / <unk> statistics on, e.g. dev files; "
            "default: the training corpora."
        },
    )
    stats_lines: int = field(default=2000, metadata={"help": "Lines per corpus used for the statistics."})
    errors: str = field(
        default="fail",
        metadata={
            "help": "What to do with undecodable bytes: fail, replace (U+FFFD) or skip the line.",
            "choices": DECODE_POLICIES,
        },
    )
    seed: int = field(default=42, metadata={"help": "Seed of the α-sampler and SentencePiece."})
    num_threads: int = field(default=2, metadata={"help": "SentencePiece training threads."})
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing non-empty output_dir."})

    def __post_init__(self):
        for name in ("corpora", "tokenizer_name_or_path", "output_dir"):
            if not getattr(self, name):
                raise ValueError(f"{name} is required")
        if not self.alpha > 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if self.num_sample_lines <= 0:
            raise ValueError(f"num_sample_lines must be > 0, got {self.num_sample_lines}")
        if self.vocab_size <= 0:
            raise ValueError(f"vocab_size must be > 0, got {self.vocab_size}")
