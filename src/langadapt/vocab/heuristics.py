"""The heuristic init methods of [ES]: IDENT, SCRIPT, SCRIPT+POSN and RANDOM.

SCRIPT draws a new token's row from N(mean, std) of the source rows of its script (per dimension, special
tokens excluded); SCRIPT+POSN uses the (script, word position) group, falling back to the script, then to
all source rows, whenever a group has fewer than ``min_group_size`` rows.
"""

from __future__ import annotations

from collections import defaultdict

import torch

from .methods import InitContext, register_method
from .plan import InitPlan, RandomGroup


@register_method("ident", 10, "copy the source row of the token with exactly the same string (with its marker)")
def init_identical(context: InitContext, plan: InitPlan) -> None:
    vocab = context.source_vocab
    pairs = [
        (new_id, vocab[token])
        for new_id, token in enumerate(context.target_tokens)
        if plan.is_free(new_id) and token in vocab and vocab[token] not in context.source_special_ids
    ]
    if pairs:
        new_ids, source_ids = (torch.tensor(column) for column in zip(*pairs))
        plan.add_copies(new_ids, source_ids, "ident")


def _source_groups(context: InitContext, with_position: bool) -> dict[tuple[str, ...], RandomGroup]:
    """Distributions of the source rows per script (or per script and position), big enough ones only."""
    scripts, positions = context.source_categories
    members: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for source_id in context.source_regular_ids.tolist():
        key = (scripts[source_id], positions[source_id]) if with_position else (scripts[source_id],)
        members[key].append(source_id)
    label = "script+posn" if with_position else "script"
    return {
        key: RandomGroup(f"{label}:{'/'.join(key)}", torch.tensor(ids))
        for key, ids in members.items()
        if len(ids) >= context.options.min_group_size
    }


def _global_group(context: InitContext) -> RandomGroup:
    return RandomGroup("source", context.source_regular_ids)


def _init_by_group(context: InitContext, plan: InitPlan, with_position: bool) -> None:
    fine = _source_groups(context, with_position=True) if with_position else {}
    coarse = _source_groups(context, with_position=False)
    everything = _global_group(context)
    scripts, positions = context.target_categories
    new_ids, groups = [], []
    for new_id in plan.free_ids().tolist():
        script, position = scripts[new_id], positions[new_id]
        groups.append(fine.get((script, position)) or coarse.get((script,)) or everything)
        new_ids.append(new_id)
    if new_ids:
        plan.add_samples(torch.tensor(new_ids), groups, "script+posn" if with_position else "script")


@register_method("script+posn", 40, "sample from the source rows of the same script and word position")
def init_script_position(context: InitContext, plan: InitPlan) -> None:
    _init_by_group(context, plan, with_position=True)


@register_method("script", 41, "sample from the source rows of the same Unicode script")
def init_script(context: InitContext, plan: InitPlan) -> None:
    _init_by_group(context, plan, with_position=False)


def random_group(context: InitContext) -> RandomGroup:
    """The RANDOM distribution chosen by ``options.random_distribution``."""
    choice = context.options.random_distribution
    if choice == "auto":
        choice = "source" if "focus" in context.spec_names else "initializer_range"
    if choice == "source":
        return _global_group(context)
    std = 1.0 if choice == "unit" else context.initializer_range
    return RandomGroup(f"normal(0,{std})", None, 0.0, std)


@register_method("random", 100, "sample every remaining row (distribution: --random_distribution)")
def init_random(context: InitContext, plan: InitPlan) -> None:
    free = plan.free_ids()
    if len(free):
        plan.add_samples(free, [random_group(context)] * len(free), "random")
