"""CoNLL-U reading and writing for word-level evaluation.

Multiword tokens (``3-4``) are expanded to their syntactic words (the words carry the labels, as in the CoNLL 2018
evaluator); empty nodes (``5.1``) are skipped. The original lines are kept so that predictions can be written back
as CoNLL-U with only the predicted columns replaced.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..io_utils import atomic_file

_WORD_ID = re.compile(r"^[1-9][0-9]*$")
_RANGE_ID = re.compile(r"^([1-9][0-9]*)-([1-9][0-9]*)$")
_EMPTY_ID = re.compile(r"^[0-9]+\.[1-9][0-9]*$")


class ConlluError(ValueError):
    """Malformed CoNLL-U input; the message names the file and line."""


@dataclasses.dataclass
class Sentence:
    """One sentence: words with their gold annotation.

    ``tags`` is UPOS for CoNLL-U and the tag column of token/tag files; ``heads`` are 1-based (0 = root, -1 =
    unannotated) and ``deprels`` full UD relations; both are empty for tag files.
    """

    words: list[str]
    tags: list[str]
    heads: list[int] = dataclasses.field(default_factory=list)
    deprels: list[str] = dataclasses.field(default_factory=list)
    # Raw lines (comments, multiword-token lines, word lines, empty nodes) for faithful prediction output.
    lines: list[str] = dataclasses.field(default_factory=list, repr=False)
    source: str = ""  # "file:line" of the sentence's first line, for error messages

    def __len__(self) -> int:
        return len(self.words)


def find_cycle(heads: Sequence[int]) -> list[int] | None:
    """Return the words (1-based) of a cycle in ``heads`` (1-based, 0 = root), or None if it is a tree."""
    state = [0] * (len(heads) + 1)  # 0 unvisited, 1 on the current path, 2 done (reaches the root)
    state[0] = 2
    for start in range(1, len(heads) + 1):
        path, node = [], start
        while state[node] == 0:
            state[node] = 1
            path.append(node)
            node = heads[node - 1]
        if state[node] == 1:
            return path[path.index(node) :]
        for visited in path:
            state[visited] = 2
    return None


def _finish(words: list[list[str]], lines: list[str], where: str, check_tree: bool) -> Sentence:
    n = len(words)
    heads = []
    for cols in words:
        line_where = cols[-1]
        head = cols[6]
        if head == "_":
            heads.append(-1)  # unannotated (allowed when the task needs no trees)
            continue
        if not head.isdigit():
            raise ConlluError(f"{line_where}: HEAD {head!r} is not a non-negative integer")
        if int(head) > n:
            raise ConlluError(f"{line_where}: HEAD {head} is out of range (the sentence has {n} words)")
        heads.append(int(head))
    if check_tree and all(h >= 0 for h in heads):
        cycle = find_cycle(heads)
        if cycle is not None:
            raise ConlluError(f"{where}: gold tree has a cycle through words {cycle}")
    return Sentence(
        words=[c[1] for c in words],
        tags=[c[3] for c in words],
        heads=heads,
        deprels=[c[7] for c in words],
        lines=lines,
        source=where,
    )


def parse_conllu(lines: Iterable[str], name: str = "<string>", check_tree: bool = True) -> list[Sentence]:
    """Parse CoNLL-U text lines; ``name`` is used in error messages."""
    sentences: list[Sentence] = []
    words: list[list[str]] = []
    raw: list[str] = []
    start = 0
    for lineno, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            if words:
                sentences.append(_finish(words, raw, f"{name}:{start}", check_tree))
            elif raw and any(not r.startswith("#") for r in raw):
                raise ConlluError(f"{name}:{start}: sentence has no syntactic words")
            words, raw = [], []
            continue
        if not raw:
            start = lineno
        raw.append(line)
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        where = f"{name}:{lineno}"
        if len(cols) != 10:
            raise ConlluError(f"{where}: expected 10 tab-separated columns, found {len(cols)}")
        token_id = cols[0]
        if _EMPTY_ID.match(token_id):
            continue  # empty nodes belong to enhanced dependencies only
        match = _RANGE_ID.match(token_id)
        if match:
            first, last = int(match.group(1)), int(match.group(2))
            if first != len(words) + 1 or last < first:
                raise ConlluError(f"{where}: multiword token range {token_id} does not start at the next word")
            continue
        if not _WORD_ID.match(token_id):
            raise ConlluError(f"{where}: ID {token_id!r} is not a word, range or empty-node id")
        if int(token_id) != len(words) + 1:
            raise ConlluError(f"{where}: word ID {token_id} out of sequence (expected {len(words) + 1})")
        words.append(cols + [where])
    if words:
        sentences.append(_finish(words, raw, f"{name}:{start}", check_tree))
    return sentences


def read_conllu(path: str | Path, check_tree: bool = True) -> list[Sentence]:
    """Read a CoNLL-U file into sentences of syntactic words."""
    path = Path(path)
    with open(path, encoding="utf-8") as handle:
        return parse_conllu(handle, name=str(path), check_tree=check_tree)


def write_conllu(
    path: str | Path,
    sentences: Sequence[Sentence],
    upos: Sequence[Sequence[str]] | None = None,
    heads: Sequence[Sequence[int]] | None = None,
    deprels: Sequence[Sequence[str]] | None = None,
) -> None:
    """Write ``sentences`` with the given predicted columns replacing the gold ones (atomically)."""
    with atomic_file(path) as out:
        for index, sentence in enumerate(sentences):
            word = 0
            for line in sentence.lines:
                cols = line.split("\t")
                if line.startswith("#") or not _WORD_ID.match(cols[0]):
                    out.write(line + "\n")
                    continue
                if upos is not None:
                    cols[3] = upos[index][word]
                if heads is not None:
                    cols[6] = str(heads[index][word])
                if deprels is not None:
                    cols[7] = deprels[index][word]
                out.write("\t".join(cols) + "\n")
                word += 1
            out.write("\n")
