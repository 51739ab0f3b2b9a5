"""Train a compact SentencePiece vocabulary on α-sampled target-language text.

Usage:
    python recipes/train_tokenizer.py recipes/configs/uralic/train_tokenizer_16k.yaml [--option value ...]
    python recipes/train_tokenizer.py --corpora myv=runs/uralic/data/myv/train.txt sme=runs/uralic/data/sme/train.txt \
        --tokenizer_name_or_path FacebookAI/xlm-roberta-base --vocab_size 16384 --output_dir runs/tok16k_myv_sme

The output directory loads with ``AutoTokenizer.from_pretrained`` as the source's fast tokenizer class, keeps
the source's special tokens (strings, roles, order: XLM-R ``<s> <pad> </s> <unk>`` = 0..3, ``<mask>`` last),
and holds the SentencePiece ``.model`` plus ``tokenizer_stats.json`` (per corpus: lines used, fertility and
``<unk>`` rate of the new and of the source tokenizer on the same text).

Pipeline: parse → logging → refuse a non-empty output_dir (before any work) → the source's special-token layout →
α-sample lines → train SentencePiece → the source's fast tokenizer class on it → statistics against the source →
save (reloaded and checked against SentencePiece before it is moved into place).
"""

from __future__ import annotations

import tempfile

from transformers import AutoTokenizer

from langadapt import LangadaptParser, check_output_dir, setup_logging
from langadapt.data import parse_corpus_specs
from langadapt.tokenization import (
    SpecialTokenLayout,
    TokenizerTrainingArguments,
    build_target_tokenizer,
    compare_with_source,
    sample_training_lines,
    save_tokenizer,
    train_sentencepiece,
)

CHECK_LINES = 200  # sampled lines the saved tokenizer must encode exactly as SentencePiece does


def main(args: TokenizerTrainingArguments):
    logger = setup_logging("INFO")
    check_output_dir(args.output_dir, args.overwrite)
    specs = parse_corpus_specs(args.corpora)
    source_tokenizer = AutoTokenizer.from_pretrained(args.tokenizer_name_or_path)
    layout = SpecialTokenLayout.from_tokenizer(source_tokenizer)
    logger.info("special tokens of the source: head %s, tail %s", layout.head, layout.tail)

    # --- Train: SentencePiece on α-sampled lines (the sample and the corpus indexes live in a scratch dir) -------
    with tempfile.TemporaryDirectory(prefix="langadapt-tok-") as scratch:
        sample = sample_training_lines(specs, args, scratch_dir=scratch)
        logger.info("training SentencePiece %s with %d pieces", args.model_type, args.vocab_size)
        proto = train_sentencepiece(
            sample.path,
            args.vocab_size,
            layout,
            model_type=args.model_type,
            character_coverage=args.character_coverage,
            seed=args.seed,
            num_threads=args.num_threads,
        )
        check_lines = sample.head(CHECK_LINES)
    tokenizer = build_target_tokenizer(proto, layout, source_tokenizer, model_type=args.model_type)

    # --- Measure against the source, then save ---------------------------------------------------------------
    stats = compare_with_source(
        tokenizer, source_tokenizer, args=args, layout=layout, sample=sample, training_specs=specs
    )
    output_dir = save_tokenizer(
        tokenizer, proto, stats, output_dir=args.output_dir, overwrite=args.overwrite, check_lines=check_lines
    )
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
