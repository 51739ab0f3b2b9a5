"""Analytic training FLOPs of LAPT, so runs with different vocabularies compare as in [ES] Figure 4.

Per micro-batch of B sequences padded to length L (every padded position is computed), with hidden size d,
FFN size f, h layers, vocabulary V and P positions projected onto the vocabulary:

* body forward  F_body = B·L·h·(8d² + 4df + 4Ld)   (QKV/output projections 4·2d², FFN 2·2df, scores+values 2·2Ld);
  with the masked-only head the last layer runs its queries on S slots and its output projection and FFN on the
  R labelled rows: F_body = B·L·(h−1)·(8d² + 4df + 4Ld) + B·L·4d² + S·(2d² + 4Ld) + R·(2d² + 4df)
* head forward  F_head = P·(2d² + 2dV)              (transform dense + decoder; P = #masked in our path, B·L stock)
* training = forward + backward. Backward costs 2× forward for a trained matmul (input and weight gradients),
  1× for a frozen one that gradients still flow through (input gradients only):
  body ×3 when it trains, ×2 when frozen (embeddings below it still train), ×2 + adapter share for adapters
  (LoRA/IA³ and bottleneck adapters: their matmuls, ×3, per position: `adapter_per_token`/`adapter_per_projected`,
  from `peft_adapter_forward_flops` or `langadapt.adapters.config.adapter_forward_flops`);
  head: its transform (2d² per position) and the output projection (2dV) each ×3 when they train, ×2 when frozen
  (full/emb train both; adapter modes freeze both, or train the transform alone with --train_head, or both with
  --train_embeddings, the projection being tied to the input embeddings).
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
    # Adapters (LoRA/IA³, bottlenecks): forward FLOPs per position (always trained: ×3) in the body and head.
    adapter_per_token: float = 0.0
    adapter_per_projected: float = 0.0
    body: float = 0.0
    head: float = 0.0
    optimizer: float = 0.0
    tokens: int = 0
    projected_positions: int = 0

    @classmethod
    def from_config(cls, config, adapter_per_token: float = 0.0, adapter_per_projected: float = 0.0) -> FlopCounter:
        return cls(config.hidden_size, config.intermediate_size, config.num_hidden_layers, config.vocab_size,
                   adapter_per_token, adapter_per_projected)  # fmt: skip

    def body_forward(self, batch: int, length: int, last_layer_rows_and_slots: tuple[int, int] | None = None) -> float:
        """With ``last_layer_rows_and_slots`` = (R, S) (`masked_head.last_layer_work`), the last layer computes K and
        V on every position, Q and the attention on S query slots, the output projection and FFN on R rows only."""
        d, f = self.hidden_size, self.intermediate_size
        positions = batch * length
        full_layer = 8 * d * d + 4 * d * f + 4 * length * d
        if last_layer_rows_and_slots is None:
            return positions * self.num_layers * full_layer
        rows, slots = last_layer_rows_and_slots
        last_layer = positions * 4 * d * d + slots * (2 * d * d + 4 * length * d) + rows * (2 * d * d + 4 * d * f)
        return positions * (self.num_layers - 1) * full_layer + last_layer

    def head_forward(self, positions: int) -> float:
        d = self.hidden_size
        return positions * (2 * d * d + 2 * d * self.vocab_size)

    def add_batch(
        self,
        batch: int,
        length: int,
        projected: int,
        body_trains: bool,
        head_trains: bool = True,
        output_projection_trains: bool | None = None,
        last_layer_rows_and_slots: tuple[int, int] | None = None,
    ) -> None:
        """``head_trains``: the head's transform; ``output_projection_trains`` (default: as ``head_trains``);
        ``last_layer_rows_and_slots``: see `body_forward`."""
        projection_trains = head_trains if output_projection_trains is None else output_projection_trains
        d = self.hidden_size
        self.body += self.body_forward(batch, length, last_layer_rows_and_slots) * (3 if body_trains else 2)
        self.body += 3 * batch * length * self.adapter_per_token
        self.head += projected * 2 * d * d * (3 if head_trains else 2)
        self.head += projected * 2 * d * self.vocab_size * (3 if projection_trains else 2)
        self.head += 3 * projected * self.adapter_per_projected
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


def peft_adapter_forward_flops(mlm, head_prefixes: tuple[str, ...]) -> dict[str, float]:
    """Forward FLOPs per position of the PEFT adapters placed in ``mlm`` (a *ForMaskedLM inside a PeftModel):
    LoRA adds x·A then ·B to each target (2·in·r + 2·r·out), IA³ one multiplication per scaled feature. Adapters
    in the body run on every position (``per_token``), adapters in the MLM head (names starting with one of
    ``head_prefixes``) on the projected ones (``per_projected``). They always train, so `FlopCounter` counts them
    ×3 (forward + input and weight gradients)."""
    flops = {"per_token": 0.0, "per_projected": 0.0}
    for name, module in mlm.named_modules():
        where = "per_projected" if name.startswith(head_prefixes) else "per_token"
        if ".lora_A." in f"{name}." or ".lora_B." in f"{name}.":
            if hasattr(module, "in_features") and hasattr(module, "out_features"):  # the LoRA factors' Linear
                flops[where] += 2 * module.in_features * module.out_features
        for scale in getattr(module, "ia3_l", {}).values():
            flops[where] += scale.numel()
    return flops
