"""Script and word-position categories of tokens (docs/methods.md#embedding-initialisation)."""

import pytest

from langadapt.vocab.categories import categorize, detect_convention, token_position, token_script


@pytest.mark.parametrize(
    ("token", "convention", "script"),
    [
        ("▁kala", "sentencepiece", "Latin"),
        ("▁", "sentencepiece", "Common"),  # a lone marker is Common
        ("сь", "sentencepiece", "Cyrillic"),
        ("▁čá", "sentencepiece", "Latin"),
        ("aЖ", "sentencepiece", "Latin"),  # tie → first seen
        ("Жa", "sentencepiece", "Cyrillic"),
        ("aЖЖ", "sentencepiece", "Cyrillic"),  # most frequent wins
        ("1,Ж.", "sentencepiece", "Cyrillic"),  # Common counts only when nothing else is there
        ("12", "sentencepiece", "Common"),
        ("\u0301", "sentencepiece", "Inherited"),  # combining acute alone
        ("е\u0301", "sentencepiece", "Cyrillic"),
        ("κα", "sentencepiece", "Greek"),
        ("##ва", "wordpiece", "Cyrillic"),
        ("Ġ", "bytelevel", "Common"),  # Ġ is the marker, not a Latin letter
        ("ĠÐ¶", "bytelevel", "Cyrillic"),  # byte-level "ж" (bytes D0 B6)
        ("", "sentencepiece", "Common"),
    ],
)
def test_token_script(token, convention, script):
    assert token_script(token, convention) == script


@pytest.mark.parametrize(
    ("token", "convention", "position"),
    [
        ("▁ko", "sentencepiece", "initial"),
        ("ko", "sentencepiece", "internal"),
        ("##ko", "wordpiece", "internal"),
        ("ko", "wordpiece", "initial"),
        ("Ġko", "bytelevel", "initial"),
        ("ko", "bytelevel", "internal"),
    ],
)
def test_token_position(token, convention, position):
    assert token_position(token, convention) == position


def test_detect_convention():
    assert detect_convention(["▁a", "▁b", "c"]) == "sentencepiece"
    assert detect_convention(["a", "##b", "##c"]) == "wordpiece"
    assert detect_convention(["Ġa", "Ġb", "c"]) == "bytelevel"
    assert detect_convention(["▁a"], model_type="WordPiece") == "wordpiece"


def test_categorize_whole_vocabulary():
    scripts, positions = categorize(["▁ко", "ва", "▁go", "."], "sentencepiece")
    assert scripts == ["Cyrillic", "Cyrillic", "Latin", "Common"]
    assert positions == ["initial", "internal", "initial", "internal"]
    with pytest.raises(ValueError, match="valid"):
        categorize(["a"], "morfessor")
