"""Vocabulary replacement end to end: plan the new rows, build the new model, record provenance, save."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path
from typing import Any

from transformers import PreTrainedModel

from ..io_utils import atomic_directory, write_json
from ..layout import PROVENANCE_FILE
from ..models import known_hub_id
from .args import InitOptions
from .methods import InitContext, build_plan
from .provenance import build_provenance
from .surgery import build_target_model, source_has_mlm_head, with_mlm_head

logger = logging.getLogger(__name__)

# source tokenizers know their model's maximum length; a freshly trained one often does not
VERY_LARGE_LENGTH = int(1e20)


def replace_vocabulary(
    source_model: PreTrainedModel,
    source_tokenizer: Any,
    target_tokenizer: Any,
    options: InitOptions | None = None,
    *,
    source_name: str = "",
    target_name: str = "",
    fasttext_model: Any = None,
) -> tuple[PreTrainedModel, dict[str, Any]]:
    """(new masked LM with the target vocabulary, provenance dict); the source model is left unchanged."""
    options = options or InitOptions()
    had_head = source_has_mlm_head(source_model)
    masked_lm = with_mlm_head(source_model, options.seed)
    config = masked_lm.config
    context = InitContext(
        source_tokenizer,
        target_tokenizer,
        options,
        initializer_range=getattr(config, "initializer_range", 0.02),
        source_rows=masked_lm.get_input_embeddings().weight.shape[0],
    )
    if fasttext_model is not None:
        context.fasttext = fasttext_model
    plan = build_plan(context, options.init_spec)
    logger.info("init plan: %s", plan.counts())
    target = build_target_model(masked_lm, plan, target_tokenizer, options.seed, options.random_bias)
    source_name = source_name or getattr(config, "_name_or_path", "")
    provenance = build_provenance(
        context,
        plan,
        masked_lm.get_input_embeddings().weight.detach(),
        target.get_input_embeddings().weight.detach(),
        source_model=source_name,
        source_hub_id=known_hub_id(source_name),  # carried on: LAPT's model card names it as the base model
        target_tokenizer=target_name or getattr(target_tokenizer, "name_or_path", ""),
        init_spec=options.init_spec,
        source_had_mlm_head=had_head,
        options=dataclasses.asdict(options),
    )
    return target, provenance


def save_replaced_model(
    output_dir: str | Path,
    model: PreTrainedModel,
    tokenizer: Any,
    provenance: dict[str, Any],
    *,
    overwrite: bool = False,
    model_max_length: int | None = None,
    tokenizer_dir: str | Path | None = None,
) -> Path:
    """Write model, tokenizer and ``langadapt_provenance.json`` atomically (refuses a non-empty dir without overwrite)."""
    if model_max_length and getattr(tokenizer, "model_max_length", VERY_LARGE_LENGTH) >= VERY_LARGE_LENGTH:
        tokenizer.model_max_length = model_max_length
    with atomic_directory(output_dir, overwrite=overwrite) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if tokenizer_dir is not None and Path(tokenizer_dir).is_dir():
            # save_pretrained of a fast tokenizer drops the SentencePiece model; keep it for slow/spm users
            for piece_model in Path(tokenizer_dir).glob("*.model"):
                if not (Path(tmp) / piece_model.name).exists():
                    shutil.copyfile(piece_model, Path(tmp) / piece_model.name)
        write_json(Path(tmp) / PROVENANCE_FILE, provenance)
    logger.info("wrote %s", output_dir)
    return Path(output_dir)
