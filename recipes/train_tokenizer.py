"""Train a compact SentencePiece vocabulary on α-sampled target-language text.

Usage:
    python recipes/train_tokenizer.py recipes/configs/uralic/train_tokenizer_16k.yaml [--option value ...]
    python recipes/train_tokenizer.py --corpora myv=runs/data/myv/train.txt sme=runs/data/sme/train.txt \
        --source_tokenizer FacebookAI/xlm-roberta-base --vocab_size 16384 --output_dir runs/tok16k

The output directory loads with ``AutoTokenizer.from_pretrained`` as the source's fast tokenizer class, keeps
the source's special tokens (strings, roles, order: XLM-R ``<s> <pad> </s> <unk>`` = 0..3, ``<mask>`` last),
and holds the SentencePiece ``.model`` plus ``tokenizer_stats.json`` (per corpus: lines used, fertility and
``<unk>`` rate of the new and of the source tokenizer on the same text).
"""

from __future__ import annotations

import json

from langadapt import LangadaptParser, setup_logging
from langadapt.tokenization import STATS_FILE_NAME, TokenizerTrainingArguments, train_tokenizer


def main(args: TokenizerTrainingArguments):
    logger = setup_logging("INFO")
    output_dir = train_tokenizer(args)
    stats = json.loads((output_dir / STATS_FILE_NAME).read_text(encoding="utf-8"))
    for name, corpus in stats["corpora"].items():
        new, source = corpus["new_tokenizer"], corpus["source_tokenizer"]
        logger.info(
            "%s: fertility %.3f (source %.3f), <unk> rate %.4f (source %.4f), %d training lines",
            name,
            new["fertility"],
            source["fertility"],
            new["unk_rate"],
            source["unk_rate"],
            corpus["lines_used_for_training"],
        )
    logger.info("tokenizer (%d tokens) written to %s", stats["vocab_size"], output_dir)
    return output_dir


def make_parser() -> LangadaptParser:
    return LangadaptParser(TokenizerTrainingArguments)


if __name__ == "__main__":
    (tokenizer_args,) = make_parser().parse()
    main(tokenizer_args)
