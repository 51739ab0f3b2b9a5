"""Train a SentencePiece model and lay its pieces out around the source's special tokens.

SentencePiece is trained with only ``<unk>`` reserved; the other special tokens are then inserted where the
source has them (`SpecialTokenLayout`), so the final model has exactly ``vocab_size`` pieces with no dead or
duplicate ids, and the ``.model`` file and the Hugging Face tokenizer agree id for id.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as model_pb2

from .special_tokens import SpecialTokenLayout

MODEL_TYPES = ("unigram", "bpe")
PieceType = model_pb2.ModelProto.SentencePiece.Type


class VocabularySizeError(ValueError):
    """The training text cannot support the requested vocabulary size."""


def train_sentencepiece(
    text_file: str | Path,
    vocab_size: int,
    layout: SpecialTokenLayout,
    model_type: str = "unigram",
    character_coverage: float = 0.9995,
    seed: int = 42,
    num_threads: int = 2,
    max_sentence_length: int = 16384,
) -> model_pb2.ModelProto:
    """Train on ``text_file`` (one sentence a line); return the laid-out model proto of ``vocab_size`` pieces."""
    if model_type not in MODEL_TYPES:
        raise ValueError(f"model_type must be one of {MODEL_TYPES}, got {model_type!r}")
    # SentencePiece counts its own <unk>; the other special tokens are added afterwards.
    num_added = len(layout.tokens) - 1
    if vocab_size <= num_added + 1:
        raise VocabularySizeError(f"vocab_size={vocab_size} leaves no room beside {len(layout.tokens)} special tokens")
    spm.set_random_generator_seed(seed)
    writer = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            input=str(text_file),
            model_writer=writer,
            model_type=model_type,
            vocab_size=vocab_size - num_added,
            character_coverage=character_coverage,
            unk_id=0,
            bos_id=-1,
            eos_id=-1,
            pad_id=-1,
            unk_piece=layout.unk_token,
            num_threads=num_threads,
            max_sentence_length=max_sentence_length,
            input_sentence_size=0,
            shuffle_input_sentence=False,
            minloglevel=2,
        )
    except RuntimeError as err:
        match = re.search(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)", str(err))
        if match:
            supported = int(match.group(2)) + num_added
            raise VocabularySizeError(
                f"vocab_size={vocab_size} is more than the training text supports; at most {supported} "
                "(including special tokens) is possible: lower vocab_size or add text"
            ) from err
        raise
    proto = model_pb2.ModelProto()
    proto.ParseFromString(writer.getvalue())
    return apply_layout(proto, layout)


def apply_layout(proto: model_pb2.ModelProto, layout: SpecialTokenLayout) -> model_pb2.ModelProto:
    """Re-order pieces as head specials + learned pieces + tail specials and set the special ids."""
    learned = [p for p in proto.pieces if p.type != PieceType.UNKNOWN and p.piece not in layout.tokens]
    unk_role_token = layout.unk_token

    def special(token: str) -> model_pb2.ModelProto.SentencePiece:
        piece = model_pb2.ModelProto.SentencePiece()
        piece.piece = token
        piece.score = 0.0
        piece.type = PieceType.UNKNOWN if token == unk_role_token else PieceType.CONTROL
        return piece

    pieces = [special(t) for t in layout.head] + list(learned) + [special(t) for t in layout.tail]
    del proto.pieces[:]
    proto.pieces.extend(pieces)
    ids = {p.piece: i for i, p in enumerate(proto.pieces)}
    spec = proto.trainer_spec
    spec.vocab_size = len(pieces)
    spec.unk_id, spec.unk_piece = ids[unk_role_token], unk_role_token
    for role, field_prefix in (("bos_token", "bos"), ("eos_token", "eos"), ("pad_token", "pad")):
        token = layout.roles.get(role)
        setattr(spec, f"{field_prefix}_id", ids[token] if token is not None else -1)
        if token is not None:
            setattr(spec, f"{field_prefix}_piece", token)
    return proto


def load_model_proto(path: str | Path) -> model_pb2.ModelProto:
    proto = model_pb2.ModelProto()
    proto.ParseFromString(Path(path).read_bytes())
    return proto


def processor_from_proto(proto: model_pb2.ModelProto) -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(model_proto=proto.SerializeToString())
