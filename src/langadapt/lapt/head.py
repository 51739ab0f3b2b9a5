"""The MLM head under adapter modes, and models whose checkpoint has none (``--train_head``).

A sentence encoder such as multilingual-e5-small is saved without its MLM head: loaded as a ``*ForMaskedLM`` it
gets a freshly initialised one. Under an adapter mode (lora, ia3, seq_bn, seq_bn_inv) that head would stay frozen
at its random values (unless ``--train_embeddings true``, which trains the whole tied vocabulary × hidden
embedding as well), so the adapter would learn to feed a random projection. ``--train_head`` trains the head's own
small part instead: its transform (dense + LayerNorm) and the output bias. The output projection matrix stays
frozen; it is tied to the input embeddings, which the pretrained model does have.

What trains is saved beside the adapter with the other trained base parameters (`TRAINABLE_BASE_FILE`), so save,
load, resume and `load_merged_lapt_adapter` carry it with no further code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import torch

from .masked_head import unwrap_mlm
from .modes import _head_prefixes

logger = logging.getLogger(__name__)

TRAIN_HEAD_CHOICES = ("auto", "true", "false")


def missing_head_keys(mlm: torch.nn.Module, missing_keys: Iterable[str]) -> list[str]:
    """The MLM head's entries among ``missing_keys`` (``from_pretrained(..., output_loading_info=True)``)."""
    heads = _head_prefixes(unwrap_mlm(mlm))
    return sorted(key for key in missing_keys if key.startswith(heads))


def head_parameters(mlm: torch.nn.Module) -> dict[str, torch.nn.Parameter]:
    """The head's own parameters (transform and output bias), keyed by *ForMaskedLM name: everything under the
    head's prefix except the output projection matrix (the tied input embeddings, or an untied vocabulary matrix)."""
    mlm = unwrap_mlm(mlm)
    heads = _head_prefixes(mlm)
    output = mlm.get_output_embeddings() if hasattr(mlm, "get_output_embeddings") else None
    excluded = {id(output.weight)} if output is not None else set()
    if hasattr(mlm, "get_input_embeddings"):
        excluded.add(id(mlm.get_input_embeddings().weight))
    return {
        name: param
        for name, param in mlm.named_parameters()
        if name.startswith(heads) and id(param) not in excluded and "lora_" not in name and "ia3_" not in name
    }


def resolve_train_head(choice: str, head_missing: bool) -> bool:
    """``--train_head``: 'true', 'false', or 'auto' (= the checkpoint had no MLM head)."""
    if choice not in TRAIN_HEAD_CHOICES:
        raise ValueError(f"train_head must be one of {TRAIN_HEAD_CHOICES}, got {choice!r}")
    return choice == "true" or (choice == "auto" and head_missing)


def apply_train_head(setup, choice: str, missing_keys: Iterable[str]) -> dict:
    """Make the head's transform and output bias trainable under an adapter mode when ``choice`` asks for it;
    return what `lapt_results` records (``mlm_head``). Full/emb modes train the whole head already."""
    mlm = unwrap_mlm(setup.model)
    missing = missing_head_keys(mlm, missing_keys)
    params = head_parameters(mlm)
    is_adapter_mode = setup.is_peft or setup.is_bottleneck
    wanted = resolve_train_head(choice, bool(missing))
    if missing:
        logger.info("the checkpoint has no MLM head (%s missing): it is newly initialised", ", ".join(missing))
    if is_adapter_mode and wanted:
        for param in params.values():
            param.requires_grad_(True)
        logger.info("train_head=%s: the MLM head's transform and output bias train (%d parameters); the output "
                    "projection matrix stays frozen", choice, sum(p.numel() for p in params.values()))  # fmt: skip
    elif is_adapter_mode and missing and not any(p.requires_grad for p in params.values()):
        logger.warning("train_head=%s: the MLM head is newly initialised and stays frozen at random values; the "
                       "adapter will be trained against a random head", choice)  # fmt: skip
    trains = any(p.requires_grad for p in params.values())
    return {
        "train_head": choice,
        "missing_from_checkpoint": missing,
        "trains": trains,
        "trainable_parameters": sum(p.numel() for p in params.values() if p.requires_grad),
        "output_projection_trains": _output_projection_trains(mlm),
    }


def _output_projection_trains(mlm: torch.nn.Module) -> bool:
    output = mlm.get_output_embeddings() if hasattr(mlm, "get_output_embeddings") else None
    return bool(output is not None and output.weight.requires_grad)


__all__ = ["TRAIN_HEAD_CHOICES", "apply_train_head", "head_parameters", "missing_head_keys", "resolve_train_head"]
