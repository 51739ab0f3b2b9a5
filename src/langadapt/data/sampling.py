"""Temperature (α) sampling: sentence-wise mixing of several corpora ([ES] §4, [TX]).

With n_i lines in corpus i, p_i = n_i / Σ n_j and corpus i is drawn with probability q_i ∝ p_i^α. Every
draw picks a corpus by q, then a line of that corpus uniformly, with replacement. α = 1 keeps the natural
proportions, α → 0 approaches uniform over corpora (up-sampling the low-resource ones); [ES] uses 0.2.

Draw number k is a pure function of (seed, k): draws are generated in fixed-size blocks whose random
generator is seeded by (seed, block index). Any range of draws can therefore be produced without
generating the ones before it, which makes resumed runs and data-parallel ranks see exactly the data an
uninterrupted single-process run would (rank r of w takes draws r, r + w, r + 2w, ...).

Lines are read through `LinePool`, a random-access view of a corpus on disk (byte offsets of each line, 8
bytes a line in memory): a multi-GB corpus never has to fit in memory. Gzip and Hub sources are first
streamed once into a plain-text cache file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from .corpus import CorpusError, CorpusSpec, LineReader, clean_line

logger = logging.getLogger(__name__)

BLOCK_SIZE = 4096


def alpha_probabilities(line_counts: Mapping[str, int], alpha: float) -> dict[str, float]:
    """q_i ∝ p_i^α with p_i = n_i / Σ n; names with zero lines are an error (they could never be drawn)."""
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0 (got {alpha}); use 1.0 for natural proportions")
    if not line_counts:
        raise ValueError("no corpora to sample from")
    empty = [name for name, count in line_counts.items() if count <= 0]
    if empty:
        raise ValueError(f"corpus {empty[0]!r} has no lines (after filtering); remove it or fix its sources")
    total = sum(line_counts.values())
    weights = {name: (count / total) ** alpha for name, count in line_counts.items()}
    norm = sum(weights.values())
    return {name: weight / norm for name, weight in weights.items()}


def _decode(raw: bytes, path: Path, line_number: int, check_utf8: bool) -> str:
    if not check_utf8:
        return raw.decode("utf-8", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CorpusError(
            f"{path}:{line_number}: invalid UTF-8 at byte {err.start} (use --errors replace or --errors skip to continue)"
        ) from err


class LinePool:
    """Random access to the non-blank lines of one or more plain-text files via an index of byte offsets.

    Lines and blanks are those of `LineReader` (see `clean_line`): a line of only Unicode whitespace (NBSP,
    U+3000) is not indexed, and a line comes back with its inner line-break characters turned into spaces.
    """

    def __init__(self, paths: Sequence[str | Path], cap: int | None = None, check_utf8: bool = True):
        self.paths = [Path(p) for p in paths]
        file_ids, offsets = [], []
        for file_id, path in enumerate(self.paths):
            if not path.is_file():
                raise CorpusError(f"{path}: file not found")
            with open(path, "rb") as handle:
                position = 0
                for line_number, raw in enumerate(handle, start=1):
                    # str.strip, not bytes.strip: the latter keeps lines of non-ASCII whitespace
                    if _decode(raw, path, line_number, check_utf8).strip():
                        file_ids.append(file_id)
                        offsets.append(position)
                        if cap is not None and len(offsets) >= cap:
                            break
                    position += len(raw)
                else:
                    continue
                break
        self._file_ids = np.asarray(file_ids, dtype=np.int32)
        self._offsets = np.asarray(offsets, dtype=np.int64)
        self._handles: dict[int, object] = {}

    def __len__(self) -> int:
        return len(self._offsets)

    def __getitem__(self, index: int) -> str:
        file_id = int(self._file_ids[index])
        handle = self._handles.get(file_id)
        if handle is None:
            handle = self._handles[file_id] = open(self.paths[file_id], "rb")  # noqa: SIM115 - kept open for reuse
        handle.seek(int(self._offsets[index]))
        return clean_line(handle.readline().decode("utf-8", errors="replace"))

    def __getstate__(self):  # file handles do not pickle (DataLoader workers, datasets fingerprinting)
        state = self.__dict__.copy()
        state["_handles"] = {}
        return state

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()

    @classmethod
    def from_spec(
        cls, spec: CorpusSpec, cache_dir: str | Path | None = None, cap: int | None = None, errors: str = "fail"
    ) -> LinePool:
        """Index a corpus; gzip and Hub sources are streamed once into ``cache_dir/<name>.txt`` first.

        Undecodable lines are handled by ``errors`` before indexing, so a sampled line always decodes.
        """
        plain = all(not s.is_hub and not s.location.endswith(".gz") for s in spec.sources)
        if plain and errors == "fail":
            for source in spec.sources:  # validate existence / emptiness up front with file-named errors
                path = Path(source.location)
                if not path.is_file():
                    raise CorpusError(f"{path}: file not found")
                if path.stat().st_size == 0:
                    raise CorpusError(f"{path}: file is empty")
            return cls([s.location for s in spec.sources], cap=cap)
        if cache_dir is None:
            raise CorpusError(f"corpus {spec.name!r} has gzip/Hub sources (or errors={errors!r}): give a cache_dir")
        cache_path = Path(cache_dir) / f"{spec.name}.txt"
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = cache_path.with_suffix(".txt.tmp")
        written = 0
        with open(tmp_path, "w", encoding="utf-8") as out:
            for source in spec.sources:
                for line in LineReader(source, errors=errors):
                    out.write(line + "\n")
                    written += 1
                    if cap is not None and written >= cap:
                        break
                if cap is not None and written >= cap:
                    break
        os.replace(tmp_path, cache_path)
        return cls([cache_path], cap=cap, check_utf8=False)  # written by us from already-decoded lines


class AlphaSampler:
    """Deterministic, seekable α-sampling over named line pools (see the module docstring)."""

    def __init__(self, pools: Mapping[str, Sequence[str]], alpha: float = 0.2, seed: int = 0):
        self.pools = dict(pools)
        self.names = list(self.pools)
        self.line_counts = {name: len(pool) for name, pool in self.pools.items()}
        self.probabilities = alpha_probabilities(self.line_counts, alpha)
        self.alpha = alpha
        self.seed = seed
        self._q = np.array([self.probabilities[n] for n in self.names], dtype=np.float64)
        self._sizes = np.array([self.line_counts[n] for n in self.names], dtype=np.int64)

    def _block(self, block: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, block])
        corpus_ids = rng.choice(len(self.names), size=BLOCK_SIZE, p=self._q)
        # A uniform float per draw scaled by the chosen corpus's size: one vectorised line draw for all corpora.
        line_ids = np.floor(rng.random(BLOCK_SIZE) * self._sizes[corpus_ids]).astype(np.int64)
        return corpus_ids, line_ids

    def draw_indices(self, start: int, stop: int, step: int = 1) -> Iterator[tuple[int, int]]:
        """(corpus index, line index) of draws ``start, start + step, ... < stop`` (stop may be None: endless)."""
        index = start
        cached_block, corpus_ids, line_ids = -1, None, None
        while stop is None or index < stop:
            block, offset = divmod(index, BLOCK_SIZE)
            if block != cached_block:
                corpus_ids, line_ids = self._block(block)
                cached_block = block
            yield int(corpus_ids[offset]), int(line_ids[offset])
            index += step

    def iter_lines(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[tuple[str, str]]:
        """(corpus name, line) of the draws in ``range(start, stop, step)``; endless when ``stop`` is None."""
        for corpus_id, line_id in self.draw_indices(start, stop, step):
            name = self.names[corpus_id]
            yield name, self.pools[name][line_id]

    def sample(self, num_lines: int, start: int = 0) -> list[tuple[str, str]]:
        return list(self.iter_lines(start, start + num_lines))


def build_sampler(
    specs: Sequence[CorpusSpec],
    alpha: float,
    seed: int = 0,
    caps: Mapping[str, int] | None = None,
    cache_dir: str | Path | None = None,
    errors: str = "fail",
) -> AlphaSampler:
    """Index every corpus (applying per-corpus line caps) and return a sampler over them."""
    caps = dict(caps or {})
    unknown = set(caps) - {spec.name for spec in specs}
    if unknown:
        raise ValueError(f"caps given for unknown corpora {sorted(unknown)}")
    pools = {
        spec.name: LinePool.from_spec(spec, cache_dir=cache_dir, cap=caps.get(spec.name), errors=errors)
        for spec in specs
    }
    for name, pool in pools.items():
        logger.info("corpus %s: %d lines", name, len(pool))
    return AlphaSampler(pools, alpha=alpha, seed=seed)


def parse_caps(items: Sequence[str] | None) -> dict[str, int]:
    """``["myv=100000", "sme=50000"]`` → ``{"myv": 100000, "sme": 50000}`` (line caps per corpus)."""
    caps: dict[str, int] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit() or int(value) <= 0:
            raise ValueError(f"cap {item!r} must look like NAME=POSITIVE_LINE_COUNT")
        caps[name.strip()] = int(value)
    return caps
