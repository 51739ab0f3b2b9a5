"""Model card of a LAPT run, rendered from the template shipped in the package (`langadapt/templates`)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

TEMPLATE = "model_card.md"


def _template_text() -> str:
    return resources.files("langadapt").joinpath("templates", TEMPLATE).read_text(encoding="utf-8")


def _fmt_flops(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3e}"


def build_model_card(
    results: dict[str, Any],
    provenance: dict[str, Any] | None = None,
    model_name: str = "langadapt-lapt-model",
    eval_results: dict[str, Any] | None = None,
    is_adapter: bool = False,
) -> ModelCard:
    """Fill the template from ``lapt_results.json`` content, the vocabulary-replacement provenance and results."""
    provenance = provenance or {}
    config = results.get("config", {})
    source = provenance.get("source_model") or results.get("model_name_or_path", "unknown")
    languages = sorted(results.get("sampling_probabilities", {}))
    probs = ", ".join(f"{k} {v:.3f}" for k, v in results.get("sampling_probabilities", {}).items()) or "n/a"
    best = results.get("best_dev_loss")
    if eval_results:
        rows = "\n".join(f"| {k} | {v} |" for k, v in eval_results.items())
        results_section = f"## Results\n\n| metric | value |\n|---|---|\n{rows}\n"
    else:
        results_section = ""
    if is_adapter:
        snippet = (
            "from transformers import AutoModelForMaskedLM, AutoTokenizer\n"
            "from langadapt.lapt import load_lapt_adapter\n\n"
            f'base = AutoModelForMaskedLM.from_pretrained("{source}")\n'
            f'model = load_lapt_adapter(base, "{model_name}")  # PEFT adapter (+ trained embeddings)\n'
            f'tokenizer = AutoTokenizer.from_pretrained("{model_name}")'
        )
    else:
        snippet = (
            "from transformers import AutoModelForMaskedLM, AutoTokenizer\n\n"
            f'model = AutoModelForMaskedLM.from_pretrained("{model_name}")\n'
            f'tokenizer = AutoTokenizer.from_pretrained("{model_name}")'
        )
    card_data = ModelCardData(
        language=languages or None,
        license=provenance.get("license"),
        base_model=source if source != "unknown" else None,
        library_name="transformers" if not is_adapter else "peft",
        tags=["langadapt", "lapt", "fill-mask", f"lapt-{config.get('lapt_mode', 'full')}"],
        pipeline_tag="fill-mask",
    )
    wall = results.get("wall_time_s")
    values = {
        "card_data": card_data.to_yaml(),
        "model_name": model_name,
        "source_model": source,
        "source_model_url": f"https://huggingface.co/{source}" if not Path(str(source)).exists() else source,
        "languages_text": ", ".join(languages) or "n/a",
        "vocab_size": provenance.get("vocab_size", results.get("vocab_size", "n/a")),
        "init_spec": provenance.get("init_spec", "none (source vocabulary kept)"),
        "lapt_mode": config.get("lapt_mode", "n/a"),
        "steps": results.get("steps", "n/a"),
        "max_steps": config.get("max_steps", "n/a"),
        "global_batch": results.get("global_batch_size", "n/a"),
        "max_seq_length": config.get("max_seq_length", "n/a"),
        "learning_rate": config.get("learning_rate", "n/a"),
        "lr_scheduler_type": config.get("lr_scheduler_type", "n/a"),
        "alpha": config.get("alpha", "n/a"),
        "train_data": "; ".join(config.get("train_corpora", [])) or "n/a",
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
    path = Path(directory) / "langadapt_provenance.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
