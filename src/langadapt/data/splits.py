"""Seeded dev splits."""

from __future__ import annotations

import numpy as np


def choose_dev_indices(num_lines: int, dev_size: float, seed: int) -> set[int]:
    """Indices of the lines that go to dev: ``dev_size`` >= 1 is a count, 0 < ``dev_size`` < 1 a fraction.

    The split leaves at least one training line; asking for more is an error naming the field.
    """
    if dev_size < 0:
        raise ValueError(f"dev_size must be >= 0, got {dev_size}")
    count = int(round(dev_size * num_lines)) if dev_size < 1 else int(dev_size)
    if count and count >= num_lines:
        raise ValueError(f"dev_size={dev_size} asks for {count} dev lines but only {num_lines} lines remain")
    rng = np.random.default_rng(seed)
    return set(rng.choice(num_lines, size=count, replace=False).tolist()) if count else set()
