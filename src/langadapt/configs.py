"""One argument parser for every recipe: flat YAML files mapped onto typed dataclasses.

Precedence is dataclass default < YAML < command line. Unknown keys are an error that names the key and
the file, so configs never drift silently from the code. Built on `transformers.HfArgumentParser`, which
already turns dataclass fields (with `metadata={"help": ...}`) into options, including every field of
`transformers.TrainingArguments`.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import difflib
import logging
import sys
import types
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from transformers import HfArgumentParser

logger = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A configuration file or option is invalid; the message names the key and the file."""


def deprecated_names(dataclass_types: Sequence[type]) -> dict[str, str]:
    """Old name → field name, from the fields' ``metadata={"deprecated_names": [...]}`` (a renamed field keeps
    accepting its old name, in YAML and on the command line, for one release)."""
    aliases: dict[str, str] = {}
    for dtype in dataclass_types:
        for f in dataclasses.fields(dtype):
            for old in f.metadata.get("deprecated_names", ()):
                aliases[old] = f.name
    return aliases


def _warn_deprecated(old: str, new: str, where: str) -> None:
    message = f"{where}: '{old}' is deprecated and will be removed in the next release; use '{new}'"
    warnings.warn(message, FutureWarning, stacklevel=3)
    logger.warning(message)


def load_flat_yaml(path: str | Path) -> dict[str, Any]:
    """Read a flat YAML mapping (the config files are flat: one key per option)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: expected a mapping of option names to values, got {type(content).__name__}")
    for key, value in content.items():
        if isinstance(value, dict):
            raise ConfigError(f"{path}: key '{key}' holds a nested mapping; configs are flat (one key per option)")
    return content


class LangadaptParser(HfArgumentParser):
    """`HfArgumentParser` that also reads a YAML config given as the first positional argument.

    Usage: ``recipe.py [config.yaml] [--field value ...]``. The YAML keys are the dataclass field names. A renamed
    field lists its old names in ``metadata={"deprecated_names": [...]}``: they are still accepted, with a
    FutureWarning naming the new one, and giving both the old and the new name is an error.
    """

    def __init__(self, dataclass_types: Sequence[type] | type, **kwargs):
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(dataclass_types, **kwargs)
        self.add_argument(
            "config",
            nargs="?",
            default=None,
            help="Optional flat YAML file whose keys are option names below; command-line options override it.",
        )
        self.deprecated_names = deprecated_names(self.dataclass_types)

    @staticmethod
    def _parse_dataclass_field(parser: argparse.ArgumentParser, field: dataclasses.Field):
        # HfArgumentParser passes a field's metadata to `add_argument`, which does not know "deprecated_names".
        if "deprecated_names" in field.metadata:
            field = copy.copy(field)
            field.metadata = types.MappingProxyType(
                {k: v for k, v in field.metadata.items() if k != "deprecated_names"}
            )
        HfArgumentParser._parse_dataclass_field(parser, field)

    def canonical_name(self, key: str, where: str) -> str:
        """The field name for ``key``: itself, or the new name of a deprecated one (warned about)."""
        if key in self.deprecated_names:
            _warn_deprecated(key, self.deprecated_names[key], where)
            return self.deprecated_names[key]
        return key

    def _rename_deprecated(self, keys: Sequence[str], where: str) -> list[str]:
        """``keys`` with deprecated names replaced by their fields' names; both names given is an error."""
        renamed = [self.canonical_name(key, where) for key in keys]
        for old, new in self.deprecated_names.items():
            if old in keys and new in keys:
                raise ConfigError(f"{where}: '{old}' is the deprecated name of '{new}'; give only '{new}'")
        return renamed

    def _rename_deprecated_options(self, args: list[str]) -> list[str]:
        """Command-line ``--old value`` / ``--old=value`` → ``--new ...`` for the deprecated names."""
        options = [arg[2:].split("=", 1)[0] for arg in args if arg.startswith("--")]
        renamed = iter(self._rename_deprecated(options, "command line"))
        return [f"--{next(renamed)}" + (arg[arg.index("=") :] if "=" in arg else "") if arg.startswith("--") else arg
                for arg in args]  # fmt: skip

    def _known_actions(self) -> dict[str, argparse.Action]:
        return {action.dest: action for action in self._actions if action.dest not in ("help", "config")}

    def _coerce(self, action: argparse.Action, key: str, value: Any, source: Path) -> Any:
        """Apply the option's type to a YAML value so a wrong type fails here, naming the key and file."""
        if value is None or action.type is None:
            return value
        values = value if isinstance(value, list) else [value]
        if action.nargs in (None, "?") and isinstance(value, list):
            raise ConfigError(f"{source}: key '{key}' expects a single value, got a list")
        try:
            # Strings go to the option's type function as the command line would; other scalars go through str()
            # so that e.g. 3.5 for an int field fails instead of being truncated.
            converted = [action.type(v if isinstance(v, (str, bool)) else str(v)) for v in values]
        except (TypeError, ValueError, argparse.ArgumentTypeError) as err:
            raise ConfigError(f"{source}: key '{key}' has an invalid value {value!r}: {err}") from err
        if action.choices is not None:
            for v in converted:
                if v not in action.choices:
                    choices = ", ".join(str(c) for c in action.choices)
                    raise ConfigError(f"{source}: key '{key}' must be one of [{choices}], got {v!r}")
        return converted if isinstance(value, list) else converted[0]

    def apply_yaml_defaults(self, path: str | Path) -> dict[str, Any]:
        """Use the YAML file's values as defaults so that command-line options still override them."""
        path = Path(path)
        content = load_flat_yaml(path)
        content = dict(zip(self._rename_deprecated(list(content), str(path)), content.values()))
        actions = self._known_actions()
        defaults = {}
        for key, value in content.items():
            if key not in actions:
                close = difflib.get_close_matches(key, list(actions), n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise ConfigError(f"{path}: unknown key '{key}'{hint}; `--help` lists the valid options")
            action = actions[key]
            defaults[key] = self._coerce(action, key, value, path)
            # A required field given in the YAML is no longer required on the command line.
            action.required = False
        self.set_defaults(**defaults)
        return defaults

    def parse(self, args: Sequence[str] | None = None) -> tuple:
        """Parse ``[config.yaml] [--options]`` into the dataclasses, in the order they were given."""
        args = list(sys.argv[1:] if args is None else args)
        if args and not args[0].startswith("-") and args[0].endswith((".yaml", ".yml")):
            self.apply_yaml_defaults(args[0])
            args = args[1:]
        args = self._rename_deprecated_options(args)
        namespace, remaining = self.parse_known_args(args)
        if remaining:
            self.error(f"unknown options: {' '.join(remaining)}")
        if getattr(namespace, "config", None) is not None:
            self.error(
                f"unexpected positional argument {namespace.config!r}: the YAML config file must be the first "
                "argument and end in .yaml or .yml"
            )
        outputs = []
        for dtype in self.dataclass_types:
            keys = {f.name for f in dataclasses.fields(dtype) if f.init}
            inputs = {k: v for k, v in vars(namespace).items() if k in keys}
            try:
                outputs.append(dtype(**inputs))
            except (TypeError, ValueError) as err:
                raise ConfigError(f"{dtype.__name__}: {err}") from err
        return tuple(outputs)


def config_to_dict(*configs: Any) -> dict[str, Any]:
    """Flatten argument dataclasses to a JSON-friendly dict (for results files and model cards)."""
    merged: dict[str, Any] = {}
    for config in configs:
        if hasattr(config, "to_dict"):
            items = config.to_dict()
        else:
            items = dataclasses.asdict(config)
        for key, value in items.items():
            merged[key] = value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else str(value)
    return merged


def global_batch_size(training_args: Any) -> int:
    """Sequences per optimizer step over all processes (``TrainingArguments.train_batch_size`` counts one
    process's devices only): used for step budgets and for resuming a data stream at the right draw."""
    return (
        training_args.per_device_train_batch_size
        * max(training_args.world_size, 1)
        * training_args.gradient_accumulation_steps
    )


def check_global_batch_size(training_args: Any) -> None:
    """A config that states its global batch size (``global_batch_size``) must get it: the product of the
    per-device batch, the processes this launch started and the accumulation steps is checked at start, so the
    same YAML launched on 8 processes cannot silently train at 8x the batch. None: nothing stated, not checked."""
    stated = getattr(training_args, "global_batch_size", None)
    if stated is None:
        return
    if stated < 1:
        raise ValueError(f"global_batch_size must be >= 1, got {stated}")
    processes = max(training_args.world_size, 1)
    accumulation = training_args.gradient_accumulation_steps
    actual = global_batch_size(training_args)
    if actual == stated:
        return
    per_device, rest = divmod(stated, processes * accumulation)
    fix = (
        f"--per_device_train_batch_size {per_device}"
        if per_device and not rest
        else f"a per-device batch and accumulation whose product with {processes} processes is {stated}"
    )
    raise ValueError(
        f"global_batch_size is {stated} but per_device_train_batch_size {training_args.per_device_train_batch_size} "
        f"x {processes} processes x gradient_accumulation_steps {accumulation} = {actual}: on {processes} "
        f"process(es) use {fix}, or change global_batch_size"
    )
