"""CoNLL-U and token/tag file reading, validation errors and prediction writing."""

from __future__ import annotations

import pytest

from langadapt.evaluation import read_conllu
from langadapt.evaluation.conllu import ConlluError, parse_conllu, write_conllu
from langadapt.evaluation.sources import DataSpec, DataSpecError, load_sentences
from langadapt.evaluation.tagfiles import TagFileError, parse_tagfile

SAMPLE = """# sent_id = 1
# text = Vámonos al mar.
1-2\tVámonos\t_\t_\t_\t_\t_\t_\t_\t_
1\tVamos\tir\tVERB\t_\t_\t0\troot\t_\t_
2\tnos\tnosotros\tPRON\t_\t_\t1\tobj\t_\t_
3-4\tal\t_\t_\t_\t_\t_\t_\t_\t_
3\ta\ta\tADP\t_\t_\t5\tcase\t_\t_
4\tel\tel\tDET\t_\t_\t5\tdet\t_\t_
4.1\tvan\tir\tVERB\t_\t_\t_\t_\t0:root\t_
5\tmar\tmar\tNOUN\t_\t_\t1\tobl:arg\t_\tSpaceAfter=No
6\t.\t.\tPUNCT\t_\t_\t1\tpunct\t_\t_

1\tHei\thei\tINTJ\t_\t_\t0\troot\t_\t_
"""


def test_multiword_tokens_expanded_and_empty_nodes_skipped():
    first, second = parse_conllu(SAMPLE.splitlines(keepends=True), name="sample.conllu")
    assert first.words == ["Vamos", "nos", "a", "el", "mar", "."]
    assert first.tags == ["VERB", "PRON", "ADP", "DET", "NOUN", "PUNCT"]
    assert first.heads == [0, 1, 5, 5, 1, 1]
    assert first.deprels == ["root", "obj", "case", "det", "obl:arg", "punct"]
    assert first.source == "sample.conllu:1"
    assert second.words == ["Hei"] and second.heads == [0] and second.source == "sample.conllu:13"


def test_write_predictions_keeps_comments_ranges_and_empty_nodes(tmp_path):
    path = tmp_path / "gold.conllu"
    path.write_text(SAMPLE, encoding="utf-8")
    sentences = read_conllu(path)
    out = tmp_path / "pred.conllu"
    write_conllu(out, sentences, heads=[[0, 1, 1, 1, 1, 1], [0]], deprels=[["root"] * 6, ["root"]])
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# sent_id = 1" and lines[2].startswith("1-2\t") and any(x.startswith("4.1\t") for x in lines)
    again = read_conllu(out)
    assert again[0].heads == [0, 1, 1, 1, 1, 1] and again[0].tags == sentences[0].tags


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1\tA\ta\tNOUN\t_\t_\t0\troot\t_", "expected 10 tab-separated columns, found 9"),
        ("1\tA\ta\tNOUN\t_\t_\tx\troot\t_\t_", "HEAD 'x' is not a non-negative integer"),
        ("1\tA\ta\tNOUN\t_\t_\t7\troot\t_\t_", "HEAD 7 is out of range"),
        ("2\tA\ta\tNOUN\t_\t_\t0\troot\t_\t_", "out of sequence"),
    ],
)
def test_malformed_lines_name_file_and_line(line, message):
    text = ["# c\n", line + "\n", "\n"]
    with pytest.raises(ConlluError, match=message) as info:
        parse_conllu(text, name="bad.conllu")
    assert "bad.conllu:" in str(info.value)
    if "columns" in message or "HEAD" in message:
        assert "bad.conllu:2" in str(info.value)


def test_gold_cycle_is_an_error_unless_disabled():
    text = ["1\tA\t_\tX\t_\t_\t2\tdep\t_\t_\n", "2\tB\t_\tX\t_\t_\t1\tdep\t_\t_\n", "\n"]
    with pytest.raises(ConlluError, match=r"cycle through words \[1, 2\]"):
        parse_conllu(text, name="cyc.conllu")
    assert parse_conllu(text, check_tree=False)[0].heads == [2, 1]


def test_tagfile_reading_prefix_and_errors():
    sentences = parse_tagfile(["et:Tallinn\tB-LOC\n", "et:on\tO\n", "\n", "et:Mari\tB-PER\n"], name="x.tsv")
    assert [s.words for s in sentences] == [["Tallinn", "on"], ["Mari"]]
    assert sentences[1].tags == ["B-PER"] and sentences[1].source == "x.tsv:4"
    with pytest.raises(TagFileError, match=r"x.tsv:2: expected 'token<TAB>tag' \(2 non-empty columns\), found 3"):
        parse_tagfile(["a\tO\n", "b\tO\textra\n"], name="x.tsv")
    with pytest.raises(TagFileError, match="x.tsv:1"):
        parse_tagfile(["lonely\n"], name="x.tsv")


def test_data_specs(tmp_path):
    conllu = tmp_path / "a.conllu"
    conllu.write_text(SAMPLE, encoding="utf-8")
    tags = tmp_path / "b.tsv"
    tags.write_text("x\tO\n\ny\tB-LOC\n", encoding="utf-8")
    spec = DataSpec.parse(f"xx={conllu},{tags}")
    assert spec.name == "xx" and len(load_sentences(spec)) == 4
    with pytest.raises(DataSpecError, match="NAME=SOURCE"):
        DataSpec.parse(str(conllu))
    with pytest.raises(DataSpecError, match="file not found"):
        DataSpec.parse(f"xx={tmp_path / 'missing.conllu'}")


def test_hub_style_dataset_with_class_labels(tmp_path):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features(
        {
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=["O", "B-LOC"])),
        }
    )
    data = datasets.Dataset.from_dict({"tokens": [["Tartu", "on"]], "ner_tags": [[1, 0]]}, features=features)
    data.to_parquet(str(tmp_path / "train.parquet"))
    # A local dataset directory loads through the same code path as a Hub id.
    (sentence,) = load_sentences(DataSpec.parse(f"et=hf:{tmp_path}?split=train"))
    assert sentence.words == ["Tartu", "on"] and sentence.tags == ["B-LOC", "O"]
