"""The init-method registry, the shared context the methods read, and the init spec (``script+posn+ident``).

A method is a function ``(context, plan) -> None`` that claims still-free new token ids in the plan. The
registry stores `InitMethod` records with a precedence; `build_plan` runs special tokens first, then the
spec's methods by precedence, then RANDOM for whatever is left, so a spec's order never matters. An outside
``module:callable`` function ranks at `OUTSIDE_METHOD_PRECEDENCE` (after ident, focus and mean, before
script+posn, script and random); a ``module:attribute`` naming an `InitMethod` keeps its own precedence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import torch

from ..registry import Registry
from .args import InitOptions
from .categories import categorize, detect_convention
from .plan import InitPlan

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InitMethod:
    """A named init method; lower ``precedence`` runs first and wins."""

    name: str
    precedence: int
    apply: Callable[[InitContext, InitPlan], None]
    description: str = ""


INIT_METHODS: Registry[InitMethod] = Registry("init method")

# A plain 'module:callable' in the spec runs after the methods that copy or combine source rows (ident 10,
# focus 20, mean 30) and before the sampling ones (script+posn 40, script 41, random 100): those claim every
# row still free, so an outside method ranked after them would never set a row.
OUTSIDE_METHOD_PRECEDENCE = 35


def register_method(name: str, precedence: int, description: str = ""):
    """Decorator: register ``fn(context, plan)`` as init method ``name``."""

    def decorator(fn: Callable[[InitContext, InitPlan], None]):
        INIT_METHODS.register(name)(InitMethod(name, precedence, fn, description))
        return fn

    return decorator


def _tokens_by_id(tokenizer: Any, size: int | None = None) -> list[str]:
    """Token strings by id; ids past the tokenizer (padding rows of a larger embedding matrix) are ''."""
    vocab = tokenizer.get_vocab()
    tokens = [""] * max(size or 0, len(tokenizer))
    for token, index in vocab.items():
        if index < len(tokens):
            tokens[index] = token
    return tokens


def _model_type(tokenizer: Any) -> str | None:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    return type(backend.model).__name__ if backend is not None else None


@dataclass
class InitContext:
    """Everything an init method may read: both vocabularies, their categories, tokenizers, options."""

    source_tokenizer: Any
    target_tokenizer: Any
    options: InitOptions
    initializer_range: float = 0.02
    source_rows: int | None = None  # rows of the source embedding matrix (may exceed the tokenizer, e.g. e5)
    source_special_ids: set[int] = field(default_factory=set)
    target_special_ids: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.source_rows is not None and self.source_rows < len(self.source_tokenizer):
            raise ValueError(
                f"the source embeddings have {self.source_rows} rows but the source tokenizer has "
                f"{len(self.source_tokenizer)} tokens; pass the tokenizer that belongs to the source model"
            )
        self.source_tokens = _tokens_by_id(self.source_tokenizer, self.source_rows)
        self.target_tokens = _tokens_by_id(self.target_tokenizer)
        # special tokens and unused padding rows never enter group statistics or matches
        unused = set(range(len(self.source_tokenizer), len(self.source_tokens)))
        self.source_special_ids = (self.source_special_ids or set(self.source_tokenizer.all_special_ids)) | unused
        self.target_special_ids = self.target_special_ids or set(self.target_tokenizer.all_special_ids)
        self.source_convention = detect_convention(self.source_tokens, _model_type(self.source_tokenizer))
        self.target_convention = detect_convention(self.target_tokens, _model_type(self.target_tokenizer))
        self.generator = torch.Generator().manual_seed(self.options.seed)
        self.spec_names: list[str] = []

    @cached_property
    def source_categories(self) -> tuple[list[str], list[str]]:
        """(scripts, positions) of the source vocabulary."""
        return categorize(self.source_tokens, self.source_convention)

    @cached_property
    def target_categories(self) -> tuple[list[str], list[str]]:
        """(scripts, positions) of the target vocabulary."""
        return categorize(self.target_tokens, self.target_convention)

    @cached_property
    def source_vocab(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.source_tokens)}

    @cached_property
    def source_regular_ids(self) -> torch.Tensor:
        """Source ids that are not special tokens (the rows group statistics are computed on)."""
        return torch.tensor([i for i in range(len(self.source_tokens)) if i not in self.source_special_ids])


def parse_init_spec(spec: str) -> list[InitMethod]:
    """``'script+posn+ident'`` → methods, matching the longest registered name first; unknown parts list the valid."""
    parts = [p.strip() for p in spec.split("+") if p.strip()]
    if not parts:
        raise KeyError(f"empty init spec {spec!r}; valid methods: {', '.join(INIT_METHODS.names())}")
    methods: list[InitMethod] = []
    position = 0
    while position < len(parts):
        for stop in range(len(parts), position, -1):
            name = "+".join(parts[position:stop])
            if name in INIT_METHODS:
                break
        else:
            name, stop = parts[position], position + 1
        found = INIT_METHODS.get(name)  # raises KeyError listing the valid names; accepts module:callable
        if not isinstance(found, InitMethod):
            found = InitMethod(name, OUTSIDE_METHOD_PRECEDENCE, found)  # an `InitMethod` keeps its own precedence
        methods.append(found)
        position = stop
    return sorted({m.name: m for m in methods}.values(), key=lambda m: m.precedence)


def build_plan(context: InitContext, spec: str) -> InitPlan:
    """Special tokens by role, then the spec's methods by precedence, then RANDOM for every id left."""
    from .special import assign_special_tokens  # local import: special depends on this module's context

    methods = parse_init_spec(spec)
    context.spec_names = [m.name for m in methods]
    plan = InitPlan(len(context.target_tokens), len(context.source_tokens))
    assign_special_tokens(context, plan)
    for method in methods:
        before = sum(m is None for m in plan.methods)
        method.apply(context, plan)
        after = sum(m is None for m in plan.methods)
        logger.info("init method %s set %d of %d new rows", method.name, before - after, plan.vocab_size)
    if "random" not in context.spec_names:
        INIT_METHODS.get("random").apply(context, plan)
    return plan
