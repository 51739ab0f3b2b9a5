"""Run the encoder's last layer for the labelled positions only.

The MLM loss reads the final hidden states of the labelled positions alone (~15%). In the last layer the keys and
values still need every position, but the queries, the attention output projection with its LayerNorm and the
feed-forward block act row by row: they only need the labelled rows. The last layer's instance ``forward`` is
replaced for the duration of one masked-only forward pass by one that calls the layer's own submodules (so PEFT
LoRA/IA³ wrappers and bottleneck adapters on them still apply) and the model's own attention function with the
labelled rows of the attention mask (2D padding masks and the 4D block-diagonal masks of packed batches alike).
The labelled rows come out equal to the full layer's, up to float rounding.

Each batch row's labelled positions become that row's queries, padded to the largest count in the batch with the
row's other positions, whose results are dropped. Layers of another shape, other attention implementations (flash,
flex), output hooks on the attention modules or requests for all hidden states or attentions keep the full layer.
The replaced ``forward`` bypasses the class-level gradient checkpointing wrapper: under gradient checkpointing the
last layer is not recomputed in the backward pass (its activations are those of the labelled rows, plus K and V).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

SUPPORTED_ATTENTION = ("eager", "sdpa")


def _eager_attention(self_attention) -> object | None:
    """The ``eager_attention_forward`` of the module that defines ``self_attention``'s class."""
    return getattr(inspect.getmodule(type(self_attention)), "eager_attention_forward", None)


def _last_layer(encoder_model):
    layers = getattr(getattr(encoder_model, "encoder", None), "layer", None)
    return layers[-1] if isinstance(layers, torch.nn.ModuleList) and len(layers) else None


def last_layer_supported(encoder_model) -> bool:
    """Whether ``encoder_model``'s last layer has the BERT/XLM-R shape this module knows how to run on rows."""
    config = getattr(encoder_model, "config", None)
    layer = _last_layer(encoder_model)
    if config is None or layer is None or getattr(encoder_model, "pooler", None) is not None:
        return False
    if config._attn_implementation not in SUPPORTED_ATTENTION or config.is_decoder or config.add_cross_attention:
        return False
    if config.output_hidden_states or config.output_attentions:
        return False
    attention = getattr(layer, "attention", None)
    self_attention = getattr(attention, "self", None)
    needed = [(layer, "intermediate"), (layer, "output"), (attention, "output")]
    needed += [
        (self_attention, name) for name in ("query", "key", "value", "attention_head_size", "scaling", "dropout")
    ]
    if any(not hasattr(owner, name) for owner, name in needed):
        return False
    if config._attn_implementation == "eager" and _eager_attention(self_attention) is None:
        return False
    # Our forward skips calling `attention` and `attention.self` as modules: their hooks or patched forwards would
    # not run, so keep the full layer then. (Hooks on `layer` itself still run.)
    for module in (layer, attention, self_attention):
        if "forward" in vars(module):
            return False
    for module in (attention, self_attention):
        if module._forward_hooks or module._forward_pre_hooks:
            return False
    return True


def _query_rows_of_mask(mask, order: torch.Tensor):
    """The rows of a [batch | 1, heads | 1, queries, keys] mask at the query positions ``order`` [batch, slots]."""
    if mask is None or mask.shape[-2] == 1:  # no mask, or one row shared by every query
        return mask
    batch, slots = order.shape
    mask = mask.expand(batch, -1, -1, -1)
    index = order[:, None, :, None].expand(-1, mask.shape[1], -1, mask.shape[-1])
    return mask.gather(2, index)


def _forward_on_rows(layer, selected: torch.Tensor, hidden_states, attention_mask=None, *args, **kwargs):
    """The last layer's output at the ``selected`` positions only: [selected positions, hidden], in the order of
    ``hidden_states[selected]``."""
    if attention_mask is not None and not (torch.is_tensor(attention_mask) and attention_mask.dim() == 4):
        # A mask format we do not know how to take rows of (e.g. a flex BlockMask): the full layer, then the rows.
        return type(layer).forward(layer, hidden_states, attention_mask, *args, **kwargs)[selected]
    attention = layer.attention.self
    batch, length, hidden = hidden_states.shape
    counts = selected.sum(dim=1)
    slots = int(counts.max())
    # Per batch row: its selected positions first, in order (stable sort), then its other positions as filler.
    order = torch.sort(selected.to(torch.int8), dim=1, descending=True, stable=True).indices[:, :slots]
    filled = torch.arange(slots, device=selected.device)[None, :] < counts[:, None]
    query_input = hidden_states.gather(1, order[..., None].expand(-1, -1, hidden))

    head_dim = attention.attention_head_size
    query = attention.query(query_input).view(batch, slots, -1, head_dim).transpose(1, 2)
    key = attention.key(hidden_states).view(batch, length, -1, head_dim).transpose(1, 2)
    value = attention.value(hidden_states).view(batch, length, -1, head_dim).transpose(1, 2)
    attention_function = ALL_ATTENTION_FUNCTIONS.get_interface(
        attention.config._attn_implementation, _eager_attention(attention)
    )
    context, _ = attention_function(
        attention,
        query,
        key,
        value,
        _query_rows_of_mask(attention_mask, order),
        dropout=attention.dropout.p if attention.training else 0.0,
        scaling=attention.scaling,
    )
    context = context.reshape(batch, slots, -1)[filled]  # row-major, like hidden_states[selected]
    attention_output = layer.attention.output(context, hidden_states[selected])
    return layer.output(layer.intermediate(attention_output), attention_output)


@contextmanager
def last_layer_on_rows(encoder_model, selected: torch.Tensor) -> Iterator[bool]:
    """Within the block, the last layer returns only the rows at the ``selected`` [batch, length] positions, as
    [selected positions, hidden] (so does the encoder's ``last_hidden_state``). Yields whether it does: False
    (nothing replaced) for an unsupported layer or an empty selection."""
    if not last_layer_supported(encoder_model) or not bool(selected.any()):
        yield False
        return
    layer = _last_layer(encoder_model)
    layer.forward = functools.partial(_forward_on_rows, layer, selected)
    try:
        yield True
    finally:
        del layer.forward
