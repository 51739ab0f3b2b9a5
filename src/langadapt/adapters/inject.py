"""Placing bottleneck adapters in a Hugging Face encoder, activating, training and removing them.

Works on any model whose base model has BERT-style layers (``encoder.layer[i]``) whose sub-blocks end in
``LayerNorm(dropout(dense(x)) + input)``: BERT, RoBERTa, XLM-R, CamemBERT, ELECTRA, e5... (checked on each
module before it is changed). Nothing of the model's class changes:

* each adapted sub-block output (``layer.output``; ``layer.attention.output`` with ``mh_adapter``) gets a
  ``ModuleDict`` named ``adapters`` and an instance ``forward`` that runs the active adapters;
* an invertible adapter lives in ``<base model>.invertible_adapters``; a forward hook applies it to the embedding
  output and a pre-hook on the output embeddings (the MLM decoder) applies its inverse.

So parameter names are the `adapters` library's (``roberta.encoder.layer.0.output.adapters.lang.adapter_down.0
.weight``, ``roberta.invertible_adapters.lang.F.0.weight``), and `remove_adapter` restores the model exactly.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field

import torch
from torch import nn

from .bottleneck import BottleneckAdapter, run_adapter_stack
from .config import BottleneckConfig
from .invertible import NICECouplingBlock

STATE_ATTRIBUTE = "_langadapt_adapter_state"
SUB_BLOCKS = {"output_adapter": ("output",), "mh_adapter": ("attention", "output")}


@dataclass
class AdapterState:
    """What langadapt added to one model; kept (as a plain attribute) on every module it changed."""

    configs: dict[str, BottleneckConfig] = field(default_factory=dict)
    active: list[str] = field(default_factory=list)
    invertible: nn.ModuleDict | None = None
    patched: list[nn.Module] = field(default_factory=list)

    def first_invertible(self) -> NICECouplingBlock | None:
        # As in `adapters`: the invertible adapter of the first active adapter, if it has one.
        if not self.active or self.invertible is None or self.active[0] not in self.invertible:
            return None
        return self.invertible[self.active[0]]


def base_model_of(model: nn.Module) -> nn.Module:
    """The encoder (``model.roberta``, ``model.bert``...) of a task model, or the model itself."""
    prefix = getattr(model, "base_model_prefix", "")
    return getattr(model, prefix, model) if prefix else model


def adapter_state(model: nn.Module) -> AdapterState | None:
    return getattr(base_model_of(model), STATE_ATTRIBUTE, None)


def _layers(base: nn.Module) -> nn.ModuleList:
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList):
        raise ValueError(f"{type(base).__name__} has no encoder.layer list: bottleneck adapters need a BERT-style "
                         "encoder (BERT, RoBERTa, XLM-R, ELECTRA, ...)")  # fmt: skip
    return layers


def _layer_norm(module: nn.Module) -> nn.Module:
    return module.LayerNorm if hasattr(module, "LayerNorm") else module.layer_norm


def _sub_block(layer: nn.Module, location: str, index: int) -> nn.Module:
    module = layer
    for part in SUB_BLOCKS[location]:
        module = getattr(module, part, None)
    if (
        module is None
        or not all(hasattr(module, a) for a in ("dense", "dropout"))
        or not (hasattr(module, "LayerNorm") or hasattr(module, "layer_norm"))
    ):
        where = "layer." + ".".join(SUB_BLOCKS[location])
        raise ValueError(f"encoder.layer[{index}].{where} is not a BERT-style sub-block output (dense, dropout, "
                         f"LayerNorm); {location} adapters cannot be placed in {type(layer).__name__}")  # fmt: skip
    return module


@torch.no_grad()
def _check_sub_block_forward(module: nn.Module, where: str) -> None:
    """Refuse a module whose own forward is not ``LN(dropout(dense(x)) + input)``: patching it would change it."""
    weight = module.dense.weight
    if weight.device.type == "meta":
        return
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, module.dense.in_features, generator=generator).to(weight)
    residual = torch.randn(1, 2, module.dense.out_features, generator=generator).to(weight)
    was_training = module.training
    module.eval()
    try:
        expected = type(module).forward(module, x, residual)
        ours = _layer_norm(module)(module.dense(x) + residual)
    finally:
        module.train(was_training)
    if not torch.allclose(expected, ours, rtol=1e-4, atol=1e-5):
        raise ValueError(f"{where} ({type(module).__name__}) does not compute LayerNorm(dense(x) + input); "
                         "bottleneck adapters cannot be placed there")  # fmt: skip


def _adapted_sub_block_forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
    """Instance ``forward`` of an adapted sub-block output: dense → dropout → active adapters (+ LayerNorm)."""
    hidden_states = self.dropout(self.dense(hidden_states))
    state: AdapterState = getattr(self, STATE_ATTRIBUTE)
    adapters = [self.adapters[name] for name in state.active if name in self.adapters]
    return run_adapter_stack(adapters, hidden_states, input_tensor, _layer_norm(self))


def _embedding_hook(module, args, output):
    block = getattr(module, STATE_ATTRIBUTE).first_invertible()
    if block is None:
        return output
    if isinstance(output, tuple):
        return (block(output[0]),) + output[1:]
    return block(output)


def _output_embedding_pre_hook(module, args):
    block = getattr(module, STATE_ATTRIBUTE).first_invertible()
    if block is None or not args:
        return None
    return (block(args[0], rev=True),) + tuple(args[1:])


def _state_for(model: nn.Module) -> AdapterState:
    base = base_model_of(model)
    state = getattr(base, STATE_ATTRIBUTE, None)
    if state is None:
        state = AdapterState()
        setattr(base, STATE_ATTRIBUTE, state)
    return state


def _attach_invertible(model: nn.Module, state: AdapterState) -> None:
    """The invertible adapters' ModuleDict and the two hooks, once per model."""
    if state.invertible is not None:
        return
    base = base_model_of(model)
    embeddings = getattr(base, "embeddings", None)
    if embeddings is None:
        raise ValueError(f"{type(base).__name__} has no embeddings module for the invertible adapter")
    base.invertible_adapters = nn.ModuleDict()
    state.invertible = base.invertible_adapters
    setattr(embeddings, STATE_ATTRIBUTE, state)
    embeddings.register_forward_hook(_embedding_hook)
    output_embeddings = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if output_embeddings is not None:  # a model without an LM head only needs the forward direction
        setattr(output_embeddings, STATE_ATTRIBUTE, state)
        output_embeddings.register_forward_pre_hook(_output_embedding_pre_hook)
        state.patched.append(output_embeddings)
    state.patched.append(embeddings)


def add_adapter(model: nn.Module, name: str, config: BottleneckConfig, set_active: bool = True) -> None:
    """Add adapter ``name`` (new weights, ``config.init_weights``); with ``set_active`` it becomes the only active
    adapter. For an MLM, pass the *ForMaskedLM model so the invertible adapter's inverse reaches its decoder."""
    if not name or "." in name:
        raise ValueError(f"adapter name {name!r} must be non-empty and contain no '.'")
    base = base_model_of(model)
    state = adapter_state(model)
    if state is not None and name in state.configs:
        raise ValueError(f"the model already has an adapter named {name!r}")
    layers = _layers(base)
    config.validate_for(base.config)
    targets = []
    for index in config.adapter_layers(len(layers)):
        for location in ("mh_adapter", "output_adapter"):
            if getattr(config, location):
                module = _sub_block(layers[index], location, index)
                if STATE_ATTRIBUTE not in vars(module):
                    _check_sub_block_forward(module, f"encoder.layer[{index}]")
                targets.append((index, module))
    state = _state_for(model)
    hidden = base.config.hidden_size
    for index, module in targets:
        if STATE_ATTRIBUTE not in vars(module):
            module.adapters = nn.ModuleDict()
            setattr(module, STATE_ATTRIBUTE, state)
            module.forward = types.MethodType(_adapted_sub_block_forward, module)
            state.patched.append(module)
        weight = module.dense.weight
        adapter = BottleneckAdapter(hidden, config.bottleneck_size(hidden, index), config)
        module.adapters[name] = adapter.to(device=weight.device, dtype=weight.dtype).train(module.training)
    if config.inv_adapter is not None:
        _attach_invertible(model, state)
        reference = base.embeddings.word_embeddings.weight
        block = NICECouplingBlock(getattr(base.config, "embedding_size", hidden), config.non_linearity,
                                  config.inv_adapter_reduction_factor, config.zero_init_up_projection)  # fmt: skip
        state.invertible[name] = block.to(device=reference.device, dtype=reference.dtype).train(base.training)
    state.configs[name] = config
    if set_active:
        state.active = [name]


def remove_adapter(model: nn.Module, name: str) -> None:
    """Delete adapter ``name``; after the last one the model is exactly as before the first `add_adapter`."""
    state = _require(model, [name])
    for module in state.patched:
        if isinstance(getattr(module, "adapters", None), nn.ModuleDict) and name in module.adapters:
            del module.adapters[name]
    if state.invertible is not None and name in state.invertible:
        del state.invertible[name]
    del state.configs[name]
    state.active = [n for n in state.active if n != name]
    if state.configs:
        return
    for module in state.patched:
        # Found by function, not by handle: handles would point into the original after a deepcopy.
        for hooks, function in ((module._forward_hooks, _embedding_hook),
                                (module._forward_pre_hooks, _output_embedding_pre_hook)):  # fmt: skip
            for key in [k for k, f in hooks.items() if f is function]:
                del hooks[key]
        vars(module).pop("forward", None)
        if "adapters" in module._modules:
            del module.adapters
        vars(module).pop(STATE_ATTRIBUTE, None)
    base = base_model_of(model)
    if "invertible_adapters" in base._modules:
        del base.invertible_adapters
    vars(base).pop(STATE_ATTRIBUTE, None)


def _require(model: nn.Module, names: list[str]) -> AdapterState:
    state = adapter_state(model)
    known = list(state.configs) if state is not None else []
    missing = [n for n in names if n not in known]
    if missing:
        raise KeyError(f"no adapter named {missing[0]!r} in the model; it has: {', '.join(known) or 'none'}")
    return state


def list_adapters(model: nn.Module) -> dict[str, BottleneckConfig]:
    state = adapter_state(model)
    return dict(state.configs) if state is not None else {}


def active_adapters(model: nn.Module) -> list[str]:
    state = adapter_state(model)
    return list(state.active) if state is not None else []


def set_active_adapters(model: nn.Module, names: str | list[str] | None) -> None:
    """Run these adapters, stacked in this order (MAD-X: ``[language, task]``); None or [] runs none."""
    names = [names] if isinstance(names, str) else list(names or [])
    if len(set(names)) != len(names):
        raise ValueError(f"an adapter appears twice in the stack {names}")
    state = _require(model, names) if names else adapter_state(model)
    if state is not None:
        state.active = names


def is_adapter_parameter(name: str, adapter: str | None = None) -> bool:
    """True for parameter names (relative to the base model or any model above it) of ``adapter`` (or any)."""
    dotted = f".{name}"
    if adapter is None:
        return ".adapters." in dotted or ".invertible_adapters." in dotted
    return f".adapters.{adapter}." in dotted or f".invertible_adapters.{adapter}." in dotted


def adapter_state_dict(model: nn.Module, name: str) -> dict[str, torch.Tensor]:
    """Adapter ``name``'s tensors, keyed relative to the base model (shared tensors listed once)."""
    _require(model, [name])
    base = base_model_of(model)
    return {k: p.detach() for k, p in base.named_parameters() if is_adapter_parameter(k, name)}


def train_adapters(model: nn.Module, names: str | list[str]) -> None:
    """Freeze every parameter of ``model`` except those of the named adapters."""
    names = [names] if isinstance(names, str) else list(names)
    _require(model, names)
    for param in model.parameters():
        param.requires_grad_(False)
    base = base_model_of(model)
    for key, param in base.named_parameters():
        if any(is_adapter_parameter(key, n) for n in names):
            param.requires_grad_(True)
