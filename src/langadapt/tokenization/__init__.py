"""Target-vocabulary training: SentencePiece on α-sampled text, laid out like the source's special tokens."""

from .args import TokenizerTrainingArguments
from .sentencepiece_model import train_sentencepiece
from .special_tokens import SpecialTokenLayout
from .train import build_target_tokenizer, compare_with_source, sample_training_lines, save_tokenizer

__all__ = [
    "TokenizerTrainingArguments",
    "SpecialTokenLayout",
    "sample_training_lines",
    "train_sentencepiece",
    "build_target_tokenizer",
    "compare_with_source",
    "save_tokenizer",
]
