"""LAPT modes ``seq_bn`` and ``seq_bn_inv`` ([KG]): a bottleneck language adapter (+ NICE invertible adapter)
trains, the base model stays frozen; with a replaced vocabulary the embeddings and LM head train too (as in the
``lora`` mode: the base model's own parameters, saved beside the adapter in `TRAINABLE_BASE_FILE`).

A checkpoint (and ``best/``) holds the adapter alone in langadapt's format (`langadapt.adapters.save_adapter`):
a bottleneck cannot be merged into the base weights, so users load it onto the base model
(`load_lapt_bottleneck`), and the run's ``--merge_adapters`` is refused up front.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..adapters import BottleneckConfig, add_adapter, is_adapter_parameter, load_adapter, save_adapter, train_adapters
from ..adapters.config import adapter_forward_flops
from ..adapters.inject import list_adapters
from ..layout import ADAPTER_CONFIG_FILE, TRAINABLE_BASE_FILE
from .masked_head import unwrap_mlm
from .modes import LAPT_MODES, LaptModeSetup, _head_prefixes, _train_outer, is_embedding_or_head, local_model_dir


def _bottleneck_mode(model, args, vocab_replaced: bool, preset: str) -> LaptModeSetup:
    if args.merge_adapters:
        raise ValueError(f"--merge_adapters: a {preset} adapter cannot be merged into the base weights; load best/ "
                         "onto the base model with langadapt.lapt.load_lapt_bottleneck")  # fmt: skip
    options = {"reduction_factor": args.bottleneck_reduction_factor, "non_linearity": args.bottleneck_non_linearity,
               "leave_out": list(args.bottleneck_leave_out)}  # fmt: skip
    if preset.endswith("_inv"):
        options["inv_adapter_reduction_factor"] = args.inv_adapter_reduction_factor
    config = BottleneckConfig.from_preset(preset, **options)
    mlm = unwrap_mlm(model)
    add_adapter(mlm, args.adapter_name, config)
    train_adapters(mlm, args.adapter_name)
    if _train_outer(mlm, args, vocab_replaced):
        heads = _head_prefixes(mlm)
        for name, param in mlm.named_parameters():
            if is_embedding_or_head(name, heads) and not is_adapter_parameter(name):
                param.requires_grad_(True)
    flops = adapter_forward_flops(config, mlm.config.hidden_size, mlm.config.num_hidden_layers)
    return LaptModeSetup(mlm, is_bottleneck=True, adapter_flops_per_token=flops["per_token"],
                         adapter_flops_per_projected=flops["per_projected"])  # fmt: skip


@LAPT_MODES.register("seq_bn")
def seq_bn_mode(model, args, vocab_replaced: bool) -> LaptModeSetup:
    return _bottleneck_mode(model, args, vocab_replaced, "seq_bn")


@LAPT_MODES.register("seq_bn_inv")
def seq_bn_inv_mode(model, args, vocab_replaced: bool) -> LaptModeSetup:
    return _bottleneck_mode(model, args, vocab_replaced, "seq_bn_inv")


def has_bottleneck(model) -> bool:
    return bool(list_adapters(unwrap_mlm(model)))


def is_bottleneck_dir(path: str | Path) -> bool:
    return (Path(path) / ADAPTER_CONFIG_FILE).is_file()


def save_lapt_bottleneck(model, directory: str | Path, base_model_name_or_path: str | None = None) -> None:
    """The run's adapter in langadapt's format plus the trained embeddings/head (if any) in `TRAINABLE_BASE_FILE`."""
    mlm = unwrap_mlm(model)
    names = list(list_adapters(mlm))
    if len(names) != 1:
        raise ValueError(f"a LAPT checkpoint holds one adapter; the model has {names}")
    save_adapter(mlm, directory, names[0], base_model_name_or_path)
    extra = {n: p.detach().cpu().contiguous() for n, p in mlm.named_parameters()
             if p.requires_grad and not is_adapter_parameter(n)}  # fmt: skip
    if extra:
        save_file(extra, str(Path(directory) / TRAINABLE_BASE_FILE))


def load_lapt_bottleneck(base_model, directory: str | Path):
    """Inverse of `save_lapt_bottleneck` on ``base_model`` (a *ForMaskedLM): the trained embeddings/head restored,
    the adapter placed and active (or, on a model that has it already, its weights overwritten). Returns the model.
    ``directory``: a local directory or the Hub id it was published under."""
    mlm = unwrap_mlm(base_model)
    directory = local_model_dir(directory)
    load_adapter(mlm, directory)  # first: it names a wrong base model best
    extra_path = Path(directory) / TRAINABLE_BASE_FILE
    if extra_path.is_file():
        extra = load_file(str(extra_path))
        params = dict(mlm.named_parameters())
        missing = [k for k in extra if k not in params]
        if missing:
            raise ValueError(f"{extra_path}: parameters {missing[:3]} not in the base model")
        with torch.no_grad():
            for key, value in extra.items():
                if params[key].shape != value.shape:
                    raise ValueError(f"{extra_path}: {key} has shape {tuple(value.shape)}, the base model "
                                     f"{tuple(params[key].shape)}: wrong base model")  # fmt: skip
                params[key].copy_(value)
    return base_model


def saved_base_model(directory: str | Path) -> str:
    """The base model a saved adapter names (``base_model.name_or_path`` of its JSON)."""
    path = Path(directory) / ADAPTER_CONFIG_FILE
    name = json.loads(path.read_text(encoding="utf-8")).get("base_model", {}).get("name_or_path")
    if not name:
        raise ValueError(f"{path}: no base_model.name_or_path; pass the base model explicitly")
    return name
