"""LAPT modes: which parameters train, looked up by name in a registry open to 'module:callable' paths.

A mode is a callable ``mode(model, args: LaptArguments, vocab_replaced: bool) -> LaptModeSetup``.

* ``full``  — everything trains; the transformer body is frozen for the first ``freeze_transformer_steps``
  optimizer steps ([ES]: 10k) while embeddings and the LM head train.
* ``emb``   — the body is frozen throughout; word/position embeddings, embedding LayerNorm and LM head train.
* ``seq_bn`` / ``seq_bn_inv`` — bottleneck language adapters ([KG]), in `bottleneck_modes`.
* ``lora`` / ``ia3`` — PEFT adapters on ``adapter_target_modules`` ([KG]: LoRA r 8, alpha 8 on query,value).
  With a replaced vocabulary the embeddings and LM head train too. They are the base model's own parameters
  made trainable, not PEFT ``modules_to_save`` copies: peft 0.21.2 does not recognise XLM-R/BERT's
  ``word_embeddings`` as a tied embedding, so copies would silently untie the decoder from the input embeddings.
  They are saved beside the adapter (`TRAINABLE_BASE_FILE`) and restored by `load_lapt_adapter`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from langadapt import Registry

from ..layout import PEFT_ADAPTER_CONFIG_FILE, TRAINABLE_BASE_FILE
from .flops import peft_adapter_forward_flops
from .masked_head import KNOWN_ARCHITECTURES, unwrap_mlm

logger = logging.getLogger(__name__)

LAPT_MODES: Registry = Registry("LAPT mode")
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
    # Bottleneck adapters (langadapt.adapters) are saved alone, never merged.
    # Adapters (PEFT or bottleneck): their forward FLOPs per position, in the body and in the head.
    is_bottleneck: bool = False
    adapter_flops_per_token: float = 0.0
    adapter_flops_per_projected: float = 0.0


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
    mlm = unwrap_mlm(peft_model)
    flops = peft_adapter_forward_flops(mlm, _head_prefixes(mlm))  # the adapter's own matmuls, counted in FLOPs
    return LaptModeSetup(peft_model, is_peft=True, adapter_flops_per_token=flops["per_token"],
                         adapter_flops_per_projected=flops["per_projected"])  # fmt: skip


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
    """PEFT ``save_pretrained`` plus the trained embeddings/head (if any) in `TRAINABLE_BASE_FILE`."""
    peft_model.save_pretrained(directory)
    extra = trainable_base_state(peft_model)
    if extra:
        save_file(extra, str(Path(directory) / TRAINABLE_BASE_FILE))


def local_model_dir(directory: str | Path) -> Path:
    """A published LAPT output as a local directory: the directory itself, or the Hub repository's snapshot (its
    trained-embeddings file must be read from disk, which PEFT's own loader would not fetch)."""
    if Path(directory).is_dir():
        return Path(directory)
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(str(directory)))


def load_lapt_adapter(base_model, directory: str | Path, is_trainable: bool = False):
    """Inverse of `save_lapt_adapter`: a PeftModel on ``base_model`` with the trained embeddings/head restored.
    ``directory``: a local directory or the Hub id it was published under."""
    from peft import PeftModel

    directory = local_model_dir(directory)
    extra_path = Path(directory) / TRAINABLE_BASE_FILE
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


def is_adapter_dir(path: str | Path) -> bool:
    """True for an adapter directory (a LAPT lora/ia3/seq_bn/seq_bn_inv output's ``best/``), False for a full
    checkpoint."""
    from .bottleneck_modes import is_bottleneck_dir

    return (Path(path) / PEFT_ADAPTER_CONFIG_FILE).is_file() or is_bottleneck_dir(path)


def load_merged_lapt_adapter(directory: str | Path, base_model_name_or_path: str | None = None, **kwargs):
    """A LAPT adapter output as a plain *ForMaskedLM: the base model (default: the one ``adapter_config.json``
    names) with the trained embeddings/head restored and the adapter merged in. The one way every stage (LAPT's
    ``best_merged/``, fine-tuning, pseudo-perplexity) loads an adapter output; ``kwargs`` go to ``from_pretrained``.
    A bottleneck adapter (``seq_bn``/``seq_bn_inv``) cannot be merged: it is placed on the base model and active."""
    from transformers import AutoModelForMaskedLM

    from .bottleneck_modes import is_bottleneck_dir, load_lapt_bottleneck, saved_base_model

    if is_bottleneck_dir(directory):
        base = AutoModelForMaskedLM.from_pretrained(base_model_name_or_path or saved_base_model(directory), **kwargs)
        return load_lapt_bottleneck(base, directory)
    if base_model_name_or_path is None:
        config = json.loads((Path(directory) / PEFT_ADAPTER_CONFIG_FILE).read_text(encoding="utf-8"))
        base_model_name_or_path = config["base_model_name_or_path"]
    base = AutoModelForMaskedLM.from_pretrained(base_model_name_or_path, **kwargs)
    return merge_lapt_adapter(load_lapt_adapter(base, directory))
