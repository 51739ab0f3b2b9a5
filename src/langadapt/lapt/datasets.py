"""The datasets of one LAPT run, built from its arguments: the α-mixed training stream (positioned for
``--resume``) and the fixed α-mixed dev set (the examples themselves are `langadapt.lapt.data`'s)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from transformers import TrainerState

from ..configs import global_batch_size
from ..data import build_sampler, parse_corpus_specs
from ..data.sampling import AlphaSampler, parse_caps
from .args import LaptArguments, LaptTrainingArguments
from .data import FixedMLMDataset, MLMExampleMaker, StreamingMLMDataset

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class LaptData:
    """The streamed training set, the fixed dev set, and the training mixture's sampler."""

    train: StreamingMLMDataset
    dev: FixedMLMDataset
    train_sampler: AlphaSampler


def build_lapt_datasets(
    tokenizer, lapt_args: LaptArguments, training_args: LaptTrainingArguments, last_checkpoint: str | None
) -> LaptData:
    """An α-mixed training stream (positioned where an uninterrupted run would be after ``last_checkpoint``) and
    a fixed α-mixed dev set of ``dev_draws`` lines."""
    if not lapt_args.train_corpora or not lapt_args.dev_corpora:
        raise ValueError("give --train_corpora and --dev_corpora (NAME=PATH[,PATH...] specs)")
    train_sampler = build_sampler(
        parse_corpus_specs(lapt_args.train_corpora),
        lapt_args.alpha,
        seed=lapt_args.data_seed_train,
        caps=parse_caps(lapt_args.corpus_caps),
        cache_dir=lapt_args.data_cache_dir,
    )
    dev_sampler = build_sampler(
        parse_corpus_specs(lapt_args.dev_corpora),
        lapt_args.alpha,
        seed=lapt_args.data_seed_dev,
        cache_dir=lapt_args.data_cache_dir,
    )
    logger.info("training mixture q: %s", train_sampler.probabilities)

    def examples(seed: int) -> MLMExampleMaker:
        return MLMExampleMaker(tokenizer, lapt_args.max_seq_length, lapt_args.mlm_probability, seed)

    train = StreamingMLMDataset(train_sampler, examples(lapt_args.data_seed_train))
    with training_args.main_process_first(desc="tokenize dev set"):
        dev = FixedMLMDataset(dev_sampler, examples(lapt_args.data_seed_dev), lapt_args.dev_draws)
    if last_checkpoint is not None:  # continue at the draw an uninterrupted run would be at
        done = TrainerState.load_from_json(str(Path(last_checkpoint) / "trainer_state.json")).global_step
        train.seek(done * global_batch_size(training_args))
    return LaptData(train, dev, train_sampler)


__all__ = ["LaptData", "build_lapt_datasets"]
