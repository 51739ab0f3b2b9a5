"""LAPT modes: which parameters train, looked up by name in a registry open to 'module:callable' paths.

A mode is a callable ``mode(model, args: LaptArguments, vocab_replaced: bool) -> LaptModeSetup``.

* ``full``  — everything trains; the transformer body is frozen for the first ``freeze_transformer_steps``
  optimizer steps ([ES]: 10k) while embeddings and the LM head train.
* ``emb``   — the body is frozen throughout; word/position embeddings, embedding LayerNorm and LM head train.
* ``lora`` / ``ia3`` — PEFT adapters on ``adapter_target_modules`` ([KG]: LoRA r 8, alpha 8 on query,value).
  With a replaced vocabulary the embeddings and LM head train too. They are the base model's own parameters
  made trainable, not PEFT ``modules_to_save`` copies: peft 0.21.2 does not recognise XLM-R/BERT's
  ``word_embeddings`` as a tied embedding, so copies would silently untie the decoder from the input embeddings.
  They are saved beside the adapter (`EXTRA_WEIGHTS_NAME`) and restored by `load_lapt_adapter`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from langadapt import Registry

from .masked_head import KNOWN_ARCHITECTURES, unwrap_mlm

logger = logging.getLogger(__name__)

LAPT_MODES: Registry = Registry("LAPT mode")
EXTRA_WEIGHTS_NAME = "langadapt_trainable_base.safetensors"
# Embedding sub-modules that train in every mode ([ES] EMB: word/position embeddings and their LayerNorm).
EMBEDDING_PARTS = ("embeddings.word_embeddings.", "embeddings.position_embeddings.", "embeddings.LayerNorm.")
HEAD_PREFIXES = ("lm_head.", "cls.")


@dataclass
class LaptModeSetup:
    """The model to train and the parameters the freeze schedule keeps frozen for the first `freeze_steps`."""

    model: torch.nn.Module
    scheduled_frozen: list[str] = field(default_factory=list)
    freeze_steps: int = 0
    is_peft: bool = False


def _head_prefixes(mlm: torch.nn.Module) -> tuple[str, ...]:
    name = mlm.__class__.__name__
    return (KNOWN_ARCHITECTURES[name][1] + ".",) if name in KNOWN_ARCHITECTURES else HEAD_PREFIXES


def is_embedding_or_head(name: str, head_prefixes: tuple[str, ...] = HEAD_PREFIXES) -> bool:
    """True for the parameters that train in EMB mode (names as in the *ForMaskedLM module)."""
    return any(part in name for part in EMBEDDING_PARTS) or name.startswith(head_prefixes)


def split_parameters(mlm: torch.nn.Module) -> tuple[list[str], list[str]]:
    """(embedding + head names, transformer body names) of a *ForMaskedLM; tied parameters listed once."""
    heads = _head_prefixes(mlm)
    outer, body = [], []
    for name, _ in mlm.named_parameters():  # named_parameters skips tied duplicates
        (outer if is_embedding_or_head(name, heads) else body).append(name)
    return outer, body


@LAPT_MODES.register("full")
def full_mode(model, args, vocab_replaced: bool) -> LaptModeSetup:
    for param in model.parameters():
        param.requires_grad_(True)
    _, body = split_parameters(model)
    return LaptModeSetup(model, scheduled_frozen=body, freeze_steps=args.freeze_transformer_steps)


@LAPT_MODES.register("emb")
def emb_mode(model, args, vocab_replaced: bool) -> LaptModeSetup:
    outer, _ = split_parameters(model)
    keep = set(outer)
    for name, param in model.named_parameters():
        param.requires_grad_(name in keep)
    return LaptModeSetup(model)


def _train_outer(model, args, vocab_replaced: bool) -> bool:
    return args.train_embeddings == "true" or (args.train_embeddings == "auto" and vocab_replaced)


def _peft_mode(model, args, vocab_replaced: bool, peft_config) -> LaptModeSetup:
    try:
        from peft import get_peft_model
    except ImportError as err:  # optional extra
        raise ImportError("LAPT adapter modes need peft: pip install 'langadapt[peft]'") from err
    peft_model = get_peft_model(model, peft_config)
    if _train_outer(model, args, vocab_replaced):
        mlm = unwrap_mlm(peft_model)
        heads = _head_prefixes(mlm)
        for name, param in mlm.named_parameters():
            if "lora_" not in name and "ia3_" not in name and is_embedding_or_head(name, heads):
                param.requires_grad_(True)
    return LaptModeSetup(peft_model, is_peft=True)


@LAPT_MODES.register("lora")
def lora_mode(model, args, vocab_replaced: bool) -> LaptModeSetup:
    from peft import LoraConfig

    config = LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=list(args.adapter_target_modules),
    )
    return _peft_mode(model, args, vocab_replaced, config)


@LAPT_MODES.register("ia3")
def ia3_mode(model, args, vocab_replaced: bool) -> LaptModeSetup:
    from peft import IA3Config

    targets = list(args.adapter_target_modules)
    # IA3 scales FFN inputs as well as attention outputs; "output.dense" is PEFT's FFN default for BERT/XLM-R.
    feedforward = [m for m in targets if m.endswith("output.dense")]
    config = IA3Config(target_modules=targets, feedforward_modules=feedforward)
    return _peft_mode(model, args, vocab_replaced, config)


def trainable_base_state(peft_model) -> dict[str, torch.Tensor]:
    """The base-model (non-adapter) parameters that train, keyed by their *ForMaskedLM names."""
    mlm = unwrap_mlm(peft_model)
    return {
        name: param.detach().cpu().contiguous()
        for name, param in mlm.named_parameters()
        if param.requires_grad and "lora_" not in name and "ia3_" not in name
    }


def save_lapt_adapter(peft_model, directory: str | Path) -> None:
    """PEFT ``save_pretrained`` plus the trained embeddings/head (if any) in `EXTRA_WEIGHTS_NAME`."""
    peft_model.save_pretrained(directory)
    extra = trainable_base_state(peft_model)
    if extra:
        save_file(extra, str(Path(directory) / EXTRA_WEIGHTS_NAME))


def load_lapt_adapter(base_model, directory: str | Path, is_trainable: bool = False):
    """Inverse of `save_lapt_adapter`: a PeftModel on ``base_model`` with the trained embeddings/head restored."""
    from peft import PeftModel

    extra_path = Path(directory) / EXTRA_WEIGHTS_NAME
    if extra_path.is_file():
        missing = [k for k in load_file(str(extra_path)) if k not in dict(base_model.named_parameters())]
        if missing:
            raise ValueError(f"{extra_path}: parameters {missing[:3]} not in the base model")
        base_model.load_state_dict(load_file(str(extra_path)), strict=False)
    return PeftModel.from_pretrained(base_model, str(directory), is_trainable=is_trainable)


def merge_lapt_adapter(peft_model):
    """A plain *ForMaskedLM with the adapter merged in; the decoder stays tied to the input embeddings."""
    merged = peft_model.merge_and_unload()
    merged.tie_weights()
    return merged
