"""Word-level encoding: subword windows with a word map, and the collator that batches them.

Each sentence becomes one or more *windows* of at most ``max_length`` subwords (special tokens included). A
sentence too long for one window is split at word boundaries into consecutive windows encoded separately, so no
word is ever dropped; a single word longer than a window keeps only its first subwords. Both cases are counted
(`EncodingStats`) and logged. The word vectors of all windows are pooled back into one sequence per sentence, so
the parser still scores heads across windows; the root (word 0) is the first window's ``<s>``/CLS vector.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence

import torch
from torch.utils.data import Dataset

from .conllu import Sentence

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100


@dataclasses.dataclass
class EncodedSentence:
    """Subword windows of one sentence; ``slots[w][t]`` is the word (1-based, 0 = root) of token t, or -1."""

    windows: list[list[int]]
    slots: list[list[int]]
    n_words: int
    labels: list[int]
    heads: list[int]
    rels: list[int]


@dataclasses.dataclass
class EncodingStats:
    """What the encoder had to do to fit sentences into windows (reported in results JSONs)."""

    sentences: int = 0
    words: int = 0
    windowed_sentences: int = 0  # sentences split over several windows
    truncated_words: int = 0  # words longer than a window (only their first subwords are used)
    empty_words: int = 0  # words the tokenizer turned into no subword (encoded as <unk>)
    unknown_labels: int = 0  # gold labels absent from the training label set (never predictable)


def encode_sentences(
    sentences: Sequence[Sentence],
    tokenizer,
    max_length: int,
    label2id: Mapping[str, int] | None,
    rel2id: Mapping[str, int] | None = None,
    pooling: str = "mean",
    name: str = "data",
) -> tuple[list[EncodedSentence], EncodingStats]:
    """Tokenize words and pack them into windows; tags/relations map to ids (unknown → ignored, counted)."""
    if pooling not in ("mean", "first"):
        raise ValueError(f"pooling must be 'mean' or 'first', got {pooling!r}")
    if max_length < 3:
        raise ValueError(f"max_length must be at least 3, got {max_length}")
    cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    budget = max_length - 2
    stats = EncodingStats()
    encoded_all = tokenizer([s.words for s in sentences], is_split_into_words=True, add_special_tokens=False)
    result = []
    for index, sentence in enumerate(sentences):
        pieces: list[list[int]] = [[] for _ in sentence.words]
        for token_id, word in zip(encoded_all["input_ids"][index], encoded_all.word_ids(index)):
            if word is not None:
                pieces[word].append(token_id)
        windows, slots = [[cls_id]], [[0]]
        for word_index, word_pieces in enumerate(pieces):
            if not word_pieces:
                stats.empty_words += 1
                word_pieces = [tokenizer.unk_token_id]
            if len(word_pieces) > budget:
                stats.truncated_words += 1
                word_pieces = word_pieces[:budget]
            if len(windows[-1]) - 1 + len(word_pieces) > budget:
                windows.append([cls_id])
                slots.append([-1])
            slot = word_index + 1
            windows[-1].extend(word_pieces)
            slots[-1].extend([slot] + [slot if pooling == "mean" else -1] * (len(word_pieces) - 1))
        for window, slot in zip(windows, slots):
            window.append(sep_id)
            slot.append(-1)
        stats.sentences += 1
        stats.words += len(sentence.words)
        stats.windowed_sentences += len(windows) > 1
        labels = []
        if label2id is not None:
            for tag in sentence.tags:
                labels.append(label2id.get(tag, IGNORE_INDEX))
                stats.unknown_labels += tag not in label2id
        heads = list(sentence.heads) if rel2id is not None else []
        rels = []
        if rel2id is not None:
            for rel in sentence.deprels:
                rels.append(rel2id.get(rel, IGNORE_INDEX))
                stats.unknown_labels += rel not in rel2id
        result.append(EncodedSentence(windows, slots, len(sentence.words), labels, heads, rels))
    if stats.windowed_sentences or stats.truncated_words or stats.empty_words or stats.unknown_labels:
        logger.warning("%s: %s", name, stats)
    return result, stats


def max_window_length(encoder) -> int | None:
    """Tokens per window (special tokens included) the encoder's absolute position embeddings can take; RoBERTa/
    XLM-R count positions from ``padding_idx + 1`` (514 embeddings, pad id 1: 512). None: no such table."""
    embeddings = getattr(encoder, "embeddings", None)
    positions = getattr(embeddings, "position_embeddings", None)
    if not isinstance(positions, torch.nn.Embedding):
        return None  # relative or rotary positions: no fixed limit here
    padding_idx = getattr(embeddings, "padding_idx", None)
    return positions.num_embeddings - (0 if padding_idx is None else padding_idx + 1)


def fit_window_length(encoder, requested: int, log: bool = True) -> int:
    """``requested`` (``max_length``) capped at `max_window_length`: a longer window would index past the position
    embeddings and crash the forward pass. Longer texts are then split into more windows."""
    limit = max_window_length(encoder)
    if limit is None or requested <= limit:
        return requested
    if log:
        logger.warning(
            "max_length %d exceeds the %d tokens this model's %d position embeddings take: windows capped at %d",
            requested,
            limit,
            encoder.embeddings.position_embeddings.num_embeddings,
            limit,
        )
    return limit


class WordDataset(Dataset):
    """A list of encoded sentences (kept in order: predictions come back in dataset order)."""

    def __init__(self, items: Sequence[EncodedSentence]):
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> EncodedSentence:
        return self.items[index]


@dataclasses.dataclass
class WordCollator:
    """Batch sentences: all windows stacked as rows, ``token_word`` mapping tokens to flat word slots."""

    pad_token_id: int

    def __call__(self, features: Sequence[EncodedSentence]) -> dict[str, torch.Tensor]:
        n_sent = len(features)
        n_words = max(f.n_words for f in features)
        rows = [(i, w, s) for i, f in enumerate(features) for w, s in zip(f.windows, f.slots)]
        width = max(len(w) for _, w, _ in rows)
        input_ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        token_word = torch.full((len(rows), width), -1, dtype=torch.long)
        for r, (i, window, slot) in enumerate(rows):
            input_ids[r, : len(window)] = torch.tensor(window)
            attention_mask[r, : len(window)] = 1
            slot_t = torch.tensor(slot)
            token_word[r, : len(slot)] = torch.where(slot_t >= 0, slot_t + i * (n_words + 1), -1)
        word_mask = torch.zeros((n_sent, n_words), dtype=torch.bool)
        batch = {"input_ids": input_ids, "attention_mask": attention_mask, "token_word": token_word}
        for key in ("labels", "heads", "rels"):
            if getattr(features[0], key):
                batch[key] = torch.full((n_sent, n_words), IGNORE_INDEX, dtype=torch.long)
        for i, f in enumerate(features):
            word_mask[i, : f.n_words] = True
            for key in ("labels", "heads", "rels"):
                if key in batch:
                    values = torch.tensor(getattr(f, key), dtype=torch.long)
                    batch[key][i, : f.n_words] = torch.where(values >= 0, values, IGNORE_INDEX)
        batch["word_mask"] = word_mask
        return batch
