"""LAPT settings that depend on the model being adapted, settled once at start.

* ``max_grad_norm``: when the user did not set it, [ES]'s value: 1.0, or 0.5 for a replaced vocabulary (whose
  new embeddings give larger, less stable gradients early on). A replaced vocabulary is recognised by the
  ``langadapt_provenance.json`` that vocabulary replacement writes beside the model (LAPT outputs copy it).
* ``max_seq_length``: no longer than the model's position embeddings allow. RoBERTa-family models (XLM-R)
  number positions from ``pad_token_id + 1``, so ``max_position_embeddings - pad_token_id - 1`` tokens fit
  (514 - 1 - 1 = 512); a longer line would index past the table deep inside the forward pass.
"""

from __future__ import annotations

import logging

from .packing import position_offset

logger = logging.getLogger(__name__)

MAX_GRAD_NORM = 1.0  # [ES] Table 6
MAX_GRAD_NORM_REPLACED_VOCABULARY = 0.5


def default_max_grad_norm(vocab_replaced: bool) -> float:
    return MAX_GRAD_NORM_REPLACED_VOCABULARY if vocab_replaced else MAX_GRAD_NORM


def resolve_max_grad_norm(training_args, vocab_replaced: bool) -> float:
    """Fill in ``training_args.max_grad_norm`` when it was left unset (None); a value the user gave wins."""
    if training_args.max_grad_norm is None:
        training_args.max_grad_norm = default_max_grad_norm(vocab_replaced)
        reason = "a replaced vocabulary" if vocab_replaced else "the source vocabulary"
        logger.info("max_grad_norm %s (the default for %s)", training_args.max_grad_norm, reason)
    return training_args.max_grad_norm


def usable_positions(config) -> int | None:
    """How many tokens one sequence of this model may hold; None when the config has no position table."""
    table = getattr(config, "max_position_embeddings", None)
    return None if table is None else table - position_offset(config)


def fit_max_seq_length(lapt_args, config) -> int:
    """Cap ``lapt_args.max_seq_length`` at what the model's positions take, with one warning naming both numbers
    (the capped value is what the run records)."""
    usable = usable_positions(config)
    if usable is not None and lapt_args.max_seq_length > usable:
        logger.warning(
            "max_seq_length %d is more than the model's position embeddings take (%d = max_position_embeddings %d"
            " - first position %d): lines are truncated at %d tokens",
            lapt_args.max_seq_length,
            usable,
            config.max_position_embeddings,
            position_offset(config),
            usable,
        )
        lapt_args.max_seq_length = usable
    return lapt_args.max_seq_length
