"""Every cleaning filter on crafted lines, the per-filter report, and de-duplication keys."""

from __future__ import annotations

import pytest

from langadapt.data.filters import (
    AlphabeticRatioFilter,
    ExactDuplicateFilter,
    FilterPipeline,
    LanguageIdFilter,
    MaxAverageWordLengthFilter,
    MaxWordLengthFilter,
    MinWordsFilter,
    NormalizedDuplicateFilter,
    normalize_for_dedup,
)


def test_min_words():
    keep = MinWordsFilter(2).keep
    assert not keep("Шумбрат")
    assert not keep("   ")
    assert keep("Шумбрат ялгат")


def test_max_average_word_length():
    keep = MaxAverageWordLengthFilter(16).keep
    assert keep("a" * 16 + " " + "b" * 16)  # average exactly 16 stays
    assert not keep("a" * 20 + " " + "b" * 14)  # average 17
    assert keep("a" * 30 + " b c")  # one long word, short average


def test_max_word_length():
    keep = MaxWordLengthFilter(32).keep
    assert keep("x" * 32 + " ok")
    assert not keep("x" * 33 + " ok")


def test_alphabetic_ratio_counts_whitespace_like_opusfilter():
    keep = AlphabeticRatioFilter(0.5).keep
    assert keep("Mun lean dás")
    assert not keep("12345 678 ab")  # 2 letters of 12 characters
    assert not keep("ab 12")  # 2 of 5 characters: below half
    assert AlphabeticRatioFilter(0.5).keep("abc 12") is True  # 3 of 6
    assert AlphabeticRatioFilter(0.5, exclude_whitespace=True).keep("ab 12 c") is True  # 3 of 5 non-space
    assert not AlphabeticRatioFilter(0.5).keep("")


def test_exact_and_normalized_duplicates():
    exact = ExactDuplicateFilter()
    assert exact.keep("Mun lean dás.")
    assert not exact.keep("Mun lean dás.")
    assert exact.keep("mun lean dás")  # differs in case and punctuation
    normalized = NormalizedDuplicateFilter()
    assert normalize_for_dedup("Mun lean, dás! 12") == "munleandás"
    assert normalized.keep("Mun lean dás.")
    assert not normalized.keep("mun LEAN dás!!")
    assert normalized.keep("Mun lean dás eai.")


def test_pipeline_reports_first_rejecting_filter():
    pipeline = FilterPipeline([MinWordsFilter(2), MaxWordLengthFilter(32), ExactDuplicateFilter()])
    lines = ["one", "two words", "two words", "x" * 40 + " y", "three more words"]
    assert list(pipeline(lines)) == ["two words", "three more words"]
    assert pipeline.report.to_dict() == {
        "lines_in": 5,
        "dropped": {"min_words": 1, "max_word_length": 1, "exact_dedup": 1},
        "lines_out": 2,
    }


def test_language_id_filter_with_a_trained_fasttext_model(tmp_path):
    fasttext = pytest.importorskip("fasttext")
    train = tmp_path / "lid.txt"
    english = ["the cat is on the table", "this is a house", "where is the station", "i like the green tea"]
    erzya = ["шумбрат ялгат кода тейтеть", "мон эрян велесэ", "кода тонь леметь", "вана кудо ды вирь"]
    train.write_text(
        "".join(f"__label__en {e}\n__label__myv {m}\n" for e, m in zip(english, erzya) for _ in range(50))
    )
    model = fasttext.train_supervised(str(train), epoch=25, lr=1.0, minn=2, maxn=4, thread=1, seed=0, verbose=0)
    model_path = tmp_path / "lid.bin"
    model.save_model(str(model_path))
    lid = LanguageIdFilter(model_path, drop_labels=["en"], threshold=0.9)
    assert not lid.keep("the cat is on the table")
    assert lid.keep("шумбрат ялгат кода тейтеть")
    with pytest.raises(FileNotFoundError, match="language-ID model not found"):
        LanguageIdFilter(tmp_path / "missing.bin")
