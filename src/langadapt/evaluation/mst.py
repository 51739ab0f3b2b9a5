"""Maximum spanning arborescence decoding (Chu-Liu/Edmonds) with exactly one dependent of the root.

Scores are a square matrix ``scores[dependent, head]`` over nodes ``0..n`` where node 0 is the root; the result
``heads`` has ``heads[0] = -1`` and, for every word ``i >= 1``, the head that makes the highest-scoring tree in
which the root has a single dependent. Greedy per-word argmax can produce cycles or several roots; this never does.
"""

from __future__ import annotations

import numpy as np


def _find_cycle(heads: np.ndarray) -> list[int] | None:
    n = len(heads)
    state = np.zeros(n, dtype=np.int8)
    state[0] = 2
    for start in range(1, n):
        path, node = [], start
        while state[node] == 0:
            state[node] = 1
            path.append(node)
            node = heads[node]
        if state[node] == 1:
            return path[path.index(node) :]
        state[path] = 2
    return None


def chu_liu_edmonds(scores: np.ndarray) -> np.ndarray:
    """Best arborescence rooted at node 0 (the root may get several dependents)."""
    scores = np.array(scores, dtype=np.float64)
    np.fill_diagonal(scores, -np.inf)
    scores[0] = -np.inf  # the root has no head
    heads = scores.argmax(axis=1)
    heads[0] = -1
    cycle = _find_cycle(heads)
    if cycle is None:
        return heads
    in_cycle = np.zeros(len(scores), dtype=bool)
    in_cycle[cycle] = True
    outside = np.flatnonzero(~in_cycle)  # includes the root, which stays node 0
    cycle_idx = np.asarray(cycle)
    size = len(outside) + 1
    contracted = np.full((size, size), -np.inf)
    contracted[: len(outside), : len(outside)] = scores[np.ix_(outside, outside)]
    # Arcs from the cycle to an outside dependent: the best head inside the cycle.
    out_block = scores[np.ix_(outside, cycle_idx)]
    best_cycle_head = cycle_idx[out_block.argmax(axis=1)]
    contracted[: len(outside), -1] = out_block.max(axis=1)
    # Arcs into the cycle: entering at word d breaks d's cycle arc, so subtract its score.
    in_block = scores[np.ix_(cycle_idx, outside)] - scores[cycle_idx, heads[cycle_idx]][:, None]
    entry = in_block.argmax(axis=0)
    contracted[-1, : len(outside)] = in_block.max(axis=0)
    sub_heads = chu_liu_edmonds(contracted)
    result = heads.copy()
    for position, node in enumerate(outside[1:], start=1):
        head = sub_heads[position]
        result[node] = best_cycle_head[position] if head == size - 1 else outside[head]
    entering_head = sub_heads[-1]
    result[cycle_idx[entry[entering_head]]] = outside[entering_head]
    return result


def _tree_score(scores: np.ndarray, heads: np.ndarray) -> float:
    return float(scores[np.arange(1, len(heads)), heads[1:]].sum())


def decode_mst(scores: np.ndarray) -> np.ndarray:
    """Best tree with a single dependent of the root; ``scores[d, h]`` (n+1 × n+1), returns heads (n+1,)."""
    scores = np.array(scores, dtype=np.float64)
    if len(scores) == 2:
        return np.array([-1, 0])
    np.fill_diagonal(scores, -np.inf)
    heads = chu_liu_edmonds(scores)
    root_children = np.flatnonzero(heads[1:] == 0) + 1
    if len(root_children) == 1:
        return heads
    best_heads, best_score = heads, -np.inf
    # The constrained optimum has exactly one root dependent: try each word as that dependent (an exact search;
    # Stanza tries only the unconstrained tree's root dependents, which is not guaranteed optimal).
    for child in range(1, len(scores)):
        constrained = scores.copy()
        constrained[1:, 0] = -np.inf
        constrained[child, 0] = scores[child, 0]
        candidate = chu_liu_edmonds(constrained)
        score = _tree_score(scores, candidate)
        if score > best_score:
            best_heads, best_score = candidate, score
    return best_heads


def decode_greedy(scores: np.ndarray) -> np.ndarray:
    """Per-word argmax heads (what [TX] reports); may be cyclic or have several roots."""
    scores = np.array(scores, dtype=np.float64)
    np.fill_diagonal(scores, -np.inf)
    heads = scores.argmax(axis=1)
    heads[0] = -1
    return heads
