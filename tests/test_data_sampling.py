"""α-sampling: the q_i ∝ p_i^α law, proportions over many draws, seeds, seeking, ranks, caps, errors."""

from __future__ import annotations

import numpy as np
import pytest

from langadapt.data import build_sampler, parse_corpus_specs
from langadapt.data.sampling import AlphaSampler, LinePool, alpha_probabilities, parse_caps


def test_alpha_probabilities_formula():
    counts = {"big": 9000, "small": 1000}
    q = alpha_probabilities(counts, alpha=0.2)
    expected_big = 0.9**0.2 / (0.9**0.2 + 0.1**0.2)
    assert q["big"] == pytest.approx(expected_big)
    assert sum(q.values()) == pytest.approx(1.0)
    assert alpha_probabilities(counts, 1.0) == pytest.approx({"big": 0.9, "small": 0.1})
    # lower α up-samples the smaller corpus
    assert alpha_probabilities(counts, 0.1)["small"] > q["small"] > 0.1


@pytest.mark.parametrize("alpha", [0.0, -0.5])
def test_alpha_must_be_positive(alpha):
    with pytest.raises(ValueError, match="alpha must be > 0"):
        alpha_probabilities({"a": 1}, alpha)


def test_empty_corpus_is_an_error():
    with pytest.raises(ValueError, match="corpus 'sme' has no lines"):
        alpha_probabilities({"myv": 10, "sme": 0}, 0.2)


def make_sampler(alpha=0.3, seed=0):
    pools = {"big": [f"big {i}" for i in range(900)], "small": [f"small {i}" for i in range(100)]}
    return AlphaSampler(pools, alpha=alpha, seed=seed)


def test_sampled_proportions_match_q_over_many_draws():
    sampler = make_sampler()
    draws = sampler.sample(40_000)
    share_small = sum(name == "small" for name, _ in draws) / len(draws)
    # binomial std for n=40k is ~0.0025: 4 sigma tolerance
    assert share_small == pytest.approx(sampler.probabilities["small"], abs=0.01)
    # within a corpus lines are uniform (with replacement): every small line shows up about equally often
    small_lines = [line for name, line in draws if name == "small"]
    counts = np.unique(small_lines, return_counts=True)[1]
    assert len(counts) == 100 and counts.std() / counts.mean() < 0.25
    assert all(line.startswith(name) for name, line in draws)  # a line comes from the corpus drawn


def test_reproducible_under_seed_and_seekable():
    first, again, other = make_sampler(seed=1), make_sampler(seed=1), make_sampler(seed=2)
    assert first.sample(5000) == again.sample(5000)
    assert first.sample(5000) != other.sample(5000)
    whole = first.sample(10_000)
    assert list(first.iter_lines(7000, 9000)) == whole[7000:9000]  # seeking needs no earlier draws


def test_ranks_partition_the_single_process_stream():
    sampler = make_sampler()
    whole = sampler.sample(1000)
    rank0 = list(sampler.iter_lines(0, 1000, 2))
    rank1 = list(sampler.iter_lines(1, 1000, 2))
    assert rank0 == whole[0::2] and rank1 == whole[1::2]


def test_line_pool_random_access_and_caps(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("zero\n\nöne\ntwo\nthree\n", encoding="utf-8")
    pool = LinePool([path])
    assert len(pool) == 4 and pool[1] == "öne" and pool[3] == "three"
    assert len(LinePool([path], cap=2)) == 2
    (spec,) = parse_corpus_specs([f"c={path}"])
    sampler = build_sampler([spec], alpha=0.2, caps=parse_caps(["c=3"]))
    assert sampler.line_counts == {"c": 3}
    assert {line for _, line in sampler.sample(200)} == {"zero", "öne", "two"}
    with pytest.raises(ValueError, match="NAME=POSITIVE_LINE_COUNT"):
        parse_caps(["c=-1"])
    with pytest.raises(ValueError, match="unknown corpora"):
        build_sampler([spec], alpha=0.2, caps={"x": 3})


def test_gzip_sources_are_cached_then_sampled(tmp_path):
    import gzip

    with gzip.open(tmp_path / "g.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write("a b\nc d\n")
    (spec,) = parse_corpus_specs([f"g={tmp_path / 'g.txt.gz'}"])
    sampler = build_sampler([spec], alpha=1.0, cache_dir=tmp_path / "cache")
    assert sorted({line for _, line in sampler.sample(50)}) == ["a b", "c d"]


def test_undecodable_bytes_are_reported_before_sampling(tmp_path):
    from langadapt.data.corpus import CorpusError

    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine line\nbad \xff line\n")
    (spec,) = parse_corpus_specs([f"bad={path}"])
    with pytest.raises(CorpusError, match=r"bad\.txt:2: invalid UTF-8 at byte 4"):
        build_sampler([spec], alpha=0.2)
    replaced = build_sampler([spec], alpha=0.2, cache_dir=tmp_path / "cache", errors="replace")
    assert {line for _, line in replaced.sample(20)} == {"fine line", "bad \ufffd line"}
    skipped = build_sampler([spec], alpha=0.2, cache_dir=tmp_path / "cache2", errors="skip")
    assert {line for _, line in skipped.sample(20)} == {"fine line"}


def test_line_pool_and_line_reader_agree_on_whitespace_and_inner_line_breaks(tmp_path):
    """Only-whitespace lines (NBSP, U+3000) are no lines for either; inner line breaks become spaces in both."""
    from langadapt.data.corpus import LineReader

    raw = "first line\n\u00a0\n\u3000 \u3000\n\u00a0second\rline\u2028end\u00a0\r\n \t\nthird\x0bline\n"
    path = tmp_path / "odd.txt"
    path.write_bytes(raw.encode("utf-8"))
    expected = ["first line", "second line end", "third line"]
    pool = LinePool([path])
    assert len(pool) == len(expected)
    assert [pool[i] for i in range(len(pool))] == expected
    reader = LineReader(str(path))
    assert list(reader) == expected and reader.blank == 3
    gz = tmp_path / "odd.txt.gz"  # the cached path (written from LineReader lines) gives the same lines
    import gzip

    gz.write_bytes(gzip.compress(raw.encode("utf-8")))
    (spec,) = parse_corpus_specs([f"x={gz}"])
    cached = LinePool.from_spec(spec, cache_dir=tmp_path / "cache")
    assert [cached[i] for i in range(len(cached))] == expected
