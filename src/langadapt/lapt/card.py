"""Model card of a LAPT run, rendered from the template shipped in the package (`langadapt/templates`)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

from ..layout import PROVENANCE_FILE
from ..models import portable_reference
from ..models.hub_ids import looks_like_hub_id

TEMPLATE = "model_card.md"


def _template_text() -> str:
    return resources.files("langadapt").joinpath("templates", TEMPLATE).read_text(encoding="utf-8")


def _fmt_flops(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3e}"


def _mlm_head_text(head: dict[str, Any] | None, is_adapter: bool) -> str:
    """The card's "MLM head" row, from ``lapt_results.json``'s ``mlm_head`` (`apply_train_head`)."""
    if not head:
        return "n/a"
    origin = "new (the base checkpoint has none)" if head.get("missing_from_checkpoint") else "pretrained"
    if head.get("output_projection_trains"):
        return f"{origin}; trained, output projection (tied to the input embeddings) included"
    if not head.get("trains"):
        return f"{origin}; frozen"
    saved = ", saved with the adapter" if is_adapter else ""
    return (f"{origin}; transform and output bias trained ({head.get('trainable_parameters', 0):,} parameters"
            f"{saved}), output projection (tied to the input embeddings) frozen")  # fmt: skip


def _hub_id(results: dict[str, Any], provenance: dict[str, Any]) -> str | None:
    """The Hub id the model descends from: recorded as ``source_hub_id`` by LAPT and vocabulary replacement."""
    recorded = results.get("source_hub_id") or provenance.get("source_hub_id")
    if recorded:
        return recorded
    # Records written before ``source_hub_id`` existed: a source named like a Hub id is taken as one.
    for record, key in ((provenance, "source_model"), (results, "model_name_or_path")):
        name = record.get(key)
        if "source_hub_id" not in record and isinstance(name, str) and looks_like_hub_id(name):
            return name
    return None


def _source_text(hub_id: str | None, source: str | None) -> str:
    """The source model as the card's text names it: the Hub id (linked) when known, else the name of the local
    directory (a path on the machine that trained it means nothing to a reader)."""
    if hub_id:
        return f"[{hub_id}](https://huggingface.co/{hub_id})"
    return f"`{Path(str(source)).name}` (a local model)" if source else "a local model"


def _portable_spec(spec: str) -> str:
    """A corpus spec NAME=SOURCE[,SOURCE...] with its local files as `portable_reference` names them."""
    name, sep, sources = str(spec).partition("=")
    if not sep:
        return portable_reference(name)
    return f"{name}=" + ",".join(s if s.startswith("hf:") else portable_reference(s) for s in sources.split(","))


def _load_snippet(model_name: str, trained_on: str, hub_id: str | None, adapter_library: str | None) -> str:
    """Python that loads the published model. An adapter goes onto the model it was trained on (a replaced
    vocabulary is not the source model: its embeddings have another size), named by Hub id or, for a local
    directory, by a path relative to where the run was started."""
    load_tokenizer = f'tokenizer = AutoTokenizer.from_pretrained("{model_name}")'
    if adapter_library is None:
        return (
            "from transformers import AutoModelForMaskedLM, AutoTokenizer\n\n"
            f'model = AutoModelForMaskedLM.from_pretrained("{model_name}")\n{load_tokenizer}'
        )
    if looks_like_hub_id(trained_on):
        base_comment = "# The model the adapter was trained on."
    else:
        trained_on = portable_reference(trained_on)
        lineage = f" built from {hub_id}" if hub_id else ""
        base_comment = (
            f"# The model the adapter was trained on: a local directory{lineage} (e.g. recipes/replace_vocab.py's "
            "output;\n# its langadapt_provenance.json says how it was made), not on the Hub."
        )
    if adapter_library == "langadapt":
        loader, what = "load_lapt_bottleneck", "bottleneck adapter (cannot be merged)"
    else:
        loader, what = "load_lapt_adapter", "PEFT adapter"
    return (
        "from transformers import AutoModelForMaskedLM, AutoTokenizer\n"
        f"from langadapt.lapt import {loader}\n\n"
        f"{base_comment}\n"
        f'base = AutoModelForMaskedLM.from_pretrained("{trained_on}")\n'
        f'model = {loader}(base, "{model_name}")  # {what} + the trained embeddings and head, if any\n'
        f"{load_tokenizer}"
    )


def build_model_card(
    results: dict[str, Any],
    provenance: dict[str, Any] | None = None,
    model_name: str = "langadapt-lapt-model",
    eval_results: dict[str, Any] | None = None,
    is_adapter: bool = False,
    adapter_library: str = "peft",
) -> ModelCard:
    """Fill the template from ``lapt_results.json`` content, the vocabulary-replacement provenance and results.
    ``adapter_library``: "peft" (lora/ia3) or "langadapt" (seq_bn/seq_bn_inv bottlenecks, which cannot merge)."""
    provenance = provenance or {}
    config = results.get("config", {})
    hub_id = _hub_id(results, provenance)
    source_text = _source_text(hub_id, provenance.get("source_model") or results.get("model_name_or_path"))
    languages = sorted(results.get("sampling_probabilities", {}))
    probs = ", ".join(f"{k} {v:.3f}" for k, v in results.get("sampling_probabilities", {}).items()) or "n/a"
    best = results.get("best_dev_loss")
    if eval_results:
        rows = "\n".join(f"| {k} | {v} |" for k, v in eval_results.items())
        results_section = f"## Results\n\n| metric | value |\n|---|---|\n{rows}\n"
    else:
        results_section = ""
    trained_on = results.get("model_name_or_path") or hub_id or "BASE_MODEL"
    snippet = _load_snippet(model_name, trained_on, hub_id, adapter_library if is_adapter else None)
    card_data = ModelCardData(
        language=languages or None,
        license=provenance.get("license"),
        base_model=hub_id,  # a Hub id or nothing: a local path means nothing to the Hub
        library_name="transformers" if not is_adapter else adapter_library,
        tags=["langadapt", "lapt", "fill-mask", f"lapt-{config.get('lapt_mode', 'full')}"],
        pipeline_tag="fill-mask",
    )
    wall = results.get("wall_time_s")
    values = {
        "card_data": card_data.to_yaml(),
        "model_name": model_name,
        "source_model": source_text,
        "languages_text": ", ".join(languages) or "n/a",
        "vocab_size": provenance.get("vocab_size", results.get("vocab_size", "n/a")),
        "init_spec": provenance.get("init_spec", "none (source vocabulary kept)"),
        "lapt_mode": config.get("lapt_mode", "n/a"),
        "mlm_head": _mlm_head_text(results.get("mlm_head"), is_adapter),
        "steps": results.get("steps", "n/a"),
        "max_steps": config.get("max_steps", "n/a"),
        "global_batch": results.get("global_batch_size", "n/a"),
        "max_seq_length": config.get("max_seq_length", "n/a"),
        "learning_rate": config.get("learning_rate", "n/a"),
        "lr_scheduler_type": config.get("lr_scheduler_type", "n/a"),
        "alpha": config.get("alpha", "n/a"),
        "train_data": "; ".join(_portable_spec(spec) for spec in config.get("train_corpora", [])) or "n/a",
        "probabilities": probs,
        "flops_total": _fmt_flops(results.get("flops", {}).get("total")),
        "best_dev_loss": "n/a" if best is None else f"{best:.4f}",
        "best_step": results.get("best_step", "n/a"),
        "wall_time": "n/a" if wall is None else f"{wall / 3600:.2f} h",
        "results_section": results_section,
        "load_snippet": snippet,
    }
    text = _template_text()
    for key, value in values.items():
        text = text.replace("{{ " + key + " }}", str(value))
    return ModelCard(text)


def read_provenance(directory: str | Path) -> dict[str, Any] | None:
    path = Path(directory) / PROVENANCE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
