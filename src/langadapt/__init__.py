"""langadapt: specialize multilingual masked language models to low-resource languages and families.

The recipes in ``recipes/`` import only this public API.
"""

from .configs import ConfigError, LangadaptParser
from .io_utils import atomic_directory, atomic_file, check_output_dir, write_json
from .logging_utils import setup_logging
from .registry import Registry

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "LangadaptParser",
    "Registry",
    "atomic_directory",
    "atomic_file",
    "check_output_dir",
    "setup_logging",
    "write_json",
]
