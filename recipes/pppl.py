"""Pseudo-perplexity of a masked LM on held-out text ([KG]): Salazar et al. PLL and Kauf & Ivanova's within_word_l2r.

Usage:
    python recipes/pppl.py recipes/configs/kg/pppl.yaml --model_name_or_path runs/lapt_full_myv_sme/best

    python recipes/pppl.py --model_name_or_path runs/lapt_full_myv_sme/best --texts myv=runs/uralic/data/myv/dev.txt \
        --variants original within_word_l2r --batch_size 256 --output_dir runs/kg/pppl

Each (model, language, variant) writes ``OUTPUT_DIR/MODEL/pppl/VARIANT/LANG/results.json`` (token-level PPPL,
word-normalised PPPL exp(-ΣPLL/#words), bits per character, counts) and ``sentence_plls.tsv``; a rerun skips
units whose results JSON exists. ``recipes/report.py`` aggregates them. Compare vocabularies by the word-level
PPPL or bits per character: token-level PPPL depends on how many tokens the vocabulary cuts a text into.
"""

from __future__ import annotations

import logging

from langadapt import LangadaptParser, setup_logging
from langadapt.evaluation import PPPLArguments, run_pseudo_perplexity

logger = logging.getLogger("langadapt")


def main(args: PPPLArguments):
    setup_logging(logging.INFO)
    logger.info("Pseudo-perplexity of %s on %s (%s)", args.model_name_or_path, args.texts, args.variants)
    paths = run_pseudo_perplexity(args)
    logger.info("%d results JSONs under %s", sum(p.is_file() for p in paths), args.output_dir)
    return paths


def make_parser() -> LangadaptParser:
    return LangadaptParser(PPPLArguments)


if __name__ == "__main__":
    main(*make_parser().parse())
