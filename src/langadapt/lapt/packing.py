"""Packed MLM batches: several lines share one row, and each line still sees only itself.

LAPT lines are short (Erzya: median 31 tokens) while rows are padded to the longest line of the batch, so most
positions a padded batch computes are padding. Packing places whole lines one after another in rows of at most
``max_seq_length`` positions. Each line keeps its own special tokens, its position ids restart at the model's
first position, and a block-diagonal attention mask lets a token attend only to the tokens of its own line: every
line's hidden states, and therefore the loss and its gradient, are those of the unpacked computation (up to
float rounding; tests check both on XLM-R and BERT).

The collator only rearranges the micro-batch it is given, so the draw order, resume exactness and the sharding
over processes of ``StreamingMLMDataset`` are untouched; a batch is still counted in lines. The batch carries
``segment_ids`` (1, 2, … per line of a row, 0 for padding); ``block_diagonal_attention_mask`` turns them into the
additive 4D mask the model takes, in the model's dtype and on its device, just before the forward pass.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .data import IGNORE_INDEX, MLMCollator

logger = logging.getLogger(__name__)

# Architectures whose self-attention takes a 4D additive mask unchanged and whose positions come from
# `position_ids` when given (checked by the packed-vs-unpacked tests).
PACKABLE_MODEL_TYPES = ("xlm-roberta", "roberta", "camembert", "bert")


def pack_lines(lengths: Sequence[int], row_length: int) -> list[list[int]]:
    """First-fit decreasing: the indices of ``lengths`` grouped into rows whose lengths sum to ≤ ``row_length``.

    Deterministic (ties keep the input order), and within a row the lines keep their input order.
    """
    too_long = [n for n in lengths if n > row_length]
    if too_long:
        raise ValueError(f"a line of {max(too_long)} tokens does not fit in a row of {row_length}")
    rows: list[list[int]] = []
    free: list[int] = []
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        for row, space in enumerate(free):
            if lengths[index] <= space:
                rows[row].append(index)
                free[row] -= lengths[index]
                break
        else:
            rows.append([index])
            free.append(row_length - lengths[index])
    return [sorted(row) for row in rows]


def position_offset(config) -> int:
    """The position id of a line's first token: RoBERTa-family models count from ``pad_token_id + 1``."""
    if config.model_type in ("xlm-roberta", "roberta", "camembert"):
        return config.pad_token_id + 1
    return 0


def supports_packing(config) -> bool:
    return config.model_type in PACKABLE_MODEL_TYPES


@dataclass
class PackedMLMCollator:
    """Pack already-masked examples into rows of ≤ ``row_length`` positions with per-line positions and segments."""

    pad_token_id: int
    row_length: int
    first_position: int = 0
    pad_to_multiple_of: int | None = 8

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        lengths = [len(e["input_ids"]) for e in examples]
        rows = pack_lines(lengths, self.row_length)
        length = max(sum(lengths[i] for i in row) for row in rows)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        shape = (len(rows), length)
        input_ids = np.full(shape, self.pad_token_id, dtype=np.int64)
        labels = np.full(shape, IGNORE_INDEX, dtype=np.int64)
        position_ids = np.zeros(shape, dtype=np.int64)
        segment_ids = np.zeros(shape, dtype=np.int64)
        for row, members in enumerate(rows):
            used = sum(lengths[i] for i in members)
            input_ids[row, :used] = list(itertools.chain.from_iterable(examples[i]["input_ids"] for i in members))
            labels[row, :used] = list(itertools.chain.from_iterable(examples[i]["labels"] for i in members))
            position_ids[row, :used] = np.concatenate([np.arange(lengths[i]) for i in members]) + self.first_position
            segment_ids[row, :used] = np.repeat(np.arange(1, len(members) + 1), [lengths[i] for i in members])
        out = {
            "input_ids": torch.from_numpy(input_ids),
            "labels": torch.from_numpy(labels),
            "position_ids": torch.from_numpy(position_ids),
            "segment_ids": torch.from_numpy(segment_ids),
        }
        if "draw_index" in examples[0]:
            out["draw_index"] = torch.tensor([e["draw_index"] for e in examples], dtype=torch.long)
        return out


def build_mlm_collator(tokenizer, config, max_seq_length: int, packing: bool) -> PackedMLMCollator | MLMCollator:
    """The packing collator where it is exact for ``config``'s architecture, else one padded line per row."""
    if packing and not supports_packing(config):
        logger.warning(
            "packing is not known to be exact for model type %r (known: %s); one line per row instead",
            config.model_type,
            ", ".join(PACKABLE_MODEL_TYPES),
        )
    if packing and supports_packing(config):
        return PackedMLMCollator(tokenizer.pad_token_id, max_seq_length, position_offset(config))
    return MLMCollator(tokenizer.pad_token_id)


def block_diagonal_attention_mask(segment_ids: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The additive [batch, 1, length, length] mask: 0 where query and key are in the same line, else the dtype's
    minimum. A padding position attends to itself only (an all-masked row would give NaN in the softmax)."""
    same_line = segment_ids[:, :, None] == segment_ids[:, None, :]
    padding = segment_ids == 0
    same_line &= ~(padding[:, :, None] | padding[:, None, :])
    same_line |= torch.eye(segment_ids.shape[1], dtype=torch.bool, device=segment_ids.device)
    mask = torch.zeros(same_line.shape, dtype=dtype, device=segment_ids.device)
    mask.masked_fill_(~same_line, torch.finfo(dtype).min)
    return mask[:, None]


def attach_attention_mask(inputs: dict[str, Any], dtype: torch.dtype) -> dict[str, Any]:
    """Replace a packed batch's ``segment_ids`` by the model's 4D attention mask (other batches pass unchanged)."""
    segment_ids = inputs.pop("segment_ids", None)
    if segment_ids is not None:
        inputs["attention_mask"] = block_diagonal_attention_mask(segment_ids, dtype)
    return inputs


def real_token_count(batch: dict[str, torch.Tensor]) -> int:
    """Positions holding a line's token (not padding), for packed and padded batches alike."""
    if "segment_ids" in batch:
        return int((batch["segment_ids"] > 0).sum())
    return int(batch["attention_mask"].sum())
