"""Task models: an encoder, subword→word pooling and a tagger or biaffine parser head; or a text classifier.

Losses are plain cross-entropy on logits (no softmax before `CrossEntropyLoss`: [ES]'s tagger applied one, a
double softmax that flattens the gradients).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .datasets import IGNORE_INDEX
from .mst import decode_greedy, decode_mst

NEG_INF = -1e9


def pool_words(hidden: torch.Tensor, token_word: torch.Tensor, n_sent: int, n_slots: int) -> torch.Tensor:
    """Average the token vectors of each word slot: (rows, T, H) → (n_sent, n_slots, H); slot 0 is the root."""
    flat_hidden = hidden.reshape(-1, hidden.size(-1))
    flat_index = token_word.reshape(-1)
    keep = flat_index >= 0
    index = flat_index[keep]
    sums = flat_hidden.new_zeros((n_sent * n_slots, hidden.size(-1))).index_add_(0, index, flat_hidden[keep])
    counts = flat_hidden.new_zeros(n_sent * n_slots).index_add_(0, index, flat_hidden.new_ones(index.numel()))
    return (sums / counts.clamp(min=1).unsqueeze(-1)).view(n_sent, n_slots, -1)


def o_weighted_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, o_id: int | None) -> torch.Tensor:
    """Mean token cross-entropy where, per batch, the loss of ``O`` tokens is scaled by #non-O / #O when
    #O > #non-O > 0 ([ES]'s NER weighting, which keeps the model from collapsing to all-``O``)."""
    losses = F.cross_entropy(
        logits.reshape(-1, logits.size(-1)), labels.reshape(-1), reduction="none", ignore_index=IGNORE_INDEX
    )
    flat = labels.reshape(-1)
    valid = flat != IGNORE_INDEX
    if not valid.any():
        return losses.sum() * 0.0
    weights = torch.ones_like(losses)
    if o_id is not None:
        is_o = flat == o_id
        n_o = int(is_o.sum())
        n_other = int(valid.sum()) - n_o
        if n_o > n_other > 0:
            weights = torch.where(is_o, torch.full_like(losses, n_other / n_o), weights)
    return (losses * weights)[valid].sum() / valid.sum()


class TaggerHead(nn.Module):
    """A linear tag classifier over word vectors (POS, NER)."""

    def __init__(self, hidden_size: int, num_labels: int, dropout: float = 0.1, o_label_id: int | None = None):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size, num_labels)
        self.o_label_id = o_label_id  # set for NER: enables the O down-weighting

    def forward(self, words: torch.Tensor, word_mask: torch.Tensor, labels: torch.Tensor | None = None, **_):
        logits = self.classifier(self.dropout(words[:, 1:]))
        loss = o_weighted_cross_entropy(logits, labels, self.o_label_id) if labels is not None else None
        return {"loss": loss, "logits": logits}

    @torch.no_grad()
    def decode(self, words: torch.Tensor, word_mask: torch.Tensor, outputs: dict) -> torch.Tensor:
        """Predicted label ids (S, W), IGNORE_INDEX on padding."""
        return outputs["logits"].argmax(-1).masked_fill(~word_mask, IGNORE_INDEX)


class _MLP(nn.Sequential):
    def __init__(self, inputs: int, outputs: int, dropout: float):
        super().__init__(nn.Linear(inputs, outputs), nn.LeakyReLU(0.1), nn.Dropout(dropout))


class BiaffineParserHead(nn.Module):
    """Dozat & Manning (2017): biaffine arc scores over (dependent, head ∈ {root, words}) and a bilinear relation
    classifier on the (gold while training, predicted otherwise) head; decoding by maximum spanning tree."""

    def __init__(
        self,
        hidden_size: int,
        num_relations: int,
        arc_dim: int = 512,
        rel_dim: int = 128,
        dropout: float = 0.33,
        decoding: str = "mst",
    ):
        super().__init__()
        if decoding not in ("mst", "greedy"):
            raise ValueError(f"decoding must be 'mst' or 'greedy', got {decoding!r}")
        self.decoding = decoding
        self.arc_dep, self.arc_head = _MLP(hidden_size, arc_dim, dropout), _MLP(hidden_size, arc_dim, dropout)
        self.rel_dep, self.rel_head = _MLP(hidden_size, rel_dim, dropout), _MLP(hidden_size, rel_dim, dropout)
        self.arc_weight = nn.Parameter(torch.zeros(arc_dim, arc_dim))
        self.arc_head_bias = nn.Linear(arc_dim, 1, bias=False)  # prior of a word being a head
        self.rel_bilinear = nn.Bilinear(rel_dim, rel_dim, num_relations)
        self.rel_linear = nn.Linear(2 * rel_dim, num_relations, bias=False)

    def arc_scores(self, words: torch.Tensor, word_mask: torch.Tensor) -> torch.Tensor:
        """Scores (S, W, W+1): dependent i (word i+1) × head j (0 = root); impossible heads masked."""
        dep, head = self.arc_dep(words[:, 1:]), self.arc_head(words)
        scores = dep @ self.arc_weight @ head.transpose(1, 2) + self.arc_head_bias(head).transpose(1, 2)
        n_words = word_mask.size(1)
        head_ok = torch.cat([word_mask.new_ones(word_mask.size(0), 1), word_mask], dim=1)  # (S, W+1)
        eye = torch.eye(n_words, dtype=torch.bool, device=words.device)
        self_loop = torch.cat([eye.new_zeros(n_words, 1), eye], dim=1)  # dependent i cannot head itself (i+1)
        mask = head_ok.unsqueeze(1) & ~self_loop.unsqueeze(0)
        return scores.masked_fill(~mask, NEG_INF)

    def rel_logits(self, words: torch.Tensor, heads: torch.Tensor) -> torch.Tensor:
        """Relation logits (S, W, R) given heads (S, W) (positions 0..W; padding may hold anything)."""
        dep = self.rel_dep(words[:, 1:])
        head_vectors = self.rel_head(words)
        index = heads.clamp(min=0).unsqueeze(-1).expand(-1, -1, head_vectors.size(-1))
        head = head_vectors.gather(1, index)
        return self.rel_bilinear(dep.contiguous(), head.contiguous()) + self.rel_linear(torch.cat([dep, head], -1))

    def forward(
        self,
        words: torch.Tensor,
        word_mask: torch.Tensor,
        heads: torch.Tensor | None = None,
        rels: torch.Tensor | None = None,
        **_,
    ):
        arcs = self.arc_scores(words, word_mask)
        loss = None
        if heads is not None:
            loss = F.cross_entropy(arcs.reshape(-1, arcs.size(-1)), heads.reshape(-1), ignore_index=IGNORE_INDEX)
            if rels is not None:
                rel = self.rel_logits(words, heads)
                loss = loss + F.cross_entropy(
                    rel.reshape(-1, rel.size(-1)), rels.reshape(-1), ignore_index=IGNORE_INDEX
                )
        return {"loss": loss, "logits": arcs}

    @torch.no_grad()
    def decode(self, words: torch.Tensor, word_mask: torch.Tensor, outputs: dict) -> torch.Tensor:
        """Predicted (head, relation id) per word (S, W, 2); every sentence a tree with one root dependent."""
        log_probs = outputs["logits"].float().log_softmax(-1).cpu().numpy()
        lengths = word_mask.sum(1).tolist()
        heads = torch.full(word_mask.shape, IGNORE_INDEX, dtype=torch.long)
        decode = decode_mst if self.decoding == "mst" else decode_greedy
        for s, n in enumerate(lengths):
            square = np.full((n + 1, n + 1), NEG_INF)
            square[1:] = log_probs[s, :n, : n + 1]
            heads[s, :n] = torch.from_numpy(decode(square)[1:])
        heads = heads.to(words.device)
        rels = self.rel_logits(words, heads).argmax(-1).masked_fill(~word_mask, IGNORE_INDEX)
        return torch.stack([heads, rels], dim=-1)


class WordLevelModel(nn.Module):
    """Encoder + word pooling + a task head; ``forward`` returns a dict with ``loss`` and ``logits``."""

    def __init__(self, encoder: nn.Module, head: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.config = encoder.config  # Trainer and logging read model.config

    def word_vectors(self, input_ids, attention_mask, token_word, word_mask) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return pool_words(hidden, token_word, word_mask.size(0), word_mask.size(1) + 1)

    def forward(self, input_ids, attention_mask, token_word, word_mask, labels=None, heads=None, rels=None):
        words = self.word_vectors(input_ids, attention_mask, token_word, word_mask)
        return self.head(words, word_mask, labels=labels, heads=heads, rels=rels)

    @torch.no_grad()
    def predict(self, input_ids, attention_mask, token_word, word_mask, labels=None, heads=None, rels=None):
        """(loss or None, decoded predictions) in one encoder pass."""
        words = self.word_vectors(input_ids, attention_mask, token_word, word_mask)
        outputs = self.head(words, word_mask, labels=labels, heads=heads, rels=rels)
        return outputs["loss"], self.head.decode(words, word_mask, outputs)


class ClassificationHead(nn.Module):
    """Dropout, dense + tanh, dropout, output layer: the head of Hugging Face's RoBERTa/XLM-R sequence classifiers."""

    def __init__(self, hidden_size: int, num_labels: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.out_proj = nn.Linear(hidden_size, num_labels)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.out_proj(self.dropout(torch.tanh(self.dense(self.dropout(pooled)))))


class SequenceClassifier(nn.Module):
    """Encoder + pooled text vector + `ClassificationHead`. ``pooling``: ``mean`` over the text's tokens (special
    tokens included, padding not) or ``first`` (the ``<s>``/CLS vector, as ``AutoModelForSequenceClassification``)."""

    def __init__(self, encoder: nn.Module, num_labels: int, pooling: str = "mean", dropout: float = 0.1):
        super().__init__()
        if pooling not in ("mean", "first"):
            raise ValueError(f"pooling must be 'mean' or 'first', got {pooling!r}")
        self.encoder = encoder
        self.head = ClassificationHead(encoder.config.hidden_size, num_labels, dropout)
        self.pooling = pooling
        self.config = encoder.config  # Trainer and logging read model.config

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "first":
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)

    def forward(self, input_ids, attention_mask, labels=None):
        logits = self.head(self.pooled(input_ids, attention_mask))
        loss = None
        if labels is not None:  # a batch of only unknown labels gives 0, not NaN
            valid = labels != IGNORE_INDEX
            loss = F.cross_entropy(logits[valid], labels[valid]) if valid.any() else logits.sum() * 0.0
        return {"loss": loss, "logits": logits}

    @torch.no_grad()
    def predict(self, input_ids, attention_mask, labels=None):
        """(loss or None, predicted label ids)."""
        outputs = self.forward(input_ids, attention_mask, labels)
        return outputs["loss"], outputs["logits"].argmax(-1)
