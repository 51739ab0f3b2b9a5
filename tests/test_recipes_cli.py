"""Every recipe answers --help with all its options, and every YAML under recipes/configs/ parses."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from langadapt.recipes_loader import RECIPES_DIR, load_recipe

RECIPES = sorted(p.stem for p in RECIPES_DIR.glob("*.py"))
CONFIGS = sorted((RECIPES_DIR / "configs").rglob("*.yaml"))


def recipe_for_config(path: Path) -> str:
    """``<stage>_<variant>.yaml`` belongs to ``recipes/<stage>.py`` (the longest recipe name that prefixes it)."""
    matches = [name for name in RECIPES if path.stem == name or path.stem.startswith(name + "_")]
    assert matches, f"{path}: no recipe in recipes/ matches its name (expected <stage>_<variant>.yaml)"
    return max(matches, key=len)


@pytest.mark.parametrize("name", RECIPES)
def test_help_lists_every_field(name, capsys):
    recipe = load_recipe(name)
    assert recipe.__doc__ and "Usage" in recipe.__doc__, f"recipes/{name}.py needs a docstring with a usage line"
    parser = recipe.make_parser()
    with pytest.raises(SystemExit, match="^0$"):
        parser.parse(["--help"])
    out = capsys.readouterr().out
    for dataclass_type in parser.dataclass_types:
        for field in dataclasses.fields(dataclass_type):
            if field.init and not field.name.startswith("_"):
                assert f"--{field.name}" in out, f"recipes/{name}.py --help does not list --{field.name}"


def test_help_as_a_script():
    result = subprocess.run(
        [sys.executable, str(RECIPES_DIR / "prepare_data.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0 and "--max_word_length" in result.stdout


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: str(p.relative_to(RECIPES_DIR)))
def test_every_config_parses(config):
    recipe = load_recipe(recipe_for_config(config))
    parsed = recipe.make_parser().parse([str(config)])
    assert parsed and all(dataclasses.is_dataclass(p) for p in parsed)
