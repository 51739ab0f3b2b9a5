"""Project only the masked positions through the MLM output layer.

Hugging Face MLM heads map every position onto the whole vocabulary, although only the ~15% masked positions
have a label. With XLM-R's 250k vocabulary that projection dominates a training step. Here the hidden states
of the labelled positions are gathered first and the model's own head (a position-wise module) runs on them
alone; the loss is the same cross-entropy.

Two more savings ride along, each exact up to float rounding and each off where it does not apply: the encoder's
last layer runs its queries, attention output and feed-forward block on the labelled rows only
(`masked_last_layer`), and a tied embedding/decoder weight gets one in-place gradient sum instead of a dense
zero-filled embedding gradient added to the decoder's (`tied_gradient`).

The model stays a standard ``*ForMaskedLM``: only the instance's ``forward`` is replaced (nothing is saved
differently), and it falls back to the class's forward whenever no labels are given. Replacing the forward of
the inner model, rather than calling its submodules from the Trainer, keeps DDP/FSDP and PEFT wrappers in the
call path.
"""

from __future__ import annotations

import functools
import logging
import types
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from transformers.modeling_outputs import MaskedLMOutput

from .masked_last_layer import last_layer_on_rows, last_layer_supported
from .tied_gradient import tied_gradient_in_place

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


def _masked_only_forward(
    self,
    input_ids=None,
    attention_mask=None,
    labels=None,
    num_items_in_batch=None,
    *,
    last_layer: bool,
    tied_gradient: bool,
    **kwargs,
):
    """``forward`` of a *ForMaskedLM whose head only sees labelled positions; logits are [n_labelled, vocab]."""
    if labels is None:
        return type(self).forward(self, input_ids=input_ids, attention_mask=attention_mask, **kwargs)
    encoder_name, head_name = KNOWN_ARCHITECTURES[self.__class__.__name__]
    kwargs.pop("return_dict", None)
    encoder = getattr(self, encoder_name)
    selected = labels != -100
    all_outputs = kwargs.get("output_hidden_states") or kwargs.get("output_attentions")
    rows_only = last_layer_on_rows(encoder, selected) if last_layer and not all_outputs else nullcontext(False)
    with rows_only as last_layer_rows, tied_gradient_in_place(self) if tied_gradient else nullcontext(False):
        outputs = encoder(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        hidden = outputs[0] if last_layer_rows else outputs[0][selected]
        logits = getattr(self, head_name)(hidden)
    loss = mlm_loss(logits, labels[selected], num_items_in_batch)
    return MaskedLMOutput(loss=loss, logits=logits)


def enable_masked_only_head(model: torch.nn.Module, *, last_layer: bool = True, tied_gradient: bool = True) -> bool:
    """Switch ``model`` (or the MLM inside its wrappers) to the masked-positions-only head; False if unsupported.

    ``last_layer``: run the encoder's last layer on the labelled rows only (where its shape is known);
    ``tied_gradient``: one in-place gradient sum for a tied embedding/decoder weight (where it applies).
    Both are exact up to float rounding; switching them off is for measuring what each saves.
    """
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
    forward = functools.partial(_masked_only_forward, last_layer=last_layer, tied_gradient=tied_gradient)
    inner.forward = types.MethodType(forward, inner)
    return True


def disable_masked_only_head(model: torch.nn.Module) -> None:
    """Restore the class's forward."""
    inner = unwrap_mlm(model)
    if "forward" in vars(inner):
        del inner.forward


def uses_masked_only_head(model: torch.nn.Module) -> bool:
    return "forward" in vars(unwrap_mlm(model))


def last_layer_work(model: torch.nn.Module, labels: torch.Tensor) -> tuple[int, int] | None:
    """(rows, query slots) the last layer computes with the masked-only forward of ``model`` on a batch with
    ``labels``: the labelled positions, and batch rows × the most labelled positions in a row. None when it runs on
    every position (stock head, unsupported layer, last-layer saving switched off, nothing labelled)."""
    inner = unwrap_mlm(model)
    forward = vars(inner).get("forward")
    options = getattr(getattr(forward, "__func__", None), "keywords", {})
    if not options.get("last_layer"):
        return None
    encoder_name, _ = KNOWN_ARCHITECTURES[inner.__class__.__name__]
    selected = labels != -100
    if not last_layer_supported(getattr(inner, encoder_name)) or not bool(selected.any()):
        return None
    return int(selected.sum()), selected.shape[0] * int(selected.sum(dim=1).max())
