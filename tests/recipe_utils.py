"""Kept for test files written before `langadapt.recipes_loader` (the one recipe loader, shared with the
benchmarks): import ``load_recipe`` and ``RECIPES_DIR`` from there."""

from langadapt.recipes_loader import RECIPES_DIR, load_recipe

__all__ = ["RECIPES_DIR", "load_recipe"]
