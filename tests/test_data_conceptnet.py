"""ConceptNet assertions → sentences, on a small dump in the official format written here."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from langadapt.data import ConceptNetArguments, convert_conceptnet
from langadapt.data.conceptnet import ConceptNetConverter, ConceptNetError, load_templates, parse_concept
from langadapt.layout import DATA_REPORT_FILE
from langadapt.recipes_loader import load_recipe


def _edge(relation: str, start: str, end: str, weight: float = 1.0) -> str:
    uri = f"/a/[{relation}/,{start}/,{end}/]"
    info = json.dumps({"dataset": "/d/wiktionary/en", "license": "cc:by-sa/4.0", "weight": weight})
    return "\t".join([uri, relation, start, end, info])


EDGES = [
    _edge("/r/IsA", "/c/myv/кудо/n", "/c/myv/тарка"),  # 1 kept: myv
    _edge("/r/Synonym", "/c/myv/ведь", "/c/en/water/n"),  # 2 kept under myv (start in myv)
    _edge("/r/Synonym", "/c/en/house/n", "/c/myv/кудо/n/wn/artifact"),  # 3 kept under myv (end in myv)
    _edge("/r/IsA", "/c/en/dog/n", "/c/en/animal"),  # 4 other language
    _edge("/r/ExternalURL", "/c/myv/кудо", "http://dbpedia.org/resource/House"),  # 5 skipped relation
    _edge("/r/IsA", "/c/myv/кудо", "/c/myv/тарка/n"),  # 6 same sentence as line 1: duplicate
    _edge("/r/PartOf", "/c/se/juolgi/n", "/c/se/rumaš", weight=0.5),  # 7 kept: se
    _edge("/r/RelatedTo", "/c/myv/ало_кудо", "/c/myv/кудо", weight=0.2),  # 8 kept (multi-word term)
]


def _write_dump(path: Path, lines: list[str]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    return path


def _args(tmp_path: Path, dump: Path, **overrides) -> ConceptNetArguments:
    values = {"assertions": [str(dump)], "languages": ["myv", "se"], "output_dir": str(tmp_path / "out")}
    return ConceptNetArguments(**{**values, **overrides})


def test_conversion_of_a_crafted_dump(tmp_path):
    dump = _write_dump(tmp_path / "assertions.csv.gz", EDGES)
    report = load_recipe("prepare_conceptnet").main(_args(tmp_path, dump))
    out = tmp_path / "out"
    assert (out / "myv.txt").read_text(encoding="utf-8").splitlines() == [
        "кудо is a тарка.",
        "ведь is a synonym of water.",
        "house is a synonym of кудо.",
        "ало кудо is related to кудо.",
    ]
    assert (out / "se.txt").read_text(encoding="utf-8").splitlines() == ["juolgi is part of rumaš."]
    assert report["lines"] == 8 and report["other_languages"] == 1 and report["duplicates"] == 1
    assert report["skipped_relations"] == {"/r/ExternalURL": 1} and report["bad_lines"] == 0
    assert report["sentences"] == {"myv": 4, "se": 1}
    assert report["relations"] == {"/r/IsA": 1, "/r/PartOf": 1, "/r/RelatedTo": 1, "/r/Synonym": 2}
    assert json.loads((out / DATA_REPORT_FILE).read_text(encoding="utf-8"))["sentences"] == report["sentences"]


def test_both_ends_and_min_weight(tmp_path):
    dump = _write_dump(tmp_path / "assertions.csv.gz", EDGES)
    report = convert_conceptnet(_args(tmp_path, dump, require_both_ends=True, min_weight=0.4))
    assert (tmp_path / "out" / "myv.txt").read_text(encoding="utf-8").splitlines() == ["кудо is a тарка."]
    # Lines 2, 3, 5 (one end not in myv/se) and 4: other languages; line 8 (weight 0.2) below the minimum.
    assert report["other_languages"] == 4 and report["below_min_weight"] == 1 and report["sentences"]["se"] == 1


def test_wrong_field_count_is_an_error_naming_file_and_line_or_counted(tmp_path):
    lines = [EDGES[0], "/a/[x]\t/r/IsA\t/c/myv/кудо", EDGES[6]]
    dump = _write_dump(tmp_path / "bad.csv.gz", lines)
    with pytest.raises(ConceptNetError, match=r"bad\.csv\.gz:2: expected 5 tab-separated fields .* found 3"):
        convert_conceptnet(_args(tmp_path, dump))
    assert not (tmp_path / "out").exists()  # nothing half-written
    report = convert_conceptnet(_args(tmp_path, dump, bad_lines="skip"))
    assert report["bad_lines"] == 1 and report["sentences"] == {"myv": 1, "se": 1}


def test_malformed_concept_uri_is_a_bad_line(tmp_path):
    dump = _write_dump(tmp_path / "bad.csv", [_edge("/r/IsA", "/c/myv/кудо", "/x/myv"), EDGES[0], EDGES[6]])
    with pytest.raises(ConceptNetError, match=r"bad\.csv:1: not a concept URI"):
        convert_conceptnet(_args(tmp_path, dump))


def test_relation_without_template_is_an_error_or_counted(tmp_path):
    dump = _write_dump(tmp_path / "a.csv.gz", [EDGES[0], _edge("/r/Frobnicates", "/c/myv/кудо", "/c/se/x"), EDGES[6]])
    with pytest.raises(ConceptNetError, match=r"a\.csv\.gz:2: relation /r/Frobnicates has no template"):
        convert_conceptnet(_args(tmp_path, dump))
    report = convert_conceptnet(_args(tmp_path, dump, unknown_relations="skip"))
    assert report["unknown_relations"] == {"/r/Frobnicates": 1} and report["sentences"] == {"myv": 1, "se": 1}


def test_user_templates_replace_the_shipped_ones(tmp_path):
    templates = tmp_path / "templates.tsv"
    templates.write_text("# mine\n/r/IsA\t{start} – {end}\n/r/PartOf\t-\n", encoding="utf-8")
    dump = _write_dump(tmp_path / "a.csv.gz", [EDGES[0], EDGES[6]])
    report = convert_conceptnet(_args(tmp_path, dump, languages=["myv"], templates=str(templates)))
    assert (tmp_path / "out" / "myv.txt").read_text(encoding="utf-8") == "кудо – тарка\n"
    assert report["other_languages"] == 1 and report["templates"] == str(templates)


def test_bad_templates_files(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("/r/IsA\t{start} is a thing\n", encoding="utf-8")
    with pytest.raises(ConceptNetError, match=r"t\.tsv:1: template for /r/IsA needs both"):
        load_templates(path)
    path.write_text("/r/IsA {start} {end}\n", encoding="utf-8")
    with pytest.raises(ConceptNetError, match=r"t\.tsv:1: expected RELATION<TAB>TEMPLATE"):
        load_templates(path)


def test_shipped_templates_cover_the_conceptnet_5_relations():
    templates = load_templates()
    assert templates["/r/IsA"] == "{start} is a {end}." and templates["/r/ExternalURL"] is None
    assert len(templates) >= 50 and all(r.startswith("/r/") for r in templates)


def test_language_without_sentences_and_existing_output_are_errors(tmp_path):
    dump = _write_dump(tmp_path / "a.csv.gz", [EDGES[0]])
    with pytest.raises(ConceptNetError, match=r"no sentence for language\(s\) \['se'\]"):
        convert_conceptnet(_args(tmp_path, dump))
    convert_conceptnet(_args(tmp_path, dump, languages=["myv"]))
    with pytest.raises(FileExistsError, match="--overwrite"):
        convert_conceptnet(_args(tmp_path, dump, languages=["myv"]))


def test_parse_concept_and_policies():
    concept = parse_concept("/c/en/ice_cream/n/wn/food")
    assert (concept.language, concept.text) == ("en", "ice cream")
    with pytest.raises(ValueError, match="bad_lines must be one of"):
        ConceptNetConverter(["myv"], {}, bad_lines="ignore")
