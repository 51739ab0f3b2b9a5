"""`recipes/prepare_data.py` end to end on crafted lines: report, dev split, seeds, errors, atomic output."""

from __future__ import annotations

import json

import pytest

from langadapt.data import DataPreparationArguments
from langadapt.data.corpus import CorpusError
from langadapt.layout import DATA_REPORT_FILE
from langadapt.recipes_loader import load_recipe

prepare_data = load_recipe("prepare_data")

CRAFTED = [
    "Mun lean dás.",  # kept
    "Mun lean dás.",  # exact duplicate
    "mun LEAN dás!",  # normalised duplicate
    "Oktasaš",  # one word
    "Ovdamearka lea dás ja " + "x" * 40,  # a word over 32 characters (average length 11.6)
    "abcdefghijklmnopqrstu abcdefghijklmnopqrstu",  # average word length 21
    "12 34 56 78 9a",  # mostly digits
]


def crafted_corpus(tmp_path):
    lines = CRAFTED + [f"Dát lea cealkka {chr(0x61 + i % 26)}{chr(0x61 + i // 26)}" for i in range(50)]
    path = tmp_path / "sme.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_filter_is_counted_and_dev_split_is_seeded(tmp_path):
    corpus = crafted_corpus(tmp_path)
    args = DataPreparationArguments(corpora=[f"sme={corpus}"], output_dir=str(tmp_path / "out"), dev_size=10, seed=3)
    report = prepare_data.main(args)["corpora"]["sme"]
    assert report["lines_in"] == 57
    assert report["dropped"] == {
        "min_words": 1,
        "max_avg_word_length": 1,
        "max_word_length": 1,
        "min_alpha_ratio": 1,
        "exact_dedup": 1,
        "normalized_dedup": 1,
    }
    assert report["lines_out"] == 51 and report["train"] == 41 and report["dev"] == 10
    train = (tmp_path / "out/sme/train.txt").read_text(encoding="utf-8").splitlines()
    dev = (tmp_path / "out/sme/dev.txt").read_text(encoding="utf-8").splitlines()
    assert not set(train) & set(dev) and len(train) + len(dev) == 51
    saved = json.loads((tmp_path / "out/report.json").read_text(encoding="utf-8"))
    assert saved["corpora"]["sme"] == report
    # same seed, same split; another seed, another split
    again = DataPreparationArguments(
        corpora=[f"sme={corpus}"], output_dir=str(tmp_path / "again"), dev_size=10, seed=3
    )
    prepare_data.main(again)
    assert (tmp_path / "again/sme/dev.txt").read_text() == "\n".join(dev) + "\n"
    other = DataPreparationArguments(
        corpora=[f"sme={corpus}"], output_dir=str(tmp_path / "other"), dev_size=10, seed=4
    )
    prepare_data.main(other)
    assert (tmp_path / "other/sme/dev.txt").read_text() != "\n".join(dev) + "\n"


def test_filters_can_be_switched_off(tmp_path):
    corpus = crafted_corpus(tmp_path)
    args = DataPreparationArguments(
        corpora=[f"sme={corpus}"],
        output_dir=str(tmp_path / "out"),
        dev_size=0,
        filter_min_words=False,
        filter_avg_word_length=False,
        filter_word_length=False,
        filter_alpha_ratio=False,
        normalized_dedup=False,
    )
    report = prepare_data.main(args)
    assert report["filters"] == ["exact_dedup"]
    assert report["corpora"]["sme"]["lines_out"] == 56
    assert not (tmp_path / "out/sme/dev.txt").exists()


def test_a_corpus_emptied_by_filtering_is_an_error_and_nothing_is_written(tmp_path):
    (tmp_path / "bad.txt").write_text("one\ntwo\n", encoding="utf-8")
    out = tmp_path / "out"
    args = DataPreparationArguments(corpora=[f"myv={tmp_path / 'bad.txt'}"], output_dir=str(out), dev_size=0)
    with pytest.raises(CorpusError, match=r"corpus 'myv' \(.*bad\.txt\) has no lines left after filtering"):
        prepare_data.main(args)
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_existing_output_is_kept_on_failure_and_refused_without_overwrite(tmp_path):
    corpus = crafted_corpus(tmp_path)
    out = tmp_path / "out"
    prepare_data.main(DataPreparationArguments(corpora=[f"sme={corpus}"], output_dir=str(out), dev_size=0))
    before = (out / "sme/train.txt").read_text()
    with pytest.raises(FileExistsError, match="--overwrite"):
        prepare_data.main(DataPreparationArguments(corpora=[f"sme={corpus}"], output_dir=str(out), dev_size=0))
    (tmp_path / "bad.txt").write_bytes(b"good line here\nbad \xff line\n")
    with pytest.raises(CorpusError, match=r"bad\.txt:2: invalid UTF-8"):
        prepare_data.main(
            DataPreparationArguments(
                corpora=[f"sme={tmp_path / 'bad.txt'}"], output_dir=str(out), dev_size=0, overwrite=True
            )
        )
    assert (out / "sme/train.txt").read_text() == before


def test_dev_size_larger_than_corpus_names_the_field(tmp_path):
    corpus = crafted_corpus(tmp_path)
    with pytest.raises(ValueError, match="dev_size=1000 asks for 1000 dev lines but only 51 lines remain"):
        prepare_data.main(DataPreparationArguments(corpora=[f"sme={corpus}"], output_dir=str(tmp_path / "o")))


def test_recipe_main_with_yaml_and_cli(tmp_path, tiny_corpus_dir):
    config = tmp_path / "prepare.yaml"
    config.write_text(
        f"corpora:\n  - myv={tiny_corpus_dir / 'myv.txt'}\n  - sme={tiny_corpus_dir / 'sme.txt'}\n"
        f"output_dir: {tmp_path / 'out'}\ndev_size: 0.1\n",
        encoding="utf-8",
    )
    (args,) = prepare_data.make_parser().parse([str(config), "--seed", "7"])
    report = prepare_data.main(args)
    assert set(report["corpora"]) == {"myv", "sme"}
    for name in ("myv", "sme"):
        counts = report["corpora"][name]
        assert counts["dev"] == round(0.1 * counts["lines_out"])
        assert (tmp_path / "out" / name / "train.txt").is_file()


def test_outputs_have_ordinary_permissions(tmp_path):
    import os
    import stat

    corpus = crafted_corpus(tmp_path)
    out = tmp_path / "out"
    prepare_data.main(DataPreparationArguments(corpora=[f"sme={corpus}"], output_dir=str(out), dev_size=0))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~mask
    assert stat.S_IMODE((out / DATA_REPORT_FILE).stat().st_mode) == 0o666 & ~mask


def test_stray_carriage_returns_and_whitespace_only_lines_keep_counts_consistent(tmp_path):
    """The line the filters judged is the line written: a \\r inside does not split it afterwards."""
    lines = [f"Dát lea cealkka {chr(0x61 + i)}" for i in range(10)]
    lines[2] = "Oktasaš\rDát lea guhkit cealkka"  # fragment "Oktasaš" alone would fail min_words
    lines[5] = "Mun lean dás.\r\rMun lean dás."  # fragments would be duplicates of each other
    raw = "\n".join(lines + ["\u00a0", "\u3000\u3000", " "]) + "\n"
    corpus = tmp_path / "sme.txt"
    corpus.write_bytes(raw.encode("utf-8"))
    args = DataPreparationArguments(corpora=[f"sme={corpus}"], output_dir=str(tmp_path / "out"), dev_size=3, seed=0)
    report = prepare_data.main(args)["corpora"]["sme"]
    assert report["train"] + report["dev"] == report["lines_out"] and report["dev"] == 3
    assert report["lines_in"] == 10 and report["lines_out"] == 10 and sum(report["dropped"].values()) == 0
    assert report["blank_skipped"] == 3 and report["undecodable_skipped"] == 0
    written = []
    for name in ("train", "dev"):
        data = (tmp_path / f"out/sme/{name}.txt").read_bytes()
        assert b"\r" not in data
        written += data.decode("utf-8").splitlines()
    assert len(written) == report["train"] + report["dev"]
    assert "Oktasaš Dát lea guhkit cealkka" in written and "Mun lean dás. Mun lean dás." in written
