"""The tokenizer-training steps: α-sample lines, build the source-laid-out fast tokenizer from the trained
SentencePiece model, measure it against the source, and save it (reloaded and checked before it is moved in place).

``recipes/train_tokenizer.py`` runs them in that order, with `train_sentencepiece` between the first two.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from sentencepiece import sentencepiece_model_pb2 as model_pb2
from tqdm.auto import tqdm
from transformers import AutoTokenizer
from transformers.tokenization_utils_base import VERY_LARGE_INTEGER

from ..data import build_sampler, parse_corpus_specs
from ..data.corpus import CorpusSpec, iter_corpus_lines
from ..data.sampling import parse_caps
from ..io_utils import atomic_directory, write_json
from ..layout import SENTENCEPIECE_MODEL_FILE, TOKENIZER_STATS_FILE
from .args import TokenizerTrainingArguments
from .hf_tokenizer import build_hf_tokenizer, verify_against_sentencepiece
from .special_tokens import SpecialTokenLayout
from .stats import tokenization_stats

logger = logging.getLogger(__name__)

SAMPLE_FILE_NAME = "sample.txt"


@dataclasses.dataclass
class SampledLines:
    """The α-sampled training text (a file) and where its lines came from."""

    path: Path
    lines_used: Counter[str]  # lines drawn per corpus
    probabilities: dict[str, float]  # the α-sampling probability of each corpus
    line_counts: dict[str, int]  # lines in each corpus (after its cap)

    def head(self, count: int) -> list[str]:
        with open(self.path, encoding="utf-8") as handle:
            return [line.rstrip("\n") for line in itertools.islice(handle, count)]


def sample_training_lines(
    specs: Sequence[CorpusSpec], args: TokenizerTrainingArguments, *, scratch_dir: str | Path
) -> SampledLines:
    """``--num_sample_lines`` lines drawn with replacement, corpus i with probability ∝ p_i^α (``--corpus_caps`` applied),
    written to ``scratch_dir/sample.txt``; ``scratch_dir`` also holds the corpus indexes."""
    sampler = build_sampler(
        specs, args.alpha, seed=args.seed, caps=parse_caps(args.corpus_caps), cache_dir=scratch_dir, errors=args.errors
    )
    logger.info("sampling probabilities (α=%s): %s", args.alpha, sampler.probabilities)
    path = Path(scratch_dir) / SAMPLE_FILE_NAME
    lines_used: Counter[str] = Counter()
    with open(path, "w", encoding="utf-8") as out:
        for name, line in tqdm(
            sampler.iter_lines(0, args.num_sample_lines),
            total=args.num_sample_lines,
            desc="α-sampling lines",
            unit="line",
        ):
            out.write(line + "\n")
            lines_used[name] += 1
    return SampledLines(path, lines_used, sampler.probabilities, sampler.line_counts)


def build_target_tokenizer(
    proto: model_pb2.ModelProto, layout: SpecialTokenLayout, source_tokenizer, *, model_type: str
):
    """The trained SentencePiece model as the source's fast tokenizer class, with the source's maximum length (the
    model's position limit does not change with the vocabulary)."""
    tokenizer = build_hf_tokenizer(proto, layout, type(source_tokenizer), model_type)
    if source_tokenizer.model_max_length < VERY_LARGE_INTEGER:
        tokenizer.model_max_length = source_tokenizer.model_max_length
    return tokenizer


def compare_with_source(
    tokenizer,
    source_tokenizer,
    *,
    args: TokenizerTrainingArguments,
    layout: SpecialTokenLayout,
    sample: SampledLines,
    training_specs: Sequence[CorpusSpec],
) -> dict:
    """``tokenizer_stats.json``: the settings, the special tokens and, per corpus (``--stats_corpora`` or the
    training corpora; ``--stats_lines`` lines each), fertility and ``<unk>`` rate of the new and the source tokenizer
    on the same text, with the lines the corpus gave to training."""
    stats_specs = parse_corpus_specs(args.stats_corpora) if args.stats_corpora else training_specs
    per_corpus = {}
    for spec in stats_specs:
        lines = list(itertools.islice(iter_corpus_lines(spec, errors=args.errors), args.stats_lines))
        per_corpus[spec.name] = {
            "lines_used_for_training": sample.lines_used.get(spec.name, 0),
            "sampling_probability": sample.probabilities.get(spec.name),
            "corpus_lines": sample.line_counts.get(spec.name),
            "new_tokenizer": tokenization_stats(tokenizer, lines),
            "source_tokenizer": tokenization_stats(source_tokenizer, lines),
        }
    return {
        "source_tokenizer": args.tokenizer_name_or_path,  # the stats file keeps its key
        "vocab_size": len(tokenizer),
        "model_type": args.model_type,
        "alpha": args.alpha,
        "num_sample_lines": args.num_sample_lines,
        "seed": args.seed,
        "special_tokens": {**layout.to_dict(), "ids": layout.ids(len(tokenizer))},
        "corpora": per_corpus,
    }


def save_tokenizer(
    tokenizer,
    proto: model_pb2.ModelProto,
    stats: dict,
    *,
    output_dir: str | Path,
    overwrite: bool,
    check_lines: Sequence[str],
) -> Path:
    """The tokenizer, its SentencePiece model and ``tokenizer_stats.json``, written to a temporary directory that
    becomes ``output_dir`` only after the saved tokenizer, reloaded from disk, encodes ``check_lines`` as
    SentencePiece does (what users load must be what was checked)."""
    with atomic_directory(output_dir, overwrite=overwrite) as tmp_dir:
        tokenizer.save_pretrained(tmp_dir)
        (tmp_dir / SENTENCEPIECE_MODEL_FILE).write_bytes(proto.SerializeToString())
        write_json(tmp_dir / TOKENIZER_STATS_FILE, stats)
        verify_against_sentencepiece(AutoTokenizer.from_pretrained(tmp_dir), proto, check_lines)
    return Path(output_dir)


__all__ = [
    "SampledLines",
    "build_target_tokenizer",
    "sample_training_lines",
    "save_tokenizer",
    "compare_with_source",
]
