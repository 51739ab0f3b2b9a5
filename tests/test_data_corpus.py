"""Corpus specs and line reading: plain and gzip files, globs, Hub specs, decoding errors, bad files."""

from __future__ import annotations

import gzip

import pytest

from langadapt.data import parse_corpus_specs
from langadapt.data.corpus import CorpusError, CorpusSpec, LineReader, TextSource, iter_corpus_lines


def test_plain_and_gzip_files_with_glob(tmp_path):
    (tmp_path / "a.txt").write_text("first line\n\n  second line  \n", encoding="utf-8")
    with gzip.open(tmp_path / "b.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write("third line\n")
    (spec,) = parse_corpus_specs([f"myv={tmp_path}/*.t*"])
    assert spec.name == "myv" and len(spec.sources) == 2
    assert list(iter_corpus_lines(spec)) == ["first line", "second line", "third line"]


def test_hub_source_spec():
    source = TextSource.parse("hf:cis-lmu/Glot500?config=myv_Cyrl&split=train&column=text")
    assert source.is_hub and source.location == "hf:cis-lmu/Glot500"
    assert (source.hub_config, source.hub_split, source.hub_column) == ("myv_Cyrl", "train", "text")
    with pytest.raises(CorpusError, match="unknown Hub source parameter"):
        TextSource.parse("hf:user/ds?colum=text")
    (spec,) = parse_corpus_specs(["sami=hf:user/sme,hf:user/sma?split=validation"])
    assert [s.hub_split for s in spec.sources] == ["train", "validation"]


def test_bad_specs():
    with pytest.raises(CorpusError, match="must look like NAME=SOURCE"):
        CorpusSpec.parse("justapath.txt")
    with pytest.raises(CorpusError, match="no file matches"):
        CorpusSpec.parse("myv=/nonexistent/*.txt")
    with pytest.raises(CorpusError, match=r"given more than once: \['myv'\]"):
        parse_corpus_specs(["myv=a.txt", "myv=b.txt"])


def test_missing_and_empty_files_are_named(tmp_path):
    with pytest.raises(CorpusError, match=r"missing\.txt: file not found"):
        list(LineReader(str(tmp_path / "missing.txt")))
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(CorpusError, match=r"empty\.txt: file is empty"):
        list(LineReader(str(tmp_path / "empty.txt")))


def test_undecodable_bytes_fail_replace_skip(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"good line\n" + b"bad \xff byte\n" + b"last line\n")
    with pytest.raises(CorpusError, match=r"bad\.txt:2: invalid UTF-8 at byte 4"):
        list(LineReader(str(path), errors="fail"))
    assert list(LineReader(str(path), errors="replace")) == ["good line", "bad \ufffd byte", "last line"]
    reader = LineReader(str(path), errors="skip")
    assert list(reader) == ["good line", "last line"] and reader.skipped == 1
    with pytest.raises(CorpusError, match="errors must be one of"):
        LineReader(str(path), errors="ignore")


def test_inner_line_breaks_and_whitespace_only_lines(tmp_path):
    """A line ends at \\n only; a stray \\r (or U+2028, \\f, ...) inside becomes a space; NBSP-only lines are blank."""
    path = tmp_path / "odd.txt"
    path.write_bytes("one\rline\r\n\u00a0\u00a0\n\u3000\ntwo\u2028lines\fhere\n\n".encode())
    reader = LineReader(str(path))
    assert list(reader) == ["one line", "two lines here"] and reader.blank == 3
    assert list(LineReader(str(path), skip_blank=False)) == ["one line", "", "", "two lines here", ""]
