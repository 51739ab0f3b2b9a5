"""Pseudo-perplexity of a masked LM: Salazar et al. (2020) PLL and Kauf & Ivanova's (2023) ``within_word_l2r``.

A sentence's pseudo-log-likelihood (PLL) sums, over its tokens, log p(token | the sentence with that token masked)
(``original``). Kauf & Ivanova showed that this over-rates words split into several pieces (the later pieces give
the earlier ones away), and mask the target *and the rest of its word* (``within_word_l2r``): for a word split
into ``▁ab|cd|e``, ``▁ab`` is scored with all three masked, ``cd`` with ``cd|e`` masked, ``e`` alone.

Every scored position is one masked copy of the sentence; copies of many positions (and sentences) go through
the model in one batch, and only the target positions go through the output layer. Special tokens (``<s>``,
``</s>``, and any special token written in the text) are never scored; ``<unk>`` is (it is counted). Words are
the tokenizer's words (``word_ids()``, needs a fast tokenizer) for the l2r masking.

Figures, from the summed PLL over all sentences:
    token PPPL   exp(−ΣPLL / #scored tokens)      (not comparable between vocabularies)
    word PPPL    exp(−ΣPLL / #words)              (#words: whitespace-separated words of the text)
    bits/char    −ΣPLL / (ln 2 · #characters)     (#characters: Unicode code points of the stripped lines)
The last two depend on the text only, so they compare a replaced vocabulary with its source's.

A sentence longer than ``max_length`` tokens (special tokens included) is scored in consecutive windows split at
word boundaries, each with its own ``<s>``/``</s>`` (counted as ``windowed_sentences``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from ..data.corpus import LineReader
from .tabular import is_tabular, read_tabular

logger = logging.getLogger(__name__)

PPPL_VARIANTS = ("original", "within_word_l2r")

# Class name → (encoder attribute, head attribute); the head acts position-wise, so only targets are projected.
_HEADS = {
    "XLMRobertaForMaskedLM": ("roberta", "lm_head"),
    "RobertaForMaskedLM": ("roberta", "lm_head"),
    "CamembertForMaskedLM": ("roberta", "lm_head"),
    "BertForMaskedLM": ("bert", "cls"),
}


class PPPLInputError(ValueError):
    """Unusable pseudo-perplexity input (no text, missing column); the message names the source."""


@dataclasses.dataclass
class EncodedText:
    """A sentence's content token ids (no special tokens), the tokenizer word of each, and its size in text."""

    ids: list[int]
    word_of: list[int]
    words: int
    chars: int


def encode_text(tokenizer, text: str) -> EncodedText:
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("pseudo-perplexity needs a fast tokenizer (word_ids() for the within-word masking)")
    encoding = tokenizer(text, add_special_tokens=False)
    word_ids = encoding.word_ids()
    word_of, last = [], -1
    for word in word_ids:  # a token without a word (rare) joins the previous word
        last = word if word is not None else last
        word_of.append(max(last, 0))
    return EncodedText(list(encoding["input_ids"]), word_of, len(text.split()), len(text))


def masking_plan(
    word_of: Sequence[int], variant: str, scored: Sequence[bool] | None = None
) -> list[tuple[int, list[int]]]:
    """(target position, positions to mask) for each scored position of a token sequence."""
    if variant not in PPPL_VARIANTS:
        raise ValueError(f"unknown pseudo-perplexity variant {variant!r}; valid: {', '.join(PPPL_VARIANTS)}")
    plan = []
    for target in range(len(word_of)):
        if scored is not None and not scored[target]:
            continue
        masked = [target]
        if variant == "within_word_l2r":
            after = target + 1
            while after < len(word_of) and word_of[after] == word_of[target]:
                masked.append(after)
                after += 1
        plan.append((target, masked))
    return plan


def split_windows(word_of: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Consecutive [start, end) ranges of at most ``budget`` tokens, cut between words where possible."""
    if len(word_of) <= budget:
        return [(0, len(word_of))]
    windows, start = [], 0
    while start < len(word_of):
        end = min(start + budget, len(word_of))
        if end < len(word_of) and word_of[end] == word_of[end - 1]:  # the cut would split a word
            cut = end
            while cut > start and word_of[cut] == word_of[cut - 1]:
                cut -= 1
            if cut > start:  # else that word alone is longer than the budget: it is cut
                end = cut
        windows.append((start, end))
        start = end
    return windows


@dataclasses.dataclass
class PPPLStats:
    """Sums over the scored sentences and the figures derived from them."""

    sentences: int = 0
    tokens: int = 0  # scored tokens
    words: int = 0
    chars: int = 0
    pll_sum: float = 0.0
    unk_tokens: int = 0
    special_tokens_in_text: int = 0  # special tokens written in the text: kept as context, never scored
    windowed_sentences: int = 0

    def metrics(self) -> dict[str, float]:
        nll = -self.pll_sum
        return {
            "pppl_token": math.exp(nll / self.tokens) if self.tokens else float("nan"),
            "pppl_word": math.exp(nll / self.words) if self.words else float("nan"),
            "bits_per_char": nll / (math.log(2) * self.chars) if self.chars else float("nan"),
            "pll_sum": self.pll_sum,
            "tokens": self.tokens,
            "words": self.words,
            "chars": self.chars,
            "sentences": self.sentences,
            "unk_tokens": self.unk_tokens,
            "special_tokens_in_text": self.special_tokens_in_text,
            "windowed_sentences": self.windowed_sentences,
        }


@torch.no_grad()
def _target_log_probs(model, input_ids, attention_mask, rows, columns, targets) -> torch.Tensor:
    names = _HEADS.get(type(model).__name__)
    if names is not None:
        hidden = getattr(model, names[0])(input_ids=input_ids, attention_mask=attention_mask)[0]
        logits = getattr(model, names[1])(hidden[rows, columns])
    else:  # any other *ForMaskedLM: the stock head on every position (same numbers, more work)
        logits = model(input_ids=input_ids, attention_mask=attention_mask).logits[rows, columns]
    return logits.float().log_softmax(-1).gather(1, targets.unsqueeze(1)).squeeze(1)


def sentence_plls(
    model,
    tokenizer,
    texts: Sequence[str],
    variant: str = "original",
    batch_size: int = 128,
    max_length: int = 256,
) -> tuple[list[float], PPPLStats]:
    """The PLL of every text and the totals; ``batch_size`` masked copies per forward pass."""
    if max_length < 3:
        raise ValueError(f"max_length must be at least 3, got {max_length}")
    cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    mask_id, pad_id = tokenizer.mask_token_id, tokenizer.pad_token_id
    if mask_id is None or cls_id is None or sep_id is None:
        raise ValueError("the tokenizer needs mask, cls/bos and sep/eos tokens for pseudo-perplexity")
    never_scored = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}
    stats = PPPLStats()
    plls = [0.0] * len(texts)
    device = next(model.parameters()).device
    model.eval()

    def copies() -> Iterator[tuple[int, list[int], list[int], int]]:
        for index, text in enumerate(texts):
            encoded = encode_text(tokenizer, text)
            stats.sentences += 1
            stats.words += encoded.words
            stats.chars += encoded.chars
            windows = split_windows(encoded.word_of, max_length - 2)
            stats.windowed_sentences += len(windows) > 1
            for start, end in windows:
                ids = encoded.ids[start:end]
                scored = [i not in never_scored for i in ids]
                stats.special_tokens_in_text += scored.count(False)
                stats.unk_tokens += sum(i == tokenizer.unk_token_id for i in ids)
                sequence = [cls_id, *ids, sep_id]
                for target, masked in masking_plan(encoded.word_of[start:end], variant, scored):
                    stats.tokens += 1
                    yield index, sequence, [m + 1 for m in masked], target + 1

    def run(batch) -> None:
        width = max(len(sequence) for _, sequence, _, _ in batch)
        input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
        columns, targets = [], []
        for row, (_, sequence, masked, target) in enumerate(batch):
            input_ids[row, : len(sequence)] = torch.tensor(sequence)
            attention_mask[row, : len(sequence)] = 1
            input_ids[row, masked] = mask_id
            columns.append(target)
            targets.append(sequence[target])
        log_probs = _target_log_probs(
            model,
            input_ids.to(device),
            attention_mask.to(device),
            torch.arange(len(batch), device=device),
            torch.tensor(columns, device=device),
            torch.tensor(targets, device=device),
        ).tolist()
        for (index, _, _, _), value in zip(batch, log_probs):
            plls[index] += value

    batch = []
    for copy in copies():
        batch.append(copy)
        if len(batch) == batch_size:
            run(batch)
            batch = []
    if batch:
        run(batch)
    stats.pll_sum = float(sum(plls))
    return plls, stats


def read_texts(source: str, text_column: str = "text") -> list[str]:
    """The non-blank texts of a source: a .tsv/.csv file's ``text_column``, a text file (one per line, .gz ok)
    or a Hub dataset ``hf:ID?config=..&split=..&column=..``."""
    if is_tabular(source):
        texts = [row[text_column].strip() for _, row in read_tabular(source, [text_column])]
        texts = [t for t in texts if t]
    else:
        try:
            texts = list(LineReader(source))
        except ValueError as err:  # CorpusError: missing or empty file, undecodable bytes
            raise PPPLInputError(f"no text to score: {err}") from err
    if not texts:
        raise PPPLInputError(f"{source}: no non-blank text to score")
    return texts


def load_masked_lm(model_name_or_path: str):
    """(masked LM, tokenizer) from a Hub id, a local/LAPT checkpoint, or a PEFT adapter dir: a LAPT adapter output
    is loaded the way LAPT itself loads it (`load_merged_lapt_adapter`: its trained embeddings and head restored,
    the adapter merged into the base model its ``adapter_config.json`` names)."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from ..lapt.modes import is_adapter_dir, load_merged_lapt_adapter

    path = Path(model_name_or_path)
    if is_adapter_dir(path):
        model = load_merged_lapt_adapter(path)
        tokenizer_path = path if (path / "tokenizer_config.json").is_file() else model.name_or_path
        return model, AutoTokenizer.from_pretrained(tokenizer_path)
    return AutoModelForMaskedLM.from_pretrained(model_name_or_path), AutoTokenizer.from_pretrained(model_name_or_path)


__all__ = [
    "PPPL_VARIANTS",
    "EncodedText",
    "PPPLInputError",
    "PPPLStats",
    "encode_text",
    "load_masked_lm",
    "masking_plan",
    "read_texts",
    "sentence_plls",
    "split_windows",
]
