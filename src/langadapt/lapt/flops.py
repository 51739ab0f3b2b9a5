"""Analytic training FLOPs of LAPT, so runs with different vocabularies compare as in [ES] Figure 4.

Per micro-batch of B sequences padded to length L (every padded position is computed), with hidden size d,
FFN size f, h layers, vocabulary V and P positions projected onto the vocabulary:

* body forward  F_body = B·L·h·(8d² + 4df + 4Ld)   (QKV/output projections 4·2d², FFN 2·2df, scores+values 2·2Ld)
* head forward  F_head = P·(2d² + 2dV)              (transform dense + decoder; P = #masked in our path, B·L stock)
* training = forward + backward. Backward costs 2× forward for a trained matmul (input and weight gradients),
  1× for a frozen one that gradients still flow through (input gradients only):
  body ×3 when it trains, ×2 when frozen (embeddings below it still train), ×2 + adapter share for adapters;
  head ×3 (it always trains in full/emb; ×2 when frozen under an adapter without embedding training).
* optimizer: AdamW ≈ 12 FLOPs per trainable parameter per step.

Embedding lookups, LayerNorms, GELU and softmax are left out (a few % of the total for base-sized models).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

ADAMW_FLOPS_PER_PARAM = 12


@dataclass
class FlopCounter:
    """Accumulates the FLOPs of each part of a training run."""

    hidden_size: int
    intermediate_size: int
    num_layers: int
    vocab_size: int
    body: float = 0.0
    head: float = 0.0
    optimizer: float = 0.0
    tokens: int = 0
    projected_positions: int = 0

    @classmethod
    def from_config(cls, config) -> FlopCounter:
        return cls(config.hidden_size, config.intermediate_size, config.num_hidden_layers, config.vocab_size)

    def body_forward(self, batch: int, length: int) -> float:
        d, f = self.hidden_size, self.intermediate_size
        return batch * length * self.num_layers * (8 * d * d + 4 * d * f + 4 * length * d)

    def head_forward(self, positions: int) -> float:
        d = self.hidden_size
        return positions * (2 * d * d + 2 * d * self.vocab_size)

    def add_batch(self, batch: int, length: int, projected: int, body_trains: bool, head_trains: bool = True) -> None:
        self.body += self.body_forward(batch, length) * (3 if body_trains else 2)
        self.head += self.head_forward(projected) * (3 if head_trains else 2)
        self.tokens += batch * length
        self.projected_positions += projected

    def add_optimizer_step(self, trainable_parameters: int) -> None:
        self.optimizer += ADAMW_FLOPS_PER_PARAM * trainable_parameters

    @property
    def total(self) -> float:
        return self.body + self.head + self.optimizer

    def as_dict(self) -> dict[str, float]:
        out = asdict(self)
        out["total"] = self.total
        return out
