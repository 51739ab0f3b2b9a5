"""Wrap a laid-out SentencePiece model as the source model's Hugging Face fast tokenizer class.

transformers 5.x pitfall: ``XLMRobertaTokenizer(vocab_file="sp.model")`` silently builds a 5-token vocabulary.
The v5 constructor takes ``vocab=[(piece, score), ...]`` and ``_spm_precompiled_charsmap``, which is what we
pass. Sources whose tokenizer class cannot hold a SentencePiece unigram model (WordPiece, byte-level BPE), and
BPE models, get the generic `PreTrainedTokenizerFast` built from a `tokenizers.Tokenizer`. Either way the result
is checked id for id against `sentencepiece` itself before it is saved (`verify_against_sentencepiece`).
"""

from __future__ import annotations

import inspect
import logging

from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import BPE, Unigram
from transformers import PreTrainedTokenizerFast
from transformers.tokenization_utils_base import generate_merges

from .sentencepiece_model import model_pb2, processor_from_proto
from .special_tokens import SpecialTokenLayout

logger = logging.getLogger(__name__)


class TokenizerMismatchError(RuntimeError):
    """The Hugging Face tokenizer does not reproduce SentencePiece's ids."""


def _accepts_unigram_vocab(tokenizer_class: type) -> bool:
    params = inspect.signature(tokenizer_class.__init__).parameters
    return "vocab" in params and "_spm_precompiled_charsmap" in params


def _backend(proto: model_pb2.ModelProto, layout: SpecialTokenLayout, model_type: str) -> Tokenizer:
    """A `tokenizers.Tokenizer` equivalent to the SentencePiece model (normalizer, pre-tokenizer, model)."""
    vocab = [(p.piece, p.score) for p in proto.pieces]
    unk_id = proto.trainer_spec.unk_id
    if model_type == "unigram":
        tokenizer = Tokenizer(Unigram(vocab=vocab, unk_id=unk_id, byte_fallback=False))
    else:
        vocab_ids = {piece: i for i, (piece, _) in enumerate(vocab)}
        merges = generate_merges(vocab_ids)  # SentencePiece BPE stores no merges: rebuild them from the pieces
        tokenizer = Tokenizer(BPE(vocab=vocab_ids, merges=merges, unk_token=layout.unk_token, fuse_unk=True))
    charsmap = proto.normalizer_spec.precompiled_charsmap
    steps = [normalizers.Precompiled(charsmap)] if charsmap else []
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    return tokenizer


def build_hf_tokenizer(
    proto: model_pb2.ModelProto,
    layout: SpecialTokenLayout,
    source_tokenizer_class: type,
    model_type: str,
) -> PreTrainedTokenizerFast:
    """The fast tokenizer for ``proto``: the source's class when it takes a unigram vocabulary, else generic."""
    roles = dict(layout.roles)
    unk_id = proto.trainer_spec.unk_id
    # XLMRobertaTokenizer hard-codes unk_id=3 in its constructor, so it is only usable when the layout agrees.
    if model_type == "unigram" and _accepts_unigram_vocab(source_tokenizer_class) and unk_id == 3:
        tokenizer = source_tokenizer_class(
            vocab=[(p.piece, p.score) for p in proto.pieces],
            _spm_precompiled_charsmap=proto.normalizer_spec.precompiled_charsmap or None,
            **roles,
        )
    else:
        logger.info("using the generic PreTrainedTokenizerFast (source class %s)", source_tokenizer_class.__name__)
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=_backend(proto, layout, model_type), **roles)
        start = roles.get("cls_token") or roles.get("bos_token")
        end = roles.get("sep_token") or roles.get("eos_token")
        if start and end:
            tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
                single=[start, "$A", end],
                pair=[start, "$A", end, end, "$B", end],
                special_tokens=[
                    (start, tokenizer.convert_tokens_to_ids(start)),
                    (end, tokenizer.convert_tokens_to_ids(end)),
                ],
            )
    if len(tokenizer) != len(proto.pieces):
        raise TokenizerMismatchError(
            f"Hugging Face tokenizer has {len(tokenizer)} tokens, SentencePiece model {len(proto.pieces)}"
        )
    return tokenizer


def _is_tie(proto: model_pb2.ModelProto, expected: list[int], actual: list[int]) -> bool:
    """Two unigram segmentations of the same text with the same total log-probability: either is optimal.

    SentencePiece and the `tokenizers` Viterbi break such ties differently (seen on runs of dots such as
    ``..........``, where ``...`` + ``.`` + ``.`` and ``.`` + ``.`` + ``...`` score the same).
    """
    if proto.trainer_spec.model_type != model_pb2.TrainerSpec.UNIGRAM:
        return False
    pieces = proto.pieces
    if "".join(pieces[i].piece for i in expected) != "".join(pieces[i].piece for i in actual):
        return False
    score_expected = sum(pieces[i].score for i in expected)
    score_actual = sum(pieces[i].score for i in actual)
    return abs(score_expected - score_actual) <= 1e-4 * max(1.0, abs(score_expected))


def verify_against_sentencepiece(tokenizer, proto: model_pb2.ModelProto, lines: list[str]) -> int:
    """Raise if the tokenizer's ids differ from SentencePiece's on any line (special ids included).

    Segmentations that differ only by an exact tie (same text, same total score) are accepted and counted;
    the count is returned.
    """
    processor = processor_from_proto(proto)
    for piece_id in range(len(proto.pieces)):
        if tokenizer.convert_ids_to_tokens(piece_id) != processor.id_to_piece(piece_id):
            raise TokenizerMismatchError(
                f"id {piece_id}: tokenizer has {tokenizer.convert_ids_to_tokens(piece_id)!r}, "
                f"SentencePiece {processor.id_to_piece(piece_id)!r}"
            )
    ties = 0
    for line in lines:
        expected = processor.encode(line)
        actual = tokenizer(line, add_special_tokens=False)["input_ids"]
        if expected == actual:
            continue
        if _is_tie(proto, expected, actual):
            ties += 1
            logger.debug("equal-score segmentations of %r: SentencePiece %s, tokenizer %s", line, expected, actual)
            continue
        raise TokenizerMismatchError(f"ids differ on {line!r}: SentencePiece {expected}, tokenizer {actual}")
    if ties:
        logger.info("%d of %d check lines are segmented differently but with equal scores (ties)", ties, len(lines))
    return ties
