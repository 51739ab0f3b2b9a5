"""One dense gradient for a tied input-embedding / output-decoder weight, with no zero matrix.

With tied weights autograd builds the embedding's gradient as a dense [V, d] matrix of zeros with the looked-up
rows added (``embedding_dense_backward``) and then sums it with the decoder's dense [V, d] gradient, out of place.
At a 250k vocabulary that is a 768 MB zero fill and a 3 × 768 MB sum per micro-batch, about a fifth of a
masked-only training step on CPU (most of it page faults on the fresh allocations), for a matrix of which only the
~1,000 looked-up rows differ from the decoder's gradient.

Within `tied_gradient_in_place`, the input embedding looks its rows up through `_TiedLookup`, which also hands the
decoder an alias of the same weight. Its backward receives the decoder's gradient (a fresh dense matrix that nothing
else holds) and adds the looked-up rows' gradients into it in place; the weight gets that one dense gradient. The
sum is the same up to float rounding (rows added onto the decoder's gradient rather than the other way round). Only
for a plain ``nn.Embedding`` / ``nn.Linear`` pair sharing one leaf parameter that trains; untied, frozen, PEFT-wrapped,
sharded (FSDP, DeepSpeed ZeRO-3) or otherwise patched weights keep autograd's own path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn


class _TiedLookup(torch.autograd.Function):
    """(embedding rows of ``input_ids``, an alias of ``weight`` for the decoder); one gradient for the weight."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, input_ids: torch.Tensor, padding_idx: int | None):
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(input_ids)
        ctx.padding_idx = padding_idx
        ctx.weight_shape, ctx.weight_dtype = weight.shape, weight.dtype
        return F.embedding(input_ids, weight, padding_idx), weight.view_as(weight)

    @staticmethod
    def backward(ctx, grad_rows: torch.Tensor | None, grad_weight: torch.Tensor | None):
        (input_ids,) = ctx.saved_tensors
        if grad_rows is None and grad_weight is None:
            return None, None, None
        if grad_weight is None:  # the decoder did not take part: start from zeros, as autograd would
            grad_weight = torch.zeros(ctx.weight_shape, dtype=ctx.weight_dtype, device=input_ids.device)
        elif not grad_weight.is_contiguous():
            grad_weight = grad_weight.contiguous()
        if grad_rows is not None:
            ids = input_ids.reshape(-1)
            rows = grad_rows.reshape(-1, grad_rows.shape[-1])
            if ctx.padding_idx is not None:  # nn.Embedding never updates its padding row
                keep = ids != ctx.padding_idx
                ids, rows = ids[keep], rows[keep]
            # index_put_ with accumulate: summed serially on CPU, deterministic on CUDA (unlike index_add_).
            grad_weight.index_put_((ids,), rows.to(grad_weight.dtype), accumulate=True)
        return grad_weight, None, None


def _applies(embedding, decoder) -> bool:
    if not torch.is_grad_enabled() or type(embedding) is not nn.Embedding or type(decoder) is not nn.Linear:
        return False
    weight = embedding.weight
    tied_leaf = decoder.weight is weight and type(weight) is nn.Parameter and weight.is_leaf
    plain_lookup = embedding.max_norm is None and not embedding.scale_grad_by_freq and not embedding.sparse
    patched = "forward" in vars(embedding) or "forward" in vars(decoder)
    return tied_leaf and weight.requires_grad and plain_lookup and not patched and not hasattr(weight, "ds_id")


@contextmanager
def tied_gradient_in_place(model) -> Iterator[bool]:
    """Within the block, ``model``'s tied input embedding and decoder share one in-place gradient sum. Yields
    whether they do (False: nothing replaced)."""
    embedding = model.get_input_embeddings()
    decoder = model.get_output_embeddings()
    if not _applies(embedding, decoder):
        yield False
        return
    aliases: list[torch.Tensor] = []

    def lookup(input_ids: torch.Tensor) -> torch.Tensor:
        rows, alias = _TiedLookup.apply(embedding.weight, input_ids, embedding.padding_idx)
        aliases.append(alias)
        return rows

    def project(hidden: torch.Tensor) -> torch.Tensor:
        # One lookup, one projection: the alias routes the decoder's gradient into the lookup's backward. Anything
        # else (no lookup in this pass, a second projection) uses the weight itself, which stays correct.
        weight = aliases.pop() if len(aliases) == 1 else decoder.weight
        return F.linear(hidden, weight, decoder.bias)

    embedding.forward = lookup
    decoder.forward = project
    try:
        yield True
    finally:
        del embedding.forward
        del decoder.forward
