"""Vocabulary replacement: re-initialise a masked LM's embeddings for a new tokenizer.

Init methods live in the open registry `INIT_METHODS` (``special`` > ``ident`` > ``focus`` > ``mean`` >
``script+posn`` > ``script`` > ``random``); a spec such as ``script+posn+ident`` combines them. What the
methods are and why these defaults: docs/methods.md#embedding-initialisation.
"""

from . import focus as _focus  # noqa: F401  (registers "focus")
from . import heuristics as _heuristics  # noqa: F401  (registers ident, script, script+posn, random)
from . import mean as _mean  # noqa: F401  (registers "mean")
from .args import InitOptions, VocabReplacementArguments
from .categories import categorize, detect_convention, token_position, token_script
from .focus import FastTextMismatchError, canonical_forms, focus_overlap, sparsemax, train_fasttext
from .methods import INIT_METHODS, InitContext, InitMethod, build_plan, parse_init_spec, register_method
from .plan import InitPlan, RandomGroup
from .provenance import PROVENANCE_FILE_NAME, build_provenance
from .replace import replace_vocabulary, save_replaced_model
from .special import MissingSpecialTokenError, special_token_map
from .surgery import SourceModelError, build_target_model, load_source_model, with_mlm_head

__all__ = [
    "INIT_METHODS",
    "PROVENANCE_FILE_NAME",
    "FastTextMismatchError",
    "InitContext",
    "InitMethod",
    "InitOptions",
    "InitPlan",
    "MissingSpecialTokenError",
    "RandomGroup",
    "SourceModelError",
    "VocabReplacementArguments",
    "build_plan",
    "build_provenance",
    "build_target_model",
    "canonical_forms",
    "categorize",
    "detect_convention",
    "focus_overlap",
    "load_source_model",
    "parse_init_spec",
    "register_method",
    "replace_vocabulary",
    "save_replaced_model",
    "sparsemax",
    "special_token_map",
    "token_position",
    "token_script",
    "train_fasttext",
    "with_mlm_head",
]
