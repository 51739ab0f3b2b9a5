"""Token/tag files (XTREME / WikiAnn format): ``token<TAB>tag`` per line, a blank line between sentences."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from ..io_utils import atomic_file
from .conllu import Sentence


class TagFileError(ValueError):
    """Malformed token/tag input; the message names the file and line."""


def parse_tagfile(lines: Iterable[str], name: str = "<string>", strip_language_prefix: bool = True) -> list[Sentence]:
    """Parse token/tag lines. XTREME's PAN-X files prefix tokens with ``lang:``; that prefix is removed when
    ``strip_language_prefix`` and every token of the file carries the same ``xx:`` prefix."""
    sentences: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    start = 0
    for lineno, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            if words:
                sentences.append(Sentence(words=words, tags=tags, source=f"{name}:{start}"))
            words, tags = [], []
            continue
        cols = line.split("\t")
        if len(cols) != 2 or not cols[0] or not cols[1]:
            raise TagFileError(f"{name}:{lineno}: expected 'token<TAB>tag' (2 non-empty columns), found {len(cols)}")
        if not words:
            start = lineno
        words.append(cols[0])
        tags.append(cols[1].strip())
    if words:
        sentences.append(Sentence(words=words, tags=tags, source=f"{name}:{start}"))
    if strip_language_prefix and sentences:
        prefix = sentences[0].words[0].split(":", 1)[0] + ":" if ":" in sentences[0].words[0] else None
        if prefix and len(prefix) <= 4 and all(w.startswith(prefix) for s in sentences for w in s.words):
            for sentence in sentences:
                sentence.words = [w[len(prefix) :] for w in sentence.words]
    return sentences


def read_tagfile(path: str | Path) -> list[Sentence]:
    """Read a token/tag file into sentences (``Sentence.tags`` holds the tag column)."""
    path = Path(path)
    with open(path, encoding="utf-8") as handle:
        return parse_tagfile(handle, name=str(path))


def write_tagfile(path: str | Path, sentences: Sequence[Sentence], predictions: Sequence[Sequence[str]]) -> None:
    """Write ``token<TAB>gold<TAB>predicted`` lines (atomically), a blank line between sentences."""
    with atomic_file(path) as out:
        for sentence, predicted in zip(sentences, predictions, strict=True):
            for word, gold, pred in zip(sentence.words, sentence.tags, predicted, strict=True):
                out.write(f"{word}\t{gold}\t{pred}\n")
            out.write("\n")
