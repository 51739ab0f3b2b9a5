"""MEAN (FVT, Gee et al. 2022): a new token's row is the average of the source rows of its source pieces.

The new token's surface text (word marker removed) is tokenized by the source tokenizer in one batch call.
SentencePiece tokenizers always mark the first piece as word-initial, so for a word-internal new token a
leading lone ``▁`` piece is dropped and a leading ``▁x`` piece is replaced by ``x`` when the source has it.
Tokens the source can only spell with ``<unk>`` (or not at all) are left to the next method.
"""

from __future__ import annotations

import torch

from .categories import INITIAL, SENTENCEPIECE, SP_MARKER, surface_text
from .methods import InitContext, register_method
from .plan import InitPlan


def source_pieces(context: InitContext, target_ids: list[int]) -> dict[int, list[int]]:
    """target id → source ids of its decomposition (only tokens with a usable decomposition)."""
    tokenizer, vocab = context.source_tokenizer, context.source_vocab
    _, positions = context.target_categories
    texts = [surface_text(context.target_tokens[t], context.target_convention) for t in target_ids]
    encoded = tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
    unk = tokenizer.unk_token_id
    marker_piece = vocab.get(SP_MARKER)
    result: dict[int, list[int]] = {}
    for target_id, text, ids in zip(target_ids, texts, encoded):
        if not text or not ids:
            continue
        if positions[target_id] != INITIAL and context.source_convention == SENTENCEPIECE:
            if ids[0] == marker_piece and len(ids) > 1:
                ids = ids[1:]
            first = context.source_tokens[ids[0]]
            if first.startswith(SP_MARKER) and first[1:] in vocab:
                ids = [vocab[first[1:]], *ids[1:]]
        if unk in ids or any(i in context.source_special_ids for i in ids):
            continue
        result[target_id] = ids
    return result


@register_method("mean", 30, "average of the source rows of the token's pieces under the source tokenizer (FVT)")
def init_mean(context: InitContext, plan: InitPlan) -> None:
    pieces = source_pieces(context, plan.free_ids().tolist())
    if not pieces:
        return
    new_ids = torch.tensor([t for t, ids in pieces.items() for _ in ids])
    source_ids = torch.tensor([i for ids in pieces.values() for i in ids])
    weights = torch.tensor([1.0 / len(ids) for ids in pieces.values() for _ in ids])
    details = {t: {"source_ids": ids} for t, ids in pieces.items()}
    plan.add_combinations(new_ids, source_ids, weights, "mean", details)
