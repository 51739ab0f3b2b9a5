"""Replace a masked LM's vocabulary with a new tokenizer's, re-initialising the embeddings.

Usage:
    python recipes/replace_vocab.py recipes/configs/uralic/replace_vocab_script_posn_ident.yaml

The config reads the tokenizer of ``train_tokenizer_16k.yaml`` (``runs/tok16k_myv_sme``) and writes
``runs/xlmr_myv_sme_script_posn_ident``, which ``lapt_full.yaml`` reads; the methods and their defaults are
explained in docs/methods.md#embedding-initialisation and docs/vocab.md.

(no training here, so plain ``python``; ``accelerate launch recipes/replace_vocab.py ...`` works the same.)
The output directory holds the new model, the target tokenizer and ``langadapt_provenance.json``; it loads
with ``AutoModelForMaskedLM`` / ``AutoTokenizer`` and can go straight into ``recipes/lapt.py``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from transformers import AutoTokenizer

from langadapt import LangadaptParser, check_output_dir, setup_logging
from langadapt.vocab import (
    InitOptions,
    VocabReplacementArguments,
    load_source_model,
    parse_init_spec,
    replace_vocabulary,
    save_replaced_model,
)

logger = logging.getLogger("langadapt")


def main(args: VocabReplacementArguments, options: InitOptions) -> Path:
    setup_logging(args.log_level)
    # Fail on bad input before loading anything: an existing output dir, an unknown method name.
    check_output_dir(args.output_dir, args.overwrite)
    parse_init_spec(options.init_spec)

    logger.info("loading source model %s and target tokenizer %s", args.model_name_or_path, args.target_tokenizer)
    source_model, source_tokenizer, had_head = load_source_model(args.model_name_or_path, args.source_revision)
    target_tokenizer = AutoTokenizer.from_pretrained(args.target_tokenizer)

    logger.info(
        "replacing the vocabulary: %d → %d tokens with %r",
        len(source_tokenizer),
        len(target_tokenizer),
        options.init_spec,
    )
    model, provenance = replace_vocabulary(
        source_model,
        source_tokenizer,
        target_tokenizer,
        options,
        source_name=args.model_name_or_path,
        target_name=args.target_tokenizer,
    )
    provenance["source_had_mlm_head"] = had_head
    logger.info("rows per method: %s", provenance["summary"]["counts_per_method"])

    return save_replaced_model(
        args.output_dir,
        model,
        target_tokenizer,
        provenance,
        overwrite=args.overwrite,
        model_max_length=source_tokenizer.model_max_length,
        tokenizer_dir=args.target_tokenizer,
    )


def make_parser() -> LangadaptParser:
    return LangadaptParser((VocabReplacementArguments, InitOptions))


if __name__ == "__main__":
    main(*make_parser().parse())
