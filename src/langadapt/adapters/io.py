"""Saving and loading bottleneck adapters alone: langadapt's own format and the `adapters` library's.

langadapt's format (what `save_adapter` writes by default), in one directory:

* ``langadapt_adapter.json``: ``{"format", "format_version", "name", "config": BottleneckConfig fields,
  "base_model": {"name_or_path", "model_type", "hidden_size", "num_hidden_layers", "vocab_size"}}``
* ``langadapt_adapter.safetensors``: the adapter's tensors, named relative to the base model, as the `adapters`
  library names them without its prefix (``encoder.layer.0.output.adapters.<name>.adapter_down.0.weight``,
  ``invertible_adapters.<name>.F.0.weight``).

The `adapters` library's format (v1.x, and adapter-transformers before it): ``adapter_config.json`` (``{"config":
BnConfig fields, "hidden_size", "model_type", "name", "version", ...}``) and ``pytorch_adapter.bin`` or
``adapter.safetensors`` with full parameter names (``roberta.encoder.layer.0.output.adapters.<name>...``).
`load_adapter` reads both; ``save_adapter(..., format="adapters")`` writes the latter (a torch pickle), so an
adapter trained here can go back to transformers-4 users.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..io_utils import write_json
from ..layout import (
    ADAPTER_CONFIG_FILE,
    ADAPTER_WEIGHTS_FILE,
    ADAPTERS_LIBRARY_CONFIG_FILE,
    ADAPTERS_LIBRARY_SAFE_WEIGHTS_FILE,
    ADAPTERS_LIBRARY_WEIGHTS_FILE,
)
from .config import BottleneckConfig
from .inject import adapter_state_dict, add_adapter, base_model_of, is_adapter_parameter, list_adapters

FORMAT = "langadapt-bottleneck-adapter"
FORMAT_VERSION = 1
ADAPTERS_FORMAT_VERSION = "adapters.1.3.0"  # the release whose layout we write and test against
# Old `adapters`/adapter-transformers weight names → current ones (their loader's legacy_weights_mapping).
LEGACY_NAMES = {"attention_text_task_adapters": "adapters", "attention_text_lang_adapters": "adapters",
                "layer_text_task_adapters": "adapters", "layer_text_lang_adapters": "adapters",
                "invertible_lang_adapters": "invertible_adapters"}  # fmt: skip
# Configs without a "version" come from adapter-transformers, where "gelu" meant today's "gelu_new".
LEGACY_ACTIVATIONS = {"gelu": "gelu_new", "gelu_orig": "gelu"}
BASE_FIELDS = ("hidden_size", "num_hidden_layers", "vocab_size")


def is_adapter_directory(path: str | Path) -> bool:
    path = Path(path)
    return (path / ADAPTER_CONFIG_FILE).is_file() or (path / ADAPTERS_LIBRARY_CONFIG_FILE).is_file()


def _base_description(model: nn.Module, base_model_name_or_path: str | None) -> dict[str, Any]:
    config = base_model_of(model).config
    name = base_model_name_or_path or getattr(config, "_name_or_path", None) or getattr(config, "name_or_path", "")
    return {"name_or_path": str(name), "model_type": getattr(config, "model_type", None),
            **{f: getattr(config, f, None) for f in BASE_FIELDS}}  # fmt: skip


def _save_tensors_atomically(tensors: dict[str, torch.Tensor], path: Path, pickle: bool = False) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        if pickle:
            torch.save(tensors, tmp)
        else:
            save_file(tensors, tmp, metadata={"format": "pt"})
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_adapter(
    model: nn.Module,
    directory: str | Path,
    name: str,
    base_model_name_or_path: str | None = None,
    format: str = "langadapt",
) -> Path:
    """Write adapter ``name`` alone (a few MB) to ``directory``; ``format`` is "langadapt" or "adapters"."""
    if format not in ("langadapt", "adapters"):
        raise ValueError(f"format must be 'langadapt' or 'adapters', got {format!r}")
    config = list_adapters(model).get(name)
    tensors = {k: v.cpu().contiguous() for k, v in adapter_state_dict(model, name).items()}
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    base = _base_description(model, base_model_name_or_path)
    if format == "langadapt":
        _save_tensors_atomically(tensors, directory / ADAPTER_WEIGHTS_FILE)
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": name, "config": config.to_dict(),
                "base_model": base}  # fmt: skip
        write_json(directory / ADAPTER_CONFIG_FILE, meta)
        return directory
    prefix = getattr(model, "base_model_prefix", "")
    prefix = f"{prefix}." if prefix and base_model_of(model) is not model else ""
    _save_tensors_atomically(
        {prefix + k: v for k, v in tensors.items()}, directory / ADAPTERS_LIBRARY_WEIGHTS_FILE, True
    )
    write_json(directory / ADAPTERS_LIBRARY_CONFIG_FILE, {
        "config": config.to_adapters_dict(), "hidden_size": base["hidden_size"], "model_class": type(model).__name__,
        "model_name": base["name_or_path"], "model_type": base["model_type"], "name": name,
        "version": ADAPTERS_FORMAT_VERSION,
    })  # fmt: skip
    return directory


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err


def _check_base(path: Path, saved: dict[str, Any], model: nn.Module) -> None:
    config = base_model_of(model).config
    trained_on = saved.get("name_or_path") or "its base model"
    for field in BASE_FIELDS:
        expected, actual = saved.get(field), getattr(config, field, None)
        if expected is not None and actual is not None and expected != actual:
            raise ValueError(f"{path}: the adapter was trained on {trained_on} with {field}={expected}, but this "
                             f"model has {field}={actual}: wrong base model")  # fmt: skip


def _read_langadapt(directory: Path, model: nn.Module) -> tuple[str, BottleneckConfig, dict[str, torch.Tensor]]:
    path = directory / ADAPTER_CONFIG_FILE
    meta = _read_json(path)
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: format is {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(f"{path}: format_version {meta['format_version']} is newer than this langadapt reads "
                         f"({FORMAT_VERSION}); upgrade langadapt")  # fmt: skip
    try:
        config = BottleneckConfig(**meta["config"])
    except (TypeError, ValueError, KeyError) as err:
        raise ValueError(f"{path}: invalid adapter config: {err}") from err
    _check_base(path, meta.get("base_model", {}), model)
    weights = directory / ADAPTER_WEIGHTS_FILE
    if not weights.is_file():
        raise FileNotFoundError(f"{directory}: {ADAPTER_WEIGHTS_FILE} is missing beside {ADAPTER_CONFIG_FILE}")
    return meta["name"], config, load_file(str(weights))


_BASE_RELATIVE = re.compile(r"(?:^|\.)((?:encoder\.layer\.\d+\.)|(?:invertible_adapters\.))")


def _strip_prefix(key: str) -> str | None:
    """``roberta.encoder.layer.0...`` → ``encoder.layer.0...``; None for a key outside the encoder/embeddings."""
    for old, new in LEGACY_NAMES.items():
        key = key.replace(old, new)
    match = _BASE_RELATIVE.search(key)
    return None if match is None else key[match.start(1) :]


def _read_adapters_library(directory: Path, model: nn.Module) -> tuple[str, BottleneckConfig, dict[str, torch.Tensor]]:
    path = directory / ADAPTERS_LIBRARY_CONFIG_FILE
    meta = _read_json(path)
    raw = meta.get("config")
    if raw is None:
        raise ValueError(f"{path}: no 'config' entry (not an adapter saved by the `adapters` library?)")
    if isinstance(raw, dict) and "version" not in meta and raw.get("non_linearity") in LEGACY_ACTIVATIONS:
        raw = {**raw, "non_linearity": LEGACY_ACTIVATIONS[raw["non_linearity"]]}
    config = BottleneckConfig.from_adapters_dict(raw, where=str(path))
    hidden = base_model_of(model).config.hidden_size
    if meta.get("hidden_size") is not None and meta["hidden_size"] != hidden:
        raise ValueError(f"{path}: the adapter was trained on {meta.get('model_name') or 'its base model'} with "
                         f"hidden_size={meta['hidden_size']}, but this model has hidden_size={hidden}: wrong base model")  # fmt: skip
    if (directory / ADAPTERS_LIBRARY_SAFE_WEIGHTS_FILE).is_file():
        raw_tensors = load_file(str(directory / ADAPTERS_LIBRARY_SAFE_WEIGHTS_FILE))
    elif (directory / ADAPTERS_LIBRARY_WEIGHTS_FILE).is_file():
        raw_tensors = torch.load(directory / ADAPTERS_LIBRARY_WEIGHTS_FILE, map_location="cpu", weights_only=True)
    else:
        raise FileNotFoundError(
            f"{directory}: neither {ADAPTERS_LIBRARY_SAFE_WEIGHTS_FILE} nor {ADAPTERS_LIBRARY_WEIGHTS_FILE}"
        )
    tensors, outside = {}, []
    for key, value in raw_tensors.items():
        relative = _strip_prefix(key)
        (outside.append(key) if relative is None else tensors.__setitem__(relative, value))
    if outside:
        raise ValueError(f"{directory}: weights outside the encoder layers and embeddings, not a language adapter "
                         f"langadapt can place: {outside[:3]}")  # fmt: skip
    layers = base_model_of(model).config.num_hidden_layers
    indices = {int(m.group(1)) for k in tensors if (m := re.match(r"encoder\.layer\.(\d+)\.", k))}
    if indices and max(indices) >= layers:
        raise ValueError(f"{path}: the adapter has weights for layer {max(indices)} (num_hidden_layers >= "
                         f"{max(indices) + 1}), but this model has num_hidden_layers={layers}: wrong base model")  # fmt: skip
    return meta.get("name") or directory.name, config, tensors


def _rename(tensors: dict[str, torch.Tensor], old: str, new: str) -> dict[str, torch.Tensor]:
    if old == new:
        return tensors
    return {k.replace(f".adapters.{old}.", f".adapters.{new}.").replace(
        f"invertible_adapters.{old}.", f"invertible_adapters.{new}."): v for k, v in tensors.items()}  # fmt: skip


@torch.no_grad()
def _copy_weights(model: nn.Module, name: str, tensors: dict[str, torch.Tensor], where: Path) -> None:
    # All state-dict names of the adapter (a LayerNorm reached two ways has two names, as in `adapters`' files).
    targets = {
        k: v for k, v in base_model_of(model).state_dict(keep_vars=True).items() if is_adapter_parameter(k, name)
    }
    unexpected = sorted(k for k in tensors if k not in targets)
    if unexpected:
        raise ValueError(f"{where}: weights {unexpected[:3]} have no place in the model's adapter {name!r} "
                         "(different leave_out, locations or base model?)")  # fmt: skip
    loaded_ids = {id(targets[k]) for k in tensors}
    missing = sorted(k for k, v in targets.items() if id(v) not in loaded_ids)
    if missing:
        raise ValueError(f"{where}: adapter weights {missing[:3]} are missing from the checkpoint")
    for key, value in tensors.items():
        target = targets[key]
        if target.shape != value.shape:
            raise ValueError(f"{where}: {key} has shape {tuple(value.shape)} in the checkpoint but "
                             f"{tuple(target.shape)} in the model")  # fmt: skip
        target.copy_(value)


def load_adapter(model: nn.Module, directory: str | Path, name: str | None = None, set_active: bool = True) -> str:
    """Load an adapter saved by `save_adapter` or by the `adapters` library onto ``model``; return its name.

    ``name`` renames it (default: the saved name). If the model already has an adapter of that name and the same
    config, its weights are overwritten (resuming a run); a different config is an error.
    """
    directory = Path(directory)
    if (directory / ADAPTER_CONFIG_FILE).is_file():
        saved_name, config, tensors = _read_langadapt(directory, model)
    elif (directory / ADAPTERS_LIBRARY_CONFIG_FILE).is_file():
        saved_name, config, tensors = _read_adapters_library(directory, model)
    else:
        raise FileNotFoundError(
            f"{directory}: no adapter here (neither {ADAPTER_CONFIG_FILE} nor {ADAPTERS_LIBRARY_CONFIG_FILE})"
        )
    name = name or saved_name
    tensors = _rename(tensors, saved_name, name)
    existing = list_adapters(model).get(name)
    if existing is None:
        add_adapter(model, name, config, set_active=set_active)
    elif existing.to_adapters_dict() != config.to_adapters_dict():
        raise ValueError(f"{directory}: the model already has an adapter {name!r} with a different config; "
                         "load it under another name")  # fmt: skip
    _copy_weights(model, name, tensors, directory)
    return name
