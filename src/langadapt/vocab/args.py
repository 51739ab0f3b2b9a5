"""Argument dataclasses of vocabulary replacement (recipe options and library options are the same fields)."""

from __future__ import annotations

from dataclasses import dataclass, field

RANDOM_DISTRIBUTIONS = ("auto", "initializer_range", "unit", "source")
RANDOM_BIASES = ("mean", "zero")


@dataclass
class InitOptions:
    """How the new embedding rows (and the matching output-side rows) are initialised."""

    init_spec: str = field(
        default="script+posn+ident",
        metadata={
            "help": "Init methods joined by '+', applied with the precedence special tokens > ident > focus > mean > "
            "an outside 'module:callable' method > script+posn > script > random (e.g. 'script+posn+ident', "
            "'focus', 'mean+ident', 'random', 'mypackage.init:fn+script')."
        },
    )
    seed: int = field(default=42, metadata={"help": "Seed of every random draw (rows, fresh MLM head, fastText)."})
    random_distribution: str = field(
        default="auto",
        metadata={
            "help": "Distribution of RANDOM rows: 'initializer_range' = N(0, source config.initializer_range); "
            "'unit' = N(0, 1) (the papers' torch default); 'source' = N(source mean, source std) per dimension "
            "(FOCUS's choice for rare tokens); 'auto' = 'source' when the spec has focus, else 'initializer_range'.",
            "choices": list(RANDOM_DISTRIBUTIONS),
        },
    )
    random_bias: str = field(
        default="mean",
        metadata={
            "help": "MLM output bias of RANDOM rows with a fixed distribution: 'mean' = mean source bias, 'zero' = 0.",
            "choices": list(RANDOM_BIASES),
        },
    )
    min_group_size: int = field(
        default=2,
        metadata={"help": "A script (or script+position) group needs this many source rows, else it falls back."},
    )
    # FOCUS
    fasttext_model: str | None = field(
        default=None,
        metadata={"help": "FOCUS: path of a fastText .bin trained on text tokenized with the target tokenizer."},
    )
    fasttext_corpus: list[str] | None = field(
        default=None,
        metadata={"help": "FOCUS: text files to tokenize with the target tokenizer and train fastText on."},
    )
    fasttext_dim: int = field(default=100, metadata={"help": "FOCUS: fastText dimension (deepfocus default)."})
    fasttext_epochs: int = field(default=3, metadata={"help": "FOCUS: fastText epochs (deepfocus default)."})
    fasttext_min_count: int = field(default=10, metadata={"help": "FOCUS: fastText minCount (deepfocus default)."})
    fasttext_threads: int = field(default=1, metadata={"help": "FOCUS: fastText threads (1 is deterministic)."})
    focus_exact_match_all: bool = field(
        default=True, metadata={"help": "FOCUS: copy every token whose canonical form matches a source token."}
    )
    focus_fuzzy_match_all: bool = field(
        default=False, metadata={"help": "FOCUS: also copy tokens that match ignoring case and the word marker."}
    )
    focus_match_symbols: bool = field(
        default=False, metadata={"help": "FOCUS: copy numbers/punctuation/special tokens matching exactly or fuzzily."}
    )

    def __post_init__(self) -> None:
        if self.random_distribution not in RANDOM_DISTRIBUTIONS:
            raise ValueError(
                f"random_distribution must be one of {RANDOM_DISTRIBUTIONS}, got {self.random_distribution!r}"
            )
        if self.random_bias not in RANDOM_BIASES:
            raise ValueError(f"random_bias must be one of {RANDOM_BIASES}, got {self.random_bias!r}")
        if self.min_group_size < 2:
            raise ValueError(f"min_group_size must be at least 2 (a std needs two rows), got {self.min_group_size}")


@dataclass
class VocabReplacementArguments:
    """Where the source model and target tokenizer come from and where the new model goes."""

    model_name_or_path: str = field(
        metadata={
            "help": "Source model: Hub id or local directory (MLM or headless encoder).",
            "deprecated_names": ["source_model"],
        }
    )
    target_tokenizer: str = field(
        metadata={"help": "Directory of the new tokenizer (from recipes/train_tokenizer.py)."}
    )
    output_dir: str = field(metadata={"help": "Directory to write the new model, tokenizer and provenance to."})
    source_revision: str | None = field(default=None, metadata={"help": "Hub revision of the source model."})
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing output directory."})
    log_level: str = field(default="info", metadata={"help": "Logging level (debug, info, warning, error)."})
