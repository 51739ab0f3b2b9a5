"""Import a recipe script (recipes/<name>.py) as a module, for in-process `main()` runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

RECIPES_DIR = Path(__file__).resolve().parents[1] / "recipes"


def load_recipe(name: str):
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", RECIPES_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve string annotations through sys.modules, so the module must be registered first.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
