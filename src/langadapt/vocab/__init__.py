"""Vocabulary replacement: re-initialise a masked LM's embeddings for a new tokenizer.

Init methods live in the open registry `INIT_METHODS` (``special`` > ``ident`` > ``focus`` > ``mean`` >
``script+posn`` > ``script`` > ``random``); a spec such as ``script+posn+ident`` combines them. What the
methods are and why these defaults: docs/methods.md#embedding-initialisation.
"""

from . import focus as _focus  # noqa: F401  (registers "focus")
from . import heuristics as _heuristics  # noqa: F401  (registers ident, script, script+posn, random)
from . import mean as _mean  # noqa: F401  (registers "mean")
from .args import InitOptions, VocabReplacementArguments
from .focus import train_fasttext
from .methods import INIT_METHODS, InitContext, InitMethod, build_plan, parse_init_spec, register_method
from .plan import InitPlan
from .replace import replace_vocabulary, save_replaced_model
from .surgery import load_source_model, with_mlm_head

__all__ = [
    "VocabReplacementArguments",
    "InitOptions",
    "INIT_METHODS",
    "InitMethod",
    "InitContext",
    "InitPlan",
    "register_method",
    "parse_init_spec",
    "build_plan",
    "load_source_model",
    "with_mlm_head",
    "replace_vocabulary",
    "save_replaced_model",
    "train_fasttext",
]
