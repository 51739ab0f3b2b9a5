"""An initialization plan: for every new token id, how its row is made from the source matrix.

A row is either a weighted sum of source rows (a copy is weight 1 on one row; FOCUS and MEAN use several) or
a draw from a normal distribution (a group of source rows gives per-dimension mean and std; a fixed
distribution gives N(mean, std) with scalar parameters). The same plan is applied to every vocabulary-sized
tensor of the source model — input embeddings, an untied output matrix, the MLM output bias — so the output
side follows exactly the same method as the rows. For a 1-D bias a draw becomes the group's mean bias
(fixed distributions: 0 or the source bias mean, see ``random_bias``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

STATS_CHUNK = 65_536  # rows per chunk when accumulating group statistics (bounds the temporary copies)


@dataclass
class RandomGroup:
    """A normal distribution: per-dimension statistics of ``members`` (source ids), or fixed N(mean, std)."""

    name: str
    members: torch.Tensor | None = None
    mean: float = 0.0
    std: float = 1.0


@dataclass
class InitPlan:
    """Which method sets each of ``vocab_size`` new rows, and how; built by the init methods in precedence order."""

    vocab_size: int
    source_vocab_size: int
    methods: list[str | None] = field(init=False)
    details: list[dict[str, Any]] = field(init=False)
    groups: list[RandomGroup] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.methods = [None] * self.vocab_size
        self.details = [{} for _ in range(self.vocab_size)]
        self._combo: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self._samples: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._group_index: dict[str, int] = {}

    # ---- building -------------------------------------------------------------------------------------------
    def free_ids(self) -> torch.Tensor:
        """New ids no method has claimed yet (ascending)."""
        return torch.tensor([i for i, m in enumerate(self.methods) if m is None], dtype=torch.long)

    def is_free(self, token_id: int) -> bool:
        return self.methods[token_id] is None

    def _claim(self, new_ids: list[int], method: str, details: list[dict[str, Any]] | None) -> None:
        for position, token_id in enumerate(new_ids):
            if self.methods[token_id] is not None:
                raise ValueError(f"token id {token_id} already set by {self.methods[token_id]!r}, not by {method!r}")
            self.methods[token_id] = method
            if details is not None:
                self.details[token_id] = details[position]

    def add_combinations(
        self,
        new_ids: torch.Tensor,
        source_ids: torch.Tensor,
        weights: torch.Tensor,
        method: str,
        details: dict[int, dict[str, Any]] | None = None,
    ) -> None:
        """Rows as weighted sums: triples (new id, source id, weight); a new id may appear several times."""
        new_ids, source_ids = new_ids.long(), source_ids.long()
        unique = torch.unique(new_ids).tolist()
        self._claim(unique, method, [details[i] for i in unique] if details is not None else None)
        self._combo.append((new_ids, source_ids, weights.float()))

    def add_copies(self, new_ids: torch.Tensor, source_ids: torch.Tensor, method: str) -> None:
        """Copy source row ``source_ids[k]`` into new row ``new_ids[k]`` (details record the source id)."""
        details = {int(n): {"source_id": int(s)} for n, s in zip(new_ids.tolist(), source_ids.tolist())}
        self.add_combinations(new_ids, source_ids, torch.ones(len(new_ids)), method, details)

    def group_id(self, group: RandomGroup) -> int:
        """Index of a distribution (registered once per name)."""
        if group.name not in self._group_index:
            self._group_index[group.name] = len(self.groups)
            self.groups.append(group)
        return self._group_index[group.name]

    def add_samples(self, new_ids: torch.Tensor, groups: list[RandomGroup], method: str) -> None:
        """Draw new row ``new_ids[k]`` from distribution ``groups[k]``."""
        index = torch.tensor([self.group_id(g) for g in groups], dtype=torch.long)
        self._claim(new_ids.tolist(), method, [{"group": g.name} for g in groups])
        self._samples.append((new_ids.long(), index))

    # ---- applying -------------------------------------------------------------------------------------------
    def _group_statistics(self, matrix: torch.Tensor, used: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-group mean and unbiased std of the member rows (chunked, merged in float64)."""
        trailing = matrix.shape[1:]
        means = torch.zeros((len(self.groups), *trailing), dtype=torch.float64)
        stds = torch.zeros_like(means)
        for g in used:
            group = self.groups[g]
            if group.members is None:
                means[g], stds[g] = group.mean, group.std
                continue
            # Sums of rows shifted by one member row (keeps float32 cancellation small), accumulated in float64:
            # plain sums are several times faster than torch.std_mean's column reduction on CPU.
            reference = matrix[group.members[0]].clone()
            total = torch.zeros(trailing, dtype=torch.float64)
            squares = torch.zeros(trailing, dtype=torch.float64)
            for start in range(0, len(group.members), STATS_CHUNK):
                rows = matrix.index_select(0, group.members[start : start + STATS_CHUNK]).sub_(reference)
                total += rows.sum(0).double()
                squares += rows.square_().sum(0).double()
            n = len(group.members)
            shifted_mean = total / n
            variance = (squares - n * shifted_mean.square()) / max(n - 1, 1)
            means[g], stds[g] = shifted_mean + reference.double(), variance.clamp_min(0).sqrt()
        return means, stds

    def apply(self, matrix: torch.Tensor, generator: torch.Generator, random_bias: str = "mean") -> torch.Tensor:
        """The new ``(vocab_size, ...)`` tensor made from a source ``(source_vocab_size, ...)`` tensor."""
        if matrix.shape[0] != self.source_vocab_size:
            raise ValueError(f"expected {self.source_vocab_size} source rows, got shape {tuple(matrix.shape)}")
        unset = [i for i, m in enumerate(self.methods) if m is None]
        if unset:
            raise ValueError(f"{len(unset)} token ids have no initialization (first: {unset[:5]})")
        source = matrix.detach().float()
        out = torch.zeros((self.vocab_size, *source.shape[1:]), dtype=torch.float32)
        for new_ids, source_ids, weights in self._combo:
            rows = source.index_select(0, source_ids)
            out.index_add_(0, new_ids, rows * weights.view(-1, *([1] * (source.dim() - 1))))
        if self._samples:
            new_ids = torch.cat([n for n, _ in self._samples])
            group_index = torch.cat([g for _, g in self._samples])
            used = sorted(set(group_index.tolist()))
            means, stds = self._group_statistics(source, used)
            if source.dim() == 1:
                # A bias is not sampled: member groups give their mean bias, fixed distributions 0 or the mean.
                fallback = source.double().mean() if random_bias == "mean" else torch.tensor(0.0, dtype=torch.float64)
                fixed = torch.tensor([self.groups[g].members is None for g in range(len(self.groups))])
                values = torch.where(fixed, fallback, means)
                out[new_ids] = values[group_index].float()
            else:
                mean_rows = means.float().index_select(0, group_index)
                std_rows = stds.float().index_select(0, group_index)
                out[new_ids] = torch.normal(mean_rows, std_rows, generator=generator)
        return out.to(matrix.dtype)

    def counts(self) -> dict[str, int]:
        """Number of new ids per method, in first-seen order."""
        result: dict[str, int] = {}
        for method in self.methods:
            key = str(method)
            result[key] = result.get(key, 0) + 1
        return result
