"""Bottleneck language adapters (``seq_bn``, ``seq_bn_inv`` with a NICE invertible adapter) for transformers 5.

Native implementations of the `adapters` library's Pfeiffer / Houlsby bottleneck adapters with its parameter
names, placed into an ordinary Hugging Face encoder, saved alone, and loaded from langadapt's format or from the
`adapters` library's checkpoints. This package knows nothing of LAPT or evaluation; both use it.
"""

from .config import BottleneckConfig, count_adapter_parameters
from .inject import add_adapter, is_adapter_parameter, remove_adapter, set_active_adapters, train_adapters
from .io import load_adapter, save_adapter

__all__ = [
    "BottleneckConfig",
    "add_adapter",
    "count_adapter_parameters",
    "is_adapter_parameter",
    "load_adapter",
    "remove_adapter",
    "save_adapter",
    "set_active_adapters",
    "train_adapters",
]
