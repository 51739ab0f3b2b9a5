"""Project only the masked positions through the MLM output layer.

Hugging Face MLM heads map every position onto the whole vocabulary, although only the ~15% masked positions
have a label. With XLM-R's 250k vocabulary that projection dominates a training step. Here the hidden states
of the labelled positions are gathered first and the model's own head (a position-wise module) runs on them
alone; the loss is the same cross-entropy.

The model stays a standard ``*ForMaskedLM``: only the instance's ``forward`` is replaced (nothing is saved
differently), and it falls back to the class's forward whenever no labels are given. Replacing the forward of
the inner model, rather than calling its submodules from the Trainer, keeps DDP/FSDP and PEFT wrappers in the
call path.
"""

from __future__ import annotations

import logging
import types

import torch
import torch.nn.functional as F
from transformers.modeling_outputs import MaskedLMOutput

logger = logging.getLogger(__name__)

# Class name → (encoder attribute, head attribute). The head must act position-wise on [n, hidden] inputs.
KNOWN_ARCHITECTURES: dict[str, tuple[str, str]] = {
    "XLMRobertaForMaskedLM": ("roberta", "lm_head"),
    "RobertaForMaskedLM": ("roberta", "lm_head"),
    "CamembertForMaskedLM": ("roberta", "lm_head"),
    "BertForMaskedLM": ("bert", "cls"),
}


def unwrap_mlm(model: torch.nn.Module) -> torch.nn.Module:
    """The ``*ForMaskedLM`` module inside DDP / PEFT wrappers."""
    while hasattr(model, "module") and not hasattr(model, "config"):  # DDP / DataParallel
        model = model.module
    if hasattr(model, "get_base_model"):  # peft.PeftModel
        model = model.get_base_model()
    return model


def mlm_loss(logits: torch.Tensor, labels: torch.Tensor, num_items_in_batch=None) -> torch.Tensor:
    """Cross-entropy over labelled positions: a mean, or a sum / num_items_in_batch (gradient accumulation, DDP)."""
    loss_sum = F.cross_entropy(logits.float(), labels, ignore_index=-100, reduction="sum")
    if num_items_in_batch is None:
        num_items_in_batch = (labels != -100).sum()
    if torch.is_tensor(num_items_in_batch):
        num_items_in_batch = num_items_in_batch.to(loss_sum.device)
    # A batch without any target gives 0 (not NaN) and no gradient.
    return loss_sum / (num_items_in_batch if float(num_items_in_batch) > 0 else 1)


def _masked_only_forward(self, input_ids=None, attention_mask=None, labels=None, num_items_in_batch=None, **kwargs):
    """``forward`` of a *ForMaskedLM whose head only sees labelled positions; logits are [n_labelled, vocab]."""
    if labels is None:
        return type(self).forward(self, input_ids=input_ids, attention_mask=attention_mask, **kwargs)
    encoder_name, head_name = KNOWN_ARCHITECTURES[self.__class__.__name__]
    kwargs.pop("return_dict", None)
    outputs = getattr(self, encoder_name)(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
    hidden = outputs[0]
    selected = labels != -100
    logits = getattr(self, head_name)(hidden[selected])
    loss = mlm_loss(logits, labels[selected], num_items_in_batch)
    return MaskedLMOutput(loss=loss, logits=logits)


def enable_masked_only_head(model: torch.nn.Module) -> bool:
    """Switch ``model`` (or the MLM inside its wrappers) to the masked-positions-only head; False if unsupported."""
    inner = unwrap_mlm(model)
    name = inner.__class__.__name__
    if name not in KNOWN_ARCHITECTURES:
        logger.warning(
            "masked-positions-only MLM head not implemented for %s; using the stock head on every position "
            "(same loss, more FLOPs). Known: %s",
            name,
            ", ".join(KNOWN_ARCHITECTURES),
        )
        return False
    inner.forward = types.MethodType(_masked_only_forward, inner)
    return True


def disable_masked_only_head(model: torch.nn.Module) -> None:
    """Restore the class's forward."""
    inner = unwrap_mlm(model)
    if "forward" in vars(inner):
        del inner.forward


def uses_masked_only_head(model: torch.nn.Module) -> bool:
    return "forward" in vars(unwrap_mlm(model))
