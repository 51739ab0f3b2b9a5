"""The NICE invertible adapter ([KG]'s ``seq_bn_inv``; Pfeiffer et al. 2020, MAD-X).

It maps the embedding output ``x = [x1, x2]`` (split in two halves) by an additive coupling::

    y1 = x1 + F(x2)          inverse:   x2 = y2 - G(y1)
    y2 = x2 + G(y1)                     x1 = y1 - F(x2)

with ``F``, ``G`` small MLPs ``Linear(n, n/r) → act → Linear(n/r, m)``. The inverse runs just before the MLM
output projection, so a language adapter can reshape the input space while the output projection (tied to the
input embeddings) keeps reading the space it was trained on. Parameter names (``F.0``, ``F.2``, ``G.0``,
``G.2``) are the `adapters` library's ``NICECouplingBlock``'s. Unlike that class, this one splits the last
dimension of inputs of any rank, so it also runs on the [positions, hidden] rows the masked-only head selects.
"""

from __future__ import annotations

import torch
from torch import nn

from .bottleneck import Activation, init_bert_weights


def _subnet(inputs: int, outputs: int, non_linearity: str, reduction_factor: float) -> nn.Sequential:
    inner = int(inputs // reduction_factor)
    return nn.Sequential(nn.Linear(inputs, inner), Activation(non_linearity), nn.Linear(inner, outputs))


class NICECouplingBlock(nn.Module):
    """Additive coupling on the last dimension; ``forward(x, rev=True)`` is the exact inverse."""

    def __init__(self, hidden_size: int, non_linearity: str = "relu", reduction_factor: float = 2,
                 zero_init_output: bool = False):  # fmt: skip
        super().__init__()
        self.split_len1 = hidden_size // 2
        self.split_len2 = hidden_size - hidden_size // 2
        self.F = _subnet(self.split_len2, self.split_len1, non_linearity, reduction_factor)
        self.G = _subnet(self.split_len1, self.split_len2, non_linearity, reduction_factor)
        self.apply(init_bert_weights)
        if zero_init_output:  # F = G = 0: the identity map, so the model starts exactly as the base model
            for subnet in (self.F, self.G):
                nn.init.zeros_(subnet[2].weight)
                nn.init.zeros_(subnet[2].bias)

    def forward(self, x: torch.Tensor, rev: bool = False) -> torch.Tensor:
        x1, x2 = x[..., : self.split_len1], x[..., self.split_len1 :]
        if not rev:
            y1 = x1 + self.F(x2)
            y2 = x2 + self.G(y1)
        else:
            y2 = x2 - self.G(x1)
            y1 = x1 - self.F(y2)
        return torch.cat((y1, y2), -1)
