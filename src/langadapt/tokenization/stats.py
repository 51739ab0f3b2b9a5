"""Tokenization statistics: fertility (tokens per whitespace word) and `<unk>` rate, per language."""

from __future__ import annotations

from collections.abc import Iterable


def tokenization_stats(tokenizer, lines: Iterable[str], batch_size: int = 256) -> dict[str, float | int]:
    """Fertility = subword tokens / whitespace words; unk_rate = `<unk>` tokens / tokens (specials excluded)."""
    unk_id = tokenizer.unk_token_id
    words = tokens = unks = num_lines = 0
    batch: list[str] = []

    def flush() -> None:
        nonlocal tokens, unks
        for ids in tokenizer(batch, add_special_tokens=False)["input_ids"]:
            tokens += len(ids)
            unks += sum(1 for i in ids if i == unk_id)
        batch.clear()

    for line in lines:
        num_lines += 1
        words += len(line.split())
        batch.append(line)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return {
        "lines": num_lines,
        "words": words,
        "tokens": tokens,
        "fertility": tokens / words if words else 0.0,
        "unk_rate": unks / tokens if tokens else 0.0,
    }
