"""Fine-tune with only the input-embedding rows the task data uses: the same run, much cheaper for big vocabularies.

A word-level task model reads its input embeddings only at the ids present in its inputs. Rows of ids that occur
nowhere in the train, dev or test data get a zero gradient, so Adam(W) without weight decay never moves them, and
no prediction ever reads them. Training a compacted matrix (the used rows only, the data's ids remapped) is the
same computation up to floating-point summation order (in the gradient-norm clipping), while the optimizer skips
the unused rows: for XLM-R / multilingual-e5's 250k-row matrix that is most of the model's parameters, and on CPU
most of a step's time. Before a model is saved the trained rows are scattered back into the full matrix, so a saved
model keeps its tokenizer's ids. (With weight decay the plain run would also shrink the unused rows; here they stay
as they were, which changes no score, since no input reads them.)

The pad id keeps its value (every id up to it is kept), because some models derive positions from it (RoBERTa and
XLM-R count non-pad tokens) and ``nn.Embedding.padding_idx`` must stay the pad row.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence

import torch
from torch import nn

from .datasets import EncodedSentence

logger = logging.getLogger(__name__)

# Ids below the pad id are all kept so that it keeps its value; beyond this the compaction would gain little.
MAX_PAD_ID = 1024


@dataclasses.dataclass
class CompactVocabulary:
    """The kept rows (``used_ids[new] = old``) and the original matrix the trained rows go back into."""

    used_ids: torch.Tensor
    full_weight: torch.Tensor

    @property
    def old_to_new(self) -> dict[int, int]:
        return {old: new for new, old in enumerate(self.used_ids.tolist())}

    def remap(self, encoded: Sequence[EncodedSentence]) -> list[EncodedSentence]:
        """The encoded sentences with their window ids in the compact vocabulary."""
        mapping = self.old_to_new
        return [
            dataclasses.replace(item, windows=[[mapping[i] for i in window] for window in item.windows])
            for item in encoded
        ]


def _embedding_like(weight: torch.Tensor, template: nn.Embedding) -> nn.Embedding:
    embedding = nn.Embedding(
        weight.shape[0],
        weight.shape[1],
        padding_idx=template.padding_idx,
        max_norm=template.max_norm,
        norm_type=template.norm_type,
        scale_grad_by_freq=template.scale_grad_by_freq,
        sparse=template.sparse,
        device=weight.device,
        dtype=weight.dtype,
    )
    with torch.no_grad():
        embedding.weight.copy_(weight)
    embedding.weight.requires_grad_(template.weight.requires_grad)
    return embedding


def compact_input_embeddings(
    encoder, encoded_sets: Iterable[Sequence[EncodedSentence]], pad_token_id: int | None
) -> CompactVocabulary | None:
    """Shrink ``encoder``'s input embeddings to the ids the encoded data uses; None (nothing done) when the
    encoder's embeddings are not a plain ``nn.Embedding`` or the pad id is too large to keep its value."""
    embeddings = encoder.get_input_embeddings()
    if type(embeddings) is not nn.Embedding:
        logger.info("compact vocabulary: input embeddings are %s, not nn.Embedding; skipped", type(embeddings))
        return None
    pad = 0 if pad_token_id is None else pad_token_id
    if pad > MAX_PAD_ID:
        logger.info("compact vocabulary: pad id %d > %d; skipped", pad, MAX_PAD_ID)
        return None
    used = set(range(pad + 1))
    for encoded in encoded_sets:
        for item in encoded:
            for window in item.windows:
                used.update(window)
    vocab_size = embeddings.weight.shape[0]
    if max(used) >= vocab_size:
        raise ValueError(f"token id {max(used)} is outside the encoder's {vocab_size}-row embedding matrix")
    used_ids = torch.tensor(sorted(used), dtype=torch.long)
    full_weight = embeddings.weight.detach()
    encoder.set_input_embeddings(_embedding_like(full_weight[used_ids.to(full_weight.device)], embeddings))
    logger.info(
        "compact vocabulary: training %d of %d embedding rows (the ids in train/dev/test)", len(used_ids), vocab_size
    )
    return CompactVocabulary(used_ids, full_weight)


def restore_input_embeddings(encoder, compact: CompactVocabulary) -> None:
    """Scatter the trained rows back into the full matrix (ids as the tokenizer's) and put it in the encoder."""
    trained = encoder.get_input_embeddings()
    full = compact.full_weight.clone().to(trained.weight.device, trained.weight.dtype)
    with torch.no_grad():
        full[compact.used_ids.to(full.device)] = trained.weight.detach()
    encoder.set_input_embeddings(_embedding_like(full, trained))


__all__ = ["CompactVocabulary", "compact_input_embeddings", "restore_input_embeddings"]
