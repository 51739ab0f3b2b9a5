"""Special tokens are mapped by role (sequence start, sequence end, pad, unk, mask), before any other method.

XLM-R calls the sequence start ``<s>`` (bos and cls) and BERT ``[CLS]`` (cls only), so each role accepts
either name. Every role the source tokenizer has must exist in the target tokenizer: a model adapted
without a mask or pad token could not be trained.
"""

from __future__ import annotations

import logging

import torch

from .methods import InitContext
from .plan import InitPlan, RandomGroup

logger = logging.getLogger(__name__)

# role → tokenizer attributes that fill it, in order of preference
ROLES: dict[str, tuple[str, ...]] = {
    "sequence_start": ("cls_token", "bos_token"),
    "sequence_end": ("sep_token", "eos_token"),
    "pad": ("pad_token",),
    "unk": ("unk_token",),
    "mask": ("mask_token",),
}


class MissingSpecialTokenError(ValueError):
    """The target tokenizer lacks a special-token role the source model has."""


def _role_ids(tokenizer) -> dict[str, dict[str, int]]:
    """role → {attribute: id} for the attributes a tokenizer sets."""
    result: dict[str, dict[str, int]] = {}
    for role, attributes in ROLES.items():
        for attribute in attributes:
            token = getattr(tokenizer, attribute, None)
            if token is not None:
                token_id = tokenizer.convert_tokens_to_ids(str(token))
                if token_id is not None and token_id != tokenizer.unk_token_id or attribute == "unk_token":
                    result.setdefault(role, {})[attribute] = token_id
    return result


def special_token_map(source_tokenizer, target_tokenizer, target_name: str = "target tokenizer") -> dict[int, dict]:
    """target id → {"source_id", "role"} for every special role; raises when the target lacks a source role."""
    source_roles, target_roles = _role_ids(source_tokenizer), _role_ids(target_tokenizer)
    missing = [role for role in source_roles if role not in target_roles]
    if missing:
        needed = ", ".join(f"{r} ({'/'.join(ROLES[r])})" for r in missing)
        raise MissingSpecialTokenError(f"{target_name} has no token for role(s) the source model needs: {needed}")
    mapping: dict[int, dict] = {}
    for role, attributes in target_roles.items():
        source_ids = source_roles.get(role)
        for attribute, target_id in attributes.items():
            if target_id in mapping:
                mapping[target_id]["attributes"].append(attribute)
                continue
            if source_ids is None:
                mapping[target_id] = {"source_id": None, "role": role, "attributes": [attribute]}
                continue
            # prefer the source token with the same attribute name, else the role's other name
            source_id = source_ids.get(attribute, next(iter(source_ids.values())))
            mapping[target_id] = {"source_id": source_id, "role": role, "attributes": [attribute]}
    return mapping


def assign_special_tokens(context: InitContext, plan: InitPlan) -> None:
    """Copy each target special token's row from the source token of the same role."""
    mapping = special_token_map(context.source_tokenizer, context.target_tokenizer)
    copies = {t: m for t, m in mapping.items() if m["source_id"] is not None}
    if copies:
        new_ids = torch.tensor(sorted(copies))
        source_ids = torch.tensor([copies[t]["source_id"] for t in sorted(copies)])
        details = {t: {"source_id": m["source_id"], "role": m["role"]} for t, m in copies.items()}
        plan.add_combinations(new_ids, source_ids, torch.ones(len(new_ids)), "special", details)
    fresh = sorted(t for t, m in mapping.items() if m["source_id"] is None)
    if fresh:
        # A role the source never had: a small random row (never a script-group draw, the [ES] bug).
        logger.warning("target special tokens %s have no source counterpart; initialised randomly", fresh)
        group = RandomGroup(f"normal(0,{context.initializer_range})", None, 0.0, context.initializer_range)
        plan.add_samples(torch.tensor(fresh), [group] * len(fresh), "special_random")
