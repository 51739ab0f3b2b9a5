"""Seeded random 85/5/10 splits for data without splits (WikiAnn outside Rahimi et al.), through data specs."""

from __future__ import annotations

import pytest

from langadapt.evaluation.regimes import random_split
from langadapt.evaluation.sources import DataSpecError, load_sentences, parse_data_specs


def test_random_split_sizes_order_and_seed():
    items = list(range(10_000))
    parts = random_split(items, seed=1)
    assert [len(parts[p]) for p in ("train", "dev", "test")] == [8500, 500, 1000]
    assert sorted(parts["train"] + parts["dev"] + parts["test"]) == items  # disjoint and complete
    assert all(parts[p] == sorted(parts[p]) for p in parts)  # original order kept
    assert random_split(items, seed=1) == parts and random_split(items, seed=2)["test"] != parts["test"]


def test_random_split_minimum_dev_and_test_sizes():
    parts = random_split(list(range(2000)), seed=0)  # 5% = 100 < 256, 10% = 200 < 512
    assert (len(parts["train"]), len(parts["dev"]), len(parts["test"])) == (1232, 256, 512)
    with pytest.raises(ValueError, match="needs more than 256 dev \\+ 512 test items .* has 768"):
        random_split(list(range(768)), seed=0)


def _write_tagfile(path, count: int):
    with open(path, "w", encoding="utf-8") as out:
        for k in range(count):
            out.write(f"w{k}\tB-PER\nja\tO\n\n")
    return path


def test_data_specs_take_one_part_of_a_random_split(tmp_path):
    path = _write_tagfile(tmp_path / "wikiann-myv.tsv", 1000)
    parts = {}
    for part in ("train", "dev", "test"):
        (spec,) = parse_data_specs([f"myv={path}?random_split={part}"])
        parts[part] = [s.words[0] for s in load_sentences(spec)]
    assert [len(parts[p]) for p in ("train", "dev", "test")] == [232, 256, 512]
    assert len(set(parts["train"]) | set(parts["dev"]) | set(parts["test"])) == 1000
    (other_seed,) = parse_data_specs([f"myv={path}?random_split=test&split_seed=7"])
    assert [s.words[0] for s in load_sentences(other_seed)] != parts["test"]


def test_random_split_spec_errors(tmp_path):
    path = _write_tagfile(tmp_path / "small.tsv", 700)
    with pytest.raises(DataSpecError, match="random_split must be one of train, dev, test"):
        load_sentences(parse_data_specs([f"x={path}?random_split=valid"])[0])
    with pytest.raises(DataSpecError, match=r"unknown parameter\(s\) \['split'\] for a local file"):
        load_sentences(parse_data_specs([f"x={path}?split=test"])[0])
    with pytest.raises(DataSpecError, match="file not found: .*missing.tsv$"):
        parse_data_specs([f"x={tmp_path / 'missing.tsv'}?random_split=test"])
    (spec,) = parse_data_specs([f"x={path}?random_split=test"])
    with pytest.raises(DataSpecError, match="small.tsv: a random split needs more than"):
        load_sentences(spec)
