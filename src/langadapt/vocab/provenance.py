"""``langadapt_provenance.json``: for every new token id, which method set its row, plus a summary.

Top-level keys ``source_model``, ``source_hub_id``, ``target_tokenizer``, ``init_spec``, ``vocab_size`` and
``seed`` are read by the LAPT model card. ``source_hub_id`` is the Hub id the source model is (or descends from,
`langadapt.models.known_hub_id`), None when unknown: cards name that, never ``source_model``'s local path. ``summary`` holds counts per method and per script, the overlap rate and norm
statistics of the new rows (per method) next to the source rows'.
"""

from __future__ import annotations

from typing import Any

import torch

from .methods import InitContext
from .plan import InitPlan


def _norm_stats(norms: torch.Tensor) -> dict[str, float]:
    if len(norms) == 0:
        return {"count": 0}
    return {
        "count": len(norms),
        "mean": round(norms.mean().item(), 6),
        "std": round(norms.std().item(), 6) if len(norms) > 1 else 0.0,
        "min": round(norms.min().item(), 6),
        "max": round(norms.max().item(), 6),
    }


def build_provenance(
    context: InitContext,
    plan: InitPlan,
    source_embeddings: torch.Tensor,
    target_embeddings: torch.Tensor,
    *,
    source_model: str,
    target_tokenizer: str,
    init_spec: str,
    source_had_mlm_head: bool,
    options: dict[str, Any],
    source_hub_id: str | None = None,
) -> dict[str, Any]:
    """The provenance record (JSON-ready)."""
    scripts, positions = context.target_categories
    per_method: dict[str, int] = plan.counts()
    per_script: dict[str, int] = {}
    per_script_method: dict[str, dict[str, int]] = {}
    for script, method in zip(scripts, plan.methods):
        per_script[script] = per_script.get(script, 0) + 1
        per_script_method.setdefault(script, {})
        per_script_method[script][method] = per_script_method[script].get(method, 0) + 1
    regular = [i for i in range(plan.vocab_size) if i not in context.target_special_ids]
    identical = sum(context.target_tokens[i] in context.source_vocab for i in regular)
    source_norms = torch.linalg.vector_norm(source_embeddings.float(), dim=1)  # no copy of the 250k rows
    target_norms = torch.linalg.vector_norm(target_embeddings.float(), dim=1)
    norms = {"source": _norm_stats(source_norms[context.source_regular_ids])}
    for method in per_method:
        ids = torch.tensor([i for i, m in enumerate(plan.methods) if m == method], dtype=torch.long)
        norms[method] = _norm_stats(target_norms[ids])
    summary = {
        "counts_per_method": per_method,
        "counts_per_script": dict(sorted(per_script.items(), key=lambda item: -item[1])),
        "counts_per_script_and_method": per_script_method,
        "overlap_rate": round(identical / max(len(regular), 1), 6),
        "overlap_count": identical,
        "norms": norms,
    }
    if hasattr(context, "focus_overlap_count"):
        summary["focus_overlap_count"] = context.focus_overlap_count
    tokens = [
        {
            "id": i,
            "token": token,
            "method": plan.methods[i],
            "script": scripts[i],
            "position": positions[i],
            **plan.details[i],
        }
        for i, token in enumerate(context.target_tokens)
    ]
    return {
        "source_model": source_model,
        "source_hub_id": source_hub_id,
        "target_tokenizer": target_tokenizer,
        "init_spec": init_spec,
        "vocab_size": plan.vocab_size,
        "seed": options.get("seed"),
        "source_vocab_size": plan.source_vocab_size,
        "source_had_mlm_head": source_had_mlm_head,
        "methods_in_precedence_order": list(dict.fromkeys(["special", *context.spec_names, "random"])),
        "options": options,
        "summary": summary,
        "tokens": tokens,
    }
