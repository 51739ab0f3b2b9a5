"""Train a compact target vocabulary on α-sampled lines and save it as the source's fast tokenizer."""

from __future__ import annotations

import itertools
import logging
import tempfile
from collections import Counter
from pathlib import Path

from tqdm.auto import tqdm
from transformers import AutoTokenizer
from transformers.tokenization_utils_base import VERY_LARGE_INTEGER

from ..data import build_sampler, iter_corpus_lines, parse_caps, parse_corpus_specs
from ..io_utils import atomic_directory, check_output_dir, write_json
from .args import TokenizerTrainingArguments
from .hf_tokenizer import VOCAB_FILE_NAME, build_hf_tokenizer, verify_against_sentencepiece
from .sentencepiece_model import train_sentencepiece
from .special_tokens import SpecialTokenLayout
from .stats import tokenization_stats

logger = logging.getLogger(__name__)

STATS_FILE_NAME = "tokenizer_stats.json"


def train_tokenizer(args: TokenizerTrainingArguments, source_tokenizer=None) -> Path:
    """Run the whole stage; returns the output directory. Nothing is written there unless every step succeeds."""
    check_output_dir(args.output_dir, args.overwrite)
    specs = parse_corpus_specs(args.corpora)
    if source_tokenizer is None:
        source_tokenizer = AutoTokenizer.from_pretrained(args.source_tokenizer)
    layout = SpecialTokenLayout.from_tokenizer(source_tokenizer)
    logger.info("special tokens of the source: head %s, tail %s", layout.head, layout.tail)

    with tempfile.TemporaryDirectory(prefix="langadapt-tok-") as scratch:
        sampler = build_sampler(
            specs, args.alpha, seed=args.seed, caps=parse_caps(args.caps), cache_dir=scratch, errors=args.errors
        )
        logger.info("sampling probabilities (α=%s): %s", args.alpha, sampler.probabilities)
        sample_path = Path(scratch) / "sample.txt"
        lines_used: Counter[str] = Counter()
        with open(sample_path, "w", encoding="utf-8") as out:
            for name, line in tqdm(
                sampler.iter_lines(0, args.num_sample_lines),
                total=args.num_sample_lines,
                desc="α-sampling lines",
                unit="line",
            ):
                out.write(line + "\n")
                lines_used[name] += 1

        logger.info("training SentencePiece %s with %d pieces", args.model_type, args.vocab_size)
        proto = train_sentencepiece(
            sample_path,
            args.vocab_size,
            layout,
            model_type=args.model_type,
            character_coverage=args.character_coverage,
            seed=args.seed,
            num_threads=args.num_threads,
        )
        tokenizer = build_hf_tokenizer(proto, layout, type(source_tokenizer), args.model_type)
        # The model's position limit does not change with the vocabulary: keep the source's maximum length.
        if source_tokenizer.model_max_length < VERY_LARGE_INTEGER:
            tokenizer.model_max_length = source_tokenizer.model_max_length
        with open(sample_path, encoding="utf-8") as handle:
            check_lines = [line.rstrip("\n") for line in itertools.islice(handle, 200)]

        stats_specs = parse_corpus_specs(args.stats_corpora) if args.stats_corpora else specs
        per_corpus = {}
        for spec in stats_specs:
            lines = list(itertools.islice(iter_corpus_lines(spec, errors=args.errors), args.stats_lines))
            per_corpus[spec.name] = {
                "lines_used_for_training": lines_used.get(spec.name, 0),
                "sampling_probability": sampler.probabilities.get(spec.name),
                "corpus_lines": sampler.line_counts.get(spec.name),
                "new_tokenizer": tokenization_stats(tokenizer, lines),
                "source_tokenizer": tokenization_stats(source_tokenizer, lines),
            }
        stats = {
            "source_tokenizer": args.source_tokenizer,
            "vocab_size": len(tokenizer),
            "model_type": args.model_type,
            "alpha": args.alpha,
            "num_sample_lines": args.num_sample_lines,
            "seed": args.seed,
            "special_tokens": {**layout.to_dict(), "ids": layout.ids(len(tokenizer))},
            "corpora": per_corpus,
        }

        with atomic_directory(args.output_dir, overwrite=args.overwrite) as tmp_dir:
            tokenizer.save_pretrained(tmp_dir)
            (tmp_dir / VOCAB_FILE_NAME).write_bytes(proto.SerializeToString())
            write_json(tmp_dir / STATS_FILE_NAME, stats)
            # What users load must be what we checked: reload from disk and compare with SentencePiece.
            reloaded = AutoTokenizer.from_pretrained(tmp_dir)
            verify_against_sentencepiece(reloaded, proto, check_lines)
    logger.info("tokenizer written to %s", args.output_dir)
    return Path(args.output_dir)
