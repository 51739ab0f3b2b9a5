"""The bottleneck adapter block and how a stack of them runs inside a BERT-style sub-block output.

A BERT-family layer ends each sub-block with ``LayerNorm(dropout(dense(x)) + input)``. An adapter sits in that
last step. With the Pfeiffer (``seq_bn``) settings, where ``h = dropout(dense(x))`` and ``LN`` is the layer's
own pretrained LayerNorm::

    residual = h                                   # residual_before_ln=True
    z = LN(h + input)                              # original_ln_before
    out = up(relu(down(z))) * scaling + residual
    return LN(out + input)                         # original_ln_after: the same LayerNorm again

This is the `adapters` library's ``Adapter.pre_forward`` / ``forward`` / ``post_forward`` (v1.3.0), with the
same parameter names (``adapter_down.0``, ``adapter_up``, ...) so its checkpoints load unchanged. Several active
adapters stack as in its ``Stack`` composition (MAD-X: language adapter, then task adapter): each takes the
previous one's output as its sub-block output, and only the last applies the closing LayerNorm.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from transformers.activations import get_activation

from .config import BottleneckConfig


class Activation(nn.Module):
    """The `adapters` library's activation lookup: transformers' ACT2FN names, plus 'leakyrelu'."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name.lower()
        self.function = nn.functional.leaky_relu if self.name == "leakyrelu" else get_activation(self.name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function(x)


def init_bert_weights(module: nn.Module) -> None:
    """`adapters`' "bert" init: Linear weights N(0, 0.02), biases zero; LayerNorm weight 1, bias 0."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        module.weight.data.normal_(mean=0.0, std=0.02)
    elif isinstance(module, nn.LayerNorm):
        module.bias.data.zero_()
        module.weight.data.fill_(1.0)
    if isinstance(module, nn.Linear) and module.bias is not None:
        module.bias.data.zero_()


class BottleneckAdapter(nn.Module):
    """One adapter block: ``[LN] → Linear(d, d/r) → act → Linear(d/r, d) → ×scaling → dropout`` + residual."""

    def __init__(self, hidden_size: int, bottleneck_size: int, config: BottleneckConfig):
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        if config.ln_before:
            self.adapter_norm_before = nn.LayerNorm(hidden_size)
            layers.append(self.adapter_norm_before)
        layers.append(nn.Linear(hidden_size, bottleneck_size))
        self.non_linearity = Activation(config.non_linearity)
        layers.append(self.non_linearity)
        self.adapter_down = nn.Sequential(*layers)
        self.adapter_up = nn.Linear(bottleneck_size, hidden_size)
        if config.scaling == "learned":
            self.scaling = nn.Parameter(torch.ones(1))
        elif config.scaling == "channel":
            self.scaling = nn.Parameter(torch.ones(hidden_size))
        else:
            self.scaling = float(config.scaling)
        if config.ln_after:
            self.adapter_norm_after = nn.LayerNorm(hidden_size)
        self.dropout = nn.Dropout(config.dropout)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        config = self.config
        if config.init_weights_seed is not None:
            torch.manual_seed(config.init_weights_seed)
        if config.init_weights == "bert":
            self.adapter_down.apply(init_bert_weights)
            self.adapter_up.apply(init_bert_weights)
        elif config.init_weights == "mam_adapter":
            for layer in self.adapter_down:
                if isinstance(layer, nn.Linear):
                    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5))
                    nn.init.zeros_(layer.bias)
            nn.init.zeros_(self.adapter_up.weight)
            nn.init.zeros_(self.adapter_up.bias)
        else:  # houlsby
            for layer in self.adapter_down:
                if isinstance(layer, nn.Linear):
                    nn.init.trunc_normal_(layer.weight, mean=0, std=1e-2, a=-2e-2, b=2e-2)
                    nn.init.zeros_(layer.bias)
            nn.init.trunc_normal_(self.adapter_up.weight, mean=0, std=1e-2, a=-2e-2, b=2e-2)
            nn.init.zeros_(self.adapter_up.bias)
        if config.zero_init_up_projection:
            nn.init.zeros_(self.adapter_up.weight)
            nn.init.zeros_(self.adapter_up.bias)

    def pre_forward(self, hidden_states, input_tensor, layer_norm):
        """(adapter input, adapter residual) from the sub-block output and the sub-block input."""
        config = self.config
        residual = hidden_states if config.residual_before_ln is True else None
        if config.original_ln_before:
            hidden_states = hidden_states + input_tensor
            if config.residual_before_ln == "post_add":
                residual = hidden_states
            hidden_states = layer_norm(hidden_states)
        if config.residual_before_ln is False:
            residual = hidden_states
        return hidden_states, residual

    def forward(self, hidden_states: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        up = self.adapter_up(self.adapter_down(hidden_states)) * self.scaling
        output = self.dropout(up)
        if self.config.adapter_residual_before_ln:
            output = output + residual
        if self.config.ln_after:
            output = self.adapter_norm_after(output)
        if not self.config.adapter_residual_before_ln:
            output = output + residual
        return output

    def post_forward(self, hidden_states, input_tensor, layer_norm):
        if self.config.original_ln_after:
            hidden_states = layer_norm(hidden_states + input_tensor)
        return hidden_states


def run_adapter_stack(
    adapters: list[BottleneckAdapter], hidden_states: torch.Tensor, input_tensor: torch.Tensor, layer_norm: nn.Module
) -> torch.Tensor:
    """A sub-block's closing step with ``adapters`` applied in order (none: the plain ``LN(h + input)``)."""
    if not adapters:
        return layer_norm(hidden_states + input_tensor)
    for adapter in adapters:
        adapter_input, residual = adapter.pre_forward(hidden_states, input_tensor, layer_norm)
        hidden_states = adapter(adapter_input, residual)
    return adapters[-1].post_forward(hidden_states, input_tensor, layer_norm)
