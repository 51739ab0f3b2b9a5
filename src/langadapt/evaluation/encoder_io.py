"""The encoder a fine-tuning run starts from, and the fine-tuned model it may keep."""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import save_file
from transformers import AutoConfig, AutoModel, AutoTokenizer

from ..io_utils import atomic_directory, write_json
from .heads import WordLevelModel
from .pppl import load_masked_lm


def load_encoder(model_name_or_path: str):
    """(encoder, tokenizer) from a Hub id, a plain/LAPT checkpoint or a LAPT adapter output: that one is loaded as
    LAPT loads it (`load_masked_lm`: trained embeddings and head restored, adapter merged), then its MLM head dropped."""
    from ..lapt.modes import is_adapter_dir

    if is_adapter_dir(model_name_or_path):
        merged, tokenizer = load_masked_lm(model_name_or_path)
        return getattr(merged, merged.base_model_prefix, merged), tokenizer
    config = AutoConfig.from_pretrained(model_name_or_path)
    kwargs = {"add_pooling_layer": False} if config.model_type in ("bert", "xlm-roberta", "roberta") else {}
    encoder = AutoModel.from_pretrained(model_name_or_path, **kwargs)
    return encoder, AutoTokenizer.from_pretrained(model_name_or_path)


def save_word_model(model: WordLevelModel, tokenizer, *, label_sets: dict, task: str, path: str | Path) -> None:
    """The fine-tuned encoder (config.id2label set), its head weights and ``labels.json``, written atomically."""
    names = label_sets.get("labels") or label_sets.get("relations") or []
    model.encoder.config.id2label = dict(enumerate(names))
    model.encoder.config.label2id = {n: i for i, n in enumerate(names)}
    with atomic_directory(path, overwrite=True) as tmp:
        model.encoder.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        save_file({k: v.contiguous() for k, v in model.head.state_dict().items()}, str(tmp / "head.safetensors"))
        write_json(tmp / "labels.json", {"task": task, **label_sets})


__all__ = ["load_encoder", "save_word_model"]
