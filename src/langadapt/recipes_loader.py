"""A recipe script (``recipes/<name>.py``) imported as a module, so that tests and benchmarks call its ``main()``
in-process and run exactly what a user running the recipe would.

The recipes are scripts of a source checkout, not part of the installed package: ``RECIPES_DIR`` is where they are
in one (``src/langadapt`` → the repository root).
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

RECIPES_DIR = Path(__file__).resolve().parents[2] / "recipes"


def load_recipe(name: str, recipes_dir: str | Path = RECIPES_DIR) -> ModuleType:
    """``recipes_dir/<name>.py`` as a module, loaded once per process (later calls return the same module)."""
    return _load(Path(recipes_dir).resolve() / f"{name}.py")


@cache
def _load(path: Path) -> ModuleType:
    if not path.is_file():
        raise FileNotFoundError(f"recipe {path} not found: recipes are the scripts of a source checkout's recipes/")
    spec = importlib.util.spec_from_file_location(f"langadapt_recipe_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: dataclasses resolve a recipe's string annotations through sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


__all__ = ["RECIPES_DIR", "load_recipe"]
