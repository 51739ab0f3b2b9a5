"""Corpus specs with what `datasets.load_dataset` takes: packaged builders over local shards, revisions; streamed."""

from __future__ import annotations

import json

import pytest

from langadapt.data import parse_corpus_specs
from langadapt.data.corpus import CorpusError, LineReader, TextSource, iter_corpus_lines


def test_json_shards_through_the_json_builder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # data_files relative to the working directory, as datasets resolves them
    with open("corpus.jsonl", "w", encoding="utf-8") as out:
        for text in ["first line", "second line\nwith a break", "third"]:
            out.write(json.dumps({"text": text, "id": 1}) + "\n")
    (spec,) = parse_corpus_specs(["x=hf:json?data_files=corpus.jsonl&split=train&column=text"])
    (source,) = spec.sources
    assert source.hub_data_files == ("corpus.jsonl",) and source.location == "hf:json"
    assert list(iter_corpus_lines(spec)) == ["first line", "second line", "with a break", "third"]


def test_several_data_files_csv_and_parquet(tmp_path):
    pd = pytest.importorskip("pandas")
    pd.DataFrame({"sentence": ["a b", "c d"]}).to_parquet(tmp_path / "part-0.parquet")
    pd.DataFrame({"sentence": ["e f"]}).to_parquet(tmp_path / "part-1.parquet")
    spec = f"hf:parquet?data_files={tmp_path}/part-0.parquet&data_files={tmp_path}/part-1.parquet&column=sentence"
    assert list(LineReader(spec)) == ["a b", "c d", "e f"]
    (tmp_path / "c.csv").write_text("label,text\n1,hello there\n0,good bye\n", encoding="utf-8")
    assert list(LineReader(f"hf:csv?data_files={tmp_path}/*.csv")) == ["hello there", "good bye"]


def test_revision_and_round_trip_of_the_spec():
    source = TextSource.parse("hf:cis-lmu/GlotCC-V1?config=hun-Latn&revision=v1.0&column=content")
    assert (source.hub_config, source.hub_revision, source.hub_column) == ("hun-Latn", "v1.0", "content")
    assert source.load_dataset_kwargs() == {"split": "train", "streaming": True, "revision": "v1.0"}
    assert TextSource.parse(str(source)) == source
    files = TextSource.parse("hf:json?data_files=a.jsonl&data_files=b.jsonl")
    assert (
        files.load_dataset_kwargs()["data_files"] == ["a.jsonl", "b.jsonl"] and TextSource.parse(str(files)) == files
    )


def test_unknown_parameters_and_missing_columns_are_errors(tmp_path):
    with pytest.raises(CorpusError, match=r"unknown Hub source parameter\(s\) \['datafiles'\]"):
        TextSource.parse("hf:json?datafiles=x.jsonl")
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"body": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"row 1 has no column 'text' \(columns: \['body'\]\)"):
        list(LineReader(f"hf:json?data_files={path}"))
    with pytest.raises(CorpusError, match="cannot open Hub dataset hf:json"):
        list(LineReader(f"hf:json?data_files={tmp_path}/missing.jsonl"))
