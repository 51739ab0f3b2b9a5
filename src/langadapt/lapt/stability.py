"""Non-finite losses: skip the update, log it, lower max_grad_norm ([ES]'s remedy), stop if it keeps happening."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import torch

logger = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """Raised when the loss was non-finite for too many optimizer steps in a row."""


def zero_loss_like(model: torch.nn.Module, loss: torch.Tensor) -> torch.Tensor:
    """A zero loss connected to every trainable parameter (so DDP still sees a backward) with zero gradients."""
    total = loss.new_zeros(())
    for param in model.parameters():
        if param.requires_grad:
            total = total + (param * 0.0).sum()
    return total


@dataclass
class NonFiniteGuard:
    """Shared by `LaptTrainer` (detects) and `StabilityCallback` (drops the step's gradients before the update)."""

    max_in_a_row: int = 5
    lowered_max_grad_norm: float = 0.5
    pending: bool = False
    in_a_row: int = 0
    events: list[dict] = field(default_factory=list)

    def flag(self) -> None:
        self.pending = True

    def before_optimizer_step(self, model: torch.nn.Module, args, step: int) -> None:
        """Called right before ``optimizer.step()``: a flagged step loses its gradients, so AdamW skips it."""
        if not self.pending:
            self.in_a_row = 0
            return
        self.pending = False
        model.zero_grad(set_to_none=True)  # grad None: no update, no weight decay, no moment change
        self.in_a_row += 1
        old = args.max_grad_norm
        if not 0 < old <= self.lowered_max_grad_norm:
            args.max_grad_norm = self.lowered_max_grad_norm
        self.events.append({"step": step, "max_grad_norm_before": old, "max_grad_norm_after": args.max_grad_norm})
        logger.warning(
            "non-finite loss at optimizer step %d: update skipped; max_grad_norm %s -> %s (%d in a row)",
            step,
            old,
            args.max_grad_norm,
            self.in_a_row,
        )
        if self.in_a_row >= self.max_in_a_row:
            raise NonFiniteLossError(
                f"the loss was non-finite for {self.in_a_row} optimizer steps in a row (last at step {step}); "
                "lower the learning rate or max_grad_norm, or check the data and the initialized embeddings "
                f"(limit: --max_nonfinite_in_a_row {self.max_in_a_row})"
            )
