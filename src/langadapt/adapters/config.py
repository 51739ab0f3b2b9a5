"""Configuration of bottleneck language adapters: the `adapters` library's ``BnConfig`` fields that langadapt
implements, its named presets, and the checks against a model.

Field names and defaults are the library's (``SeqBnConfig``: the Pfeiffer adapter after each layer's FFN output,
reduction factor 16, ReLU, both pretrained LayerNorm passes), so a config read from a checkpoint's
``adapter_config.json`` means here what it meant there. Options the library has and we do not (PHM layers,
parallel adapters, gating, GLOW couplings, stochastic depth) are refused with a clear error instead of being
silently ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from transformers.activations import ACT2FN

# The `adapters` library's preset names (and their legacy aliases) → the fields that differ from `seq_bn`.
PRESETS: dict[str, dict[str, Any]] = {
    "seq_bn": {},
    "seq_bn_inv": {"inv_adapter": "nice", "inv_adapter_reduction_factor": 2},
    "double_seq_bn": {"original_ln_before": False, "mh_adapter": True, "non_linearity": "swish"},
    "double_seq_bn_inv": {
        "original_ln_before": False,
        "mh_adapter": True,
        "non_linearity": "swish",
        "inv_adapter": "nice",
        "inv_adapter_reduction_factor": 2,
    },
}
PRESET_ALIASES = {"pfeiffer": "seq_bn", "pfeiffer+inv": "seq_bn_inv", "houlsby": "double_seq_bn",
                  "houlsby+inv": "double_seq_bn_inv"}  # fmt: skip

# `adapters` BnConfig fields we do not implement, with the only value we accept for each (their default).
UNSUPPORTED_DEFAULTS: dict[str, Any] = {
    "is_parallel": False,
    "use_gating": False,
    "cross_adapter": False,
    "phm_layer": False,
    "stochastic_depth": 0.0,
}
# `adapters` fields that only matter with PHM layers (unsupported): written with the library's defaults, ignored
# on reading.
PHM_DEFAULTS: dict[str, Any] = {"phm_dim": 4, "factorized_phm_W": True, "shared_W_phm": False, "shared_phm_rule": True,
                                "factorized_phm_rule": False, "phm_c_init": "normal", "phm_init_range": 0.0001,
                                "learn_phm": True, "hypercomplex_nonlinearity": "glorot-uniform", "phm_rank": 1,
                                "phm_bias": True}  # fmt: skip
IGNORED_FIELDS = {"architecture", *PHM_DEFAULTS}
INIT_METHODS = ("bert", "mam_adapter", "houlsby")


def _is_activation(name: str) -> bool:
    return name.lower() in ACT2FN or name.lower() == "leakyrelu"


@dataclass
class BottleneckConfig:
    """A bottleneck adapter (+ optional NICE invertible adapter), with the `adapters` library's ``SeqBnConfig``
    defaults."""

    reduction_factor: float | dict[str, float] = field(
        default=16,
        metadata={"help": "hidden size / bottleneck size; or a mapping layer index (str) → factor with 'default'."},
    )
    non_linearity: str = field(default="relu", metadata={"help": "Activation in the bottleneck (and NICE)."})
    output_adapter: bool = field(default=True, metadata={"help": "Adapter after each layer's FFN output."})
    mh_adapter: bool = field(default=False, metadata={"help": "Adapter after each layer's attention output."})
    original_ln_before: bool = field(
        default=True, metadata={"help": "Apply the layer's pretrained residual + LayerNorm before the adapter."}
    )
    original_ln_after: bool = field(
        default=True, metadata={"help": "Apply the layer's pretrained residual + LayerNorm after the adapter."}
    )
    residual_before_ln: bool | str = field(
        default=True,
        metadata={
            "help": "Adapter residual: True = sub-block output before the LayerNorm, False = after it, "
            "'post_add' = after adding the sub-block input."
        },  # fmt: skip
    )
    adapter_residual_before_ln: bool = field(
        default=False, metadata={"help": "With ln_after: add the adapter residual before the new LayerNorm."}
    )
    ln_before: bool = field(default=False, metadata={"help": "A new LayerNorm before the down-projection."})
    ln_after: bool = field(default=False, metadata={"help": "A new LayerNorm after the up-projection."})
    scaling: float | str = field(
        default=1.0, metadata={"help": "Scale of the adapter output: a number, 'learned' or 'channel'."}
    )
    dropout: float = field(default=0.0, metadata={"help": "Dropout on the adapter output."})
    leave_out: list[int] = field(default_factory=list, metadata={"help": "Layer indices (from 0) without adapter."})
    init_weights: str = field(
        default="bert", metadata={"help": "bert (N(0, 0.02), zero biases) | mam_adapter | houlsby."}
    )
    init_weights_seed: int | None = field(
        default=None, metadata={"help": "Reseed before initialising each adapter module (all layers start alike)."}
    )
    inv_adapter: str | None = field(
        default=None,
        metadata={"help": "'nice': invertible adapter on the embedding output (inverse before the LM head)."},
    )
    inv_adapter_reduction_factor: float | None = field(
        default=None, metadata={"help": "Reduction factor inside the NICE coupling's sub-networks ([KG]: 2)."}
    )
    zero_init_up_projection: bool = field(
        default=False,
        metadata={
            "help": "langadapt only: start the up-projections (and NICE's output layers) at zero, so the "
            "adapted model equals the base model exactly at step 0."
        },  # fmt: skip
    )

    def __post_init__(self):
        if isinstance(self.reduction_factor, Mapping):
            self.reduction_factor = {str(k): v for k, v in self.reduction_factor.items()}
            for key, value in self.reduction_factor.items():
                if key != "default" and not key.lstrip("-").isdigit():
                    raise ValueError(f"reduction_factor: key {key!r} is neither a layer index nor 'default'")
                _check_positive(f"reduction_factor[{key!r}]", value)
        else:
            _check_positive("reduction_factor", self.reduction_factor)
        if not _is_activation(self.non_linearity):
            raise ValueError(f"non_linearity: unknown activation {self.non_linearity!r}")
        if self.residual_before_ln not in (True, False, "post_add"):
            raise ValueError(f"residual_before_ln must be True, False or 'post_add', got {self.residual_before_ln!r}")
        if self.residual_before_ln == "post_add" and not self.original_ln_before:
            raise ValueError("residual_before_ln='post_add' needs original_ln_before=True")
        if not (isinstance(self.scaling, (int, float)) or self.scaling in ("learned", "channel")):
            raise ValueError(f"scaling must be a number, 'learned' or 'channel', got {self.scaling!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.init_weights not in INIT_METHODS:
            raise ValueError(f"init_weights: {self.init_weights!r} is not one of {', '.join(INIT_METHODS)}")
        self.leave_out = sorted({int(i) for i in self.leave_out})
        if self.inv_adapter not in (None, "nice"):
            raise ValueError(f"inv_adapter: {self.inv_adapter!r} is not supported (only 'nice' or None)")
        if self.inv_adapter is not None:
            if self.inv_adapter_reduction_factor is None:
                raise ValueError("inv_adapter='nice' needs inv_adapter_reduction_factor ([KG]: 2)")
            _check_positive("inv_adapter_reduction_factor", self.inv_adapter_reduction_factor)

    # --- construction ---------------------------------------------------------------------------------------
    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> BottleneckConfig:
        """``seq_bn``, ``seq_bn_inv``, ``double_seq_bn``, ``double_seq_bn_inv`` (or pfeiffer/houlsby[+inv])."""
        key = PRESET_ALIASES.get(name, name)
        if key not in PRESETS:
            valid = ", ".join(list(PRESETS) + list(PRESET_ALIASES))
            raise ValueError(f"unknown adapter preset {name!r}; valid: {valid}")
        return cls(**{**PRESETS[key], **overrides})

    @classmethod
    def from_adapters_dict(cls, config: Mapping[str, Any] | str, where: str = "adapter config") -> BottleneckConfig:
        """A config as the `adapters` library writes it (``adapter_config.json``'s "config"), or a preset name."""
        if isinstance(config, str):
            return cls.from_preset(config)
        config = dict(config)
        legacy_inv = config.pop("invertible_adapter", None)  # adapter-transformers v1: a nested dict
        if legacy_inv:
            config.setdefault("inv_adapter", legacy_inv["block_type"])
            config.setdefault("inv_adapter_reduction_factor", legacy_inv["reduction_factor"])
        architecture = config.get("architecture", "bottleneck")
        if architecture not in (None, "bottleneck"):
            raise ValueError(f"{where}: architecture {architecture!r} is not a bottleneck adapter")
        for name, accepted in UNSUPPORTED_DEFAULTS.items():
            value = config.pop(name, accepted)
            if value not in (accepted, None):
                raise ValueError(f"{where}: {name}={value!r} is not supported by langadapt (only {name}={accepted!r})")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(k for k in config if k not in known and k not in IGNORED_FIELDS)
        if unknown:
            raise ValueError(f"{where}: unknown adapter config fields {unknown}")
        return cls(**{k: v for k, v in config.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_adapters_dict(self) -> dict[str, Any]:
        """The config as the `adapters` library (1.3.0) writes it: every ``BnConfig`` field, sorted."""
        out = {**self.to_dict(), **UNSUPPORTED_DEFAULTS, **PHM_DEFAULTS}
        out.pop("zero_init_up_projection")  # only an initialisation choice: nothing to carry over
        return dict(sorted(out.items()))

    # --- shapes ----------------------------------------------------------------------------------------------
    def layer_reduction_factor(self, layer_index: int) -> float:
        if not isinstance(self.reduction_factor, Mapping):
            return self.reduction_factor
        if str(layer_index) in self.reduction_factor:
            return self.reduction_factor[str(layer_index)]
        if "default" in self.reduction_factor:
            return self.reduction_factor["default"]
        raise ValueError(f"reduction_factor: no entry for layer {layer_index} and no 'default'")

    def bottleneck_size(self, hidden_size: int, layer_index: int) -> int:
        return int(hidden_size // self.layer_reduction_factor(layer_index))

    def adapter_layers(self, num_layers: int) -> list[int]:
        return [i for i in range(num_layers) if i not in self.leave_out]

    def validate_for(self, model_config) -> None:
        """Raise a ValueError naming the field and both values when this config does not fit ``model_config``."""
        hidden, layers = model_config.hidden_size, model_config.num_hidden_layers
        bad = [i for i in self.leave_out if not 0 <= i < layers]
        if bad:
            raise ValueError(f"leave_out: layer indices {bad} do not exist; the model has num_hidden_layers={layers}"
                             f" (valid 0..{layers - 1})")  # fmt: skip
        if isinstance(self.reduction_factor, Mapping):
            bad = [k for k in self.reduction_factor if k != "default" and not 0 <= int(k) < layers]
            if bad:
                raise ValueError(f"reduction_factor: layer keys {bad} do not exist (num_hidden_layers={layers})")
        for index in self.adapter_layers(layers):
            factor = self.layer_reduction_factor(index)
            if (hidden / factor) != int(hidden / factor) or hidden // factor < 1:
                raise ValueError(f"reduction_factor={factor} does not divide the model's hidden_size={hidden}"
                                 f" (layer {index})")  # fmt: skip
        if self.inv_adapter is not None:
            embedding = getattr(model_config, "embedding_size", hidden)
            half, factor = embedding // 2, self.inv_adapter_reduction_factor
            if embedding % 2 or (half / factor) != int(half / factor) or half // factor < 1:
                raise ValueError(f"inv_adapter_reduction_factor={factor} does not divide half the model's "
                                 f"hidden_size={embedding} (NICE splits it in two halves)")  # fmt: skip


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def count_adapter_parameters(config: BottleneckConfig, hidden_size: int, num_layers: int) -> dict[str, int]:
    """Analytic parameter count: {"bottleneck": all layers' adapters, "invertible": the NICE block, "total"}."""
    locations = int(config.output_adapter) + int(config.mh_adapter)
    bottleneck = 0
    for index in config.adapter_layers(num_layers):
        size = config.bottleneck_size(hidden_size, index)
        per_location = (hidden_size * size + size) + (size * hidden_size + hidden_size)
        per_location += 2 * hidden_size * (int(config.ln_before) + int(config.ln_after))
        per_location += {"learned": 1, "channel": hidden_size}.get(config.scaling, 0)
        bottleneck += locations * per_location
    invertible = 0
    if config.inv_adapter == "nice":
        first, second = hidden_size // 2, hidden_size - hidden_size // 2
        for source, target in ((second, first), (first, second)):  # F: second half → first; G: first → second
            inner = int(source // config.inv_adapter_reduction_factor)
            invertible += source * inner + inner + inner * target + target
    return {"bottleneck": bottleneck, "invertible": invertible, "total": bottleneck + invertible}


def adapter_forward_flops(config: BottleneckConfig, hidden_size: int, num_layers: int) -> dict[str, float]:
    """Forward matmul FLOPs (2 per multiply-add, as in `langadapt.lapt.flops`) the adapter adds:
    {"per_token": bottlenecks + the NICE forward on every position, "per_projected": the NICE inverse on each
    position that reaches the LM decoder}."""
    params = count_adapter_parameters(config, hidden_size, num_layers)
    # A Linear(n, m) applied to one position costs 2·n·m FLOPs; biases and norms are left out, as for the body.
    locations = int(config.output_adapter) + int(config.mh_adapter)
    bottleneck = sum(
        locations * 2 * 2 * hidden_size * config.bottleneck_size(hidden_size, i)
        for i in config.adapter_layers(num_layers)
    )
    invertible = 0.0
    if params["invertible"]:
        first, second = hidden_size // 2, hidden_size - hidden_size // 2
        for source, target in ((second, first), (first, second)):
            inner = int(source // config.inv_adapter_reduction_factor)
            invertible += 2 * (source * inner + inner * target)
    return {"per_token": float(bottleneck + invertible), "per_projected": float(invertible)}
