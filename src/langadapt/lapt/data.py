"""α-mixed MLM data: a seekable streaming training set, a fixed dev set and a padding collator.

Masking (the BERT 80/10/10 rule) is done per example with a generator seeded by (seed, draw index), not in
the collator: example k is then the same whichever process produces it, so a run on 2 processes, a resumed run
and an uninterrupted single-process run all see identical global batches.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset

from langadapt.data.sampling import AlphaSampler

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100


def mask_tokens(
    input_ids: Sequence[int],
    special_tokens_mask: Sequence[int],
    mask_token_id: int,
    vocab_size: int,
    mlm_probability: float,
    rng: np.random.Generator,
) -> tuple[list[int], list[int]]:
    """Choose `mlm_probability` of the non-special positions as targets; of those 80% → mask, 10% → random, 10% kept."""
    ids = np.asarray(input_ids, dtype=np.int64)
    special = np.asarray(special_tokens_mask, dtype=bool)
    chosen = (rng.random(len(ids)) < mlm_probability) & ~special
    labels = np.where(chosen, ids, IGNORE_INDEX)
    action = rng.random(len(ids))  # < 0.8: mask; 0.8–0.9: random token; ≥ 0.9: unchanged
    random_tokens = rng.integers(0, vocab_size, size=len(ids))
    masked = ids.copy()
    masked[chosen & (action < 0.8)] = mask_token_id
    replace = chosen & (action >= 0.8) & (action < 0.9)
    masked[replace] = random_tokens[replace]
    return masked.tolist(), labels.tolist()


class MLMExampleMaker:
    """Tokenize one line and mask it reproducibly from (seed, draw index)."""

    def __init__(self, tokenizer, max_seq_length: int, mlm_probability: float, seed: int):
        if tokenizer.mask_token_id is None:
            raise ValueError("the tokenizer has no mask token; MLM needs one")
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.mlm_probability = mlm_probability
        self.seed = seed
        self.vocab_size = len(tokenizer)

    def __call__(self, line: str, draw_index: int, corpus: str) -> dict[str, Any]:
        encoded = self.tokenizer(
            line, truncation=True, max_length=self.max_seq_length, return_special_tokens_mask=True
        )
        rng = np.random.default_rng([self.seed, draw_index])
        input_ids, labels = mask_tokens(
            encoded["input_ids"],
            encoded["special_tokens_mask"],
            self.tokenizer.mask_token_id,
            self.vocab_size,
            self.mlm_probability,
            rng,
        )
        return {"input_ids": input_ids, "labels": labels, "draw_index": draw_index, "corpus": corpus}

    def make_batch(
        self, lines: Sequence[str], draw_indices: Sequence[int], corpora: Sequence[str]
    ) -> list[dict[str, Any]]:
        """The examples ``__call__`` makes, line by line, from one tokenizer call and one vectorised masking pass
        (several times faster). Each draw's random numbers still come from its own (seed, draw index) generator,
        in the order ``mask_tokens`` takes them, so the examples are identical."""
        encoded = self.tokenizer(
            list(lines), truncation=True, max_length=self.max_seq_length, return_special_tokens_mask=True
        )
        lengths = [len(ids) for ids in encoded["input_ids"]]
        total = sum(lengths)
        ids = np.fromiter(itertools.chain.from_iterable(encoded["input_ids"]), dtype=np.int64, count=total)
        special = np.fromiter(itertools.chain.from_iterable(encoded["special_tokens_mask"]), dtype=bool, count=total)
        chosen_draw, action, random_tokens = np.empty(total), np.empty(total), np.empty(total, dtype=np.int64)
        start = 0
        for n, draw_index in zip(lengths, draw_indices):
            rng = np.random.default_rng([self.seed, draw_index])
            chosen_draw[start : start + n] = rng.random(n)
            action[start : start + n] = rng.random(n)
            random_tokens[start : start + n] = rng.integers(0, self.vocab_size, size=n)
            start += n
        chosen = (chosen_draw < self.mlm_probability) & ~special
        labels = np.where(chosen, ids, IGNORE_INDEX)
        masked = ids.copy()
        masked[chosen & (action < 0.8)] = self.tokenizer.mask_token_id
        replace = chosen & (action >= 0.8) & (action < 0.9)
        masked[replace] = random_tokens[replace]
        bounds = np.cumsum(lengths)[:-1]
        return [
            {"input_ids": m.tolist(), "labels": lab.tolist(), "draw_index": int(d), "corpus": c}
            for m, lab, d, c in zip(np.split(masked, bounds), np.split(labels, bounds), draw_indices, corpora)
        ]


class StreamingMLMDataset(IterableDataset):
    """Endless α-sampled training examples from draw `start_draw` on, tokenized on the fly.

    The data order is the sampler's draw order. With ``world`` processes of micro-batch ``B``, micro-batch round m
    covers draws ``[m·w·B, (m+1)·w·B)`` and rank r takes the r-th slice of B draws: the global batch of an optimizer
    step is the same set of draws however it is split over processes and gradient accumulation, so multi-process
    and single-process runs (and resumed runs, after `seek(global_step · global_batch)`) see the same data.
    """

    def __init__(
        self, sampler: AlphaSampler, maker: MLMExampleMaker, start_draw: int = 0, encode_batch_size: int | None = None
    ):
        self.sampler = sampler
        self.maker = maker
        self.start_draw = start_draw
        # Lines tokenized per call: None = a whole micro-batch (fast); 1 = one line at a time (the old path, kept
        # for benchmarks). The examples are the same either way.
        self.encode_batch_size = encode_batch_size
        self.rank, self.world, self.micro_batch = 0, 1, 1

    def seek(self, draw_index: int) -> None:
        self.start_draw = int(draw_index)

    def shard(self, rank: int, world: int, micro_batch: int) -> None:
        """Make this dataset yield rank ``rank``'s share of each round of ``world × micro_batch`` draws."""
        if not 0 <= rank < world or micro_batch < 1:
            raise ValueError(f"bad shard rank={rank} world={world} micro_batch={micro_batch}")
        self.rank, self.world, self.micro_batch = rank, world, micro_batch

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = torch.utils.data.get_worker_info()
        if info is not None and info.num_workers > 1:
            # Workers would each batch their own share of the draws and change the global batches' contents.
            raise ValueError("StreamingMLMDataset needs dataloader_num_workers=0 (draw order defines the batches)")
        round_size = self.world * self.micro_batch
        first = self.start_draw + self.rank * self.micro_batch
        chunk = self.encode_batch_size or self.micro_batch
        for round_start in itertools.count(first, round_size):
            stop = round_start + self.micro_batch
            if chunk == 1:  # one tokenizer call per line
                for draw, (corpus, line) in enumerate(self.sampler.iter_lines(round_start, stop), start=round_start):
                    yield self.maker(line, draw, corpus)
                continue
            for start in range(round_start, stop, chunk):
                end = min(start + chunk, stop)
                corpora, lines = zip(*self.sampler.iter_lines(start, end))
                yield from self.maker.make_batch(lines, range(start, end), corpora)


class FixedMLMDataset(Dataset):
    """The first `num_draws` draws of a sampler, tokenized and masked once (a dev set that never changes)."""

    def __init__(self, sampler: AlphaSampler, maker: MLMExampleMaker, num_draws: int, encode_batch_size: int = 256):
        self.examples = []
        for start in range(0, num_draws, encode_batch_size):
            stop = min(start + encode_batch_size, num_draws)
            corpora, lines = zip(*sampler.iter_lines(start, stop))
            self.examples.extend(maker.make_batch(lines, range(start, stop), corpora))

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.examples[index]


@dataclass
class MLMCollator:
    """Pad already-masked examples: input_ids with the pad id, labels with -100, plus the attention mask."""

    pad_token_id: int
    pad_to_multiple_of: int | None = 8

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        length = max(len(e["input_ids"]) for e in examples)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        batch = len(examples)
        input_ids = torch.full((batch, length), self.pad_token_id, dtype=torch.long)
        labels = torch.full((batch, length), IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros((batch, length), dtype=torch.long)
        for row, example in enumerate(examples):
            n = len(example["input_ids"])
            input_ids[row, :n] = torch.tensor(example["input_ids"])
            labels[row, :n] = torch.tensor(example["labels"])
            attention_mask[row, :n] = 1
        out = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
        if "draw_index" in examples[0]:
            out["draw_index"] = torch.tensor([e["draw_index"] for e in examples], dtype=torch.long)
        return out
