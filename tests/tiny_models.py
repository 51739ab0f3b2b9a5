"""The tiny random XLM-R masked LM the tests build around their tokenizers (2 layers, hidden 32)."""

from __future__ import annotations

import torch
from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM


def tiny_xlmr_mlm(tokenizer, max_position_embeddings: int = 130, seed: int = 0) -> XLMRobertaForMaskedLM:
    """Random weights (seeded) with ``tokenizer``'s vocabulary size and special ids."""
    torch.manual_seed(seed)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=max_position_embeddings,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        type_vocab_size=1,
        tie_word_embeddings=True,
    )
    return XLMRobertaForMaskedLM(config)
