"""Bottleneck language adapters (``seq_bn``, ``seq_bn_inv`` with a NICE invertible adapter) for transformers 5.

Native implementations of the `adapters` library's Pfeiffer / Houlsby bottleneck adapters with its parameter
names, placed into an ordinary Hugging Face encoder, saved alone, and loaded from langadapt's format or from the
`adapters` library's checkpoints. This package knows nothing of LAPT or evaluation; both use it.
"""

from .bottleneck import BottleneckAdapter, run_adapter_stack
from .config import PRESETS, BottleneckConfig, adapter_forward_flops, count_adapter_parameters
from .inject import (
    active_adapters,
    adapter_state_dict,
    add_adapter,
    base_model_of,
    is_adapter_parameter,
    list_adapters,
    remove_adapter,
    set_active_adapters,
    train_adapters,
)
from .invertible import NICECouplingBlock
from .io import CONFIG_NAME, WEIGHTS_NAME, is_adapter_directory, load_adapter, save_adapter

__all__ = [
    "CONFIG_NAME",
    "PRESETS",
    "WEIGHTS_NAME",
    "BottleneckAdapter",
    "BottleneckConfig",
    "NICECouplingBlock",
    "active_adapters",
    "adapter_forward_flops",
    "adapter_state_dict",
    "add_adapter",
    "base_model_of",
    "count_adapter_parameters",
    "is_adapter_directory",
    "is_adapter_parameter",
    "list_adapters",
    "load_adapter",
    "remove_adapter",
    "run_adapter_stack",
    "save_adapter",
    "set_active_adapters",
    "train_adapters",
]
