"""Target-vocabulary training: SentencePiece on α-sampled text, laid out like the source's special tokens."""

from .args import TokenizerTrainingArguments
from .hf_tokenizer import VOCAB_FILE_NAME, TokenizerMismatchError, build_hf_tokenizer, verify_against_sentencepiece
from .sentencepiece_model import (
    MODEL_TYPES,
    VocabularySizeError,
    apply_layout,
    load_model_proto,
    processor_from_proto,
    train_sentencepiece,
)
from .special_tokens import SpecialTokenLayout
from .stats import tokenization_stats
from .train import (
    STATS_FILE_NAME,
    build_target_tokenizer,
    compare_with_source,
    sample_training_lines,
    save_tokenizer,
)

__all__ = [
    "MODEL_TYPES",
    "STATS_FILE_NAME",
    "VOCAB_FILE_NAME",
    "SpecialTokenLayout",
    "TokenizerMismatchError",
    "TokenizerTrainingArguments",
    "VocabularySizeError",
    "apply_layout",
    "build_hf_tokenizer",
    "build_target_tokenizer",
    "compare_with_source",
    "load_model_proto",
    "processor_from_proto",
    "sample_training_lines",
    "save_tokenizer",
    "tokenization_stats",
    "train_sentencepiece",
    "verify_against_sentencepiece",
]
