"""Report tables: mean ± std over seeds, average column, bolding, Markdown/CSV and the recipe."""

from __future__ import annotations

import pytest

from langadapt import write_json
from langadapt.evaluation import build_table, collect_results
from langadapt.layout import UNIT_RESULTS_FILE
from langadapt.recipes_loader import load_recipe

report = load_recipe("report")


def _record(model, lang, seed, acc, task="pos"):
    return {
        "task": task,
        "language": lang,
        "regime": "few_shot",
        "seed": seed,
        "model": model,
        "metric": "accuracy",
        "metrics": {"accuracy": acc},
        "config": {"init_method": model.upper()},
    }


RECORDS = [
    _record("a", "myv", 1, 0.50),
    _record("a", "myv", 2, 0.60),  # 55.0 ± 7.07
    _record("b", "myv", 1, 0.58),
    _record("b", "myv", 2, 0.60),  # 59.0 ± 1.41: best by mean − std
    _record("c", "myv", 1, 0.40),
    _record("c", "myv", 2, 0.42),  # 41.0 ± 1.41: not within one std
    _record("a", "sme", 1, 0.70),
    _record("a", "sme", 2, 0.70),
    _record("b", "sme", 1, 0.60),
    _record("b", "sme", 2, 0.62),
]


def test_table_cells_average_and_bolding():
    table = build_table(RECORDS, "accuracy", title="POS")
    assert table.rows == ["a", "b", "c"] and table.columns == ["myv", "sme", "avg"]
    assert table.cells["a", "myv"].mean == pytest.approx(55.0) and table.cells["a", "myv"].std == pytest.approx(
        7.0711, 1e-3
    )
    # avg per seed across languages: a = (50+70)/2, (60+70)/2 → 62.5 ± 3.54; c lacks sme → no average.
    assert (
        table.cells["a", "avg"].mean == pytest.approx(62.5)
        and table.cells["a", "avg"].std == pytest.approx(3.5355, 1e-3)
        and ("c", "avg") not in table.cells
    )
    bold = table.bold()
    # myv: b is best (59 − 1.41); a (55) is within 1.41 of 59? no; c no.
    assert ("b", "myv") in bold and ("a", "myv") not in bold and ("c", "myv") not in bold
    assert ("a", "sme") in bold and ("b", "sme") not in bold
    markdown = table.to_markdown()
    assert "| b | **59.0 ± 1.4** | 61.0 ± 1.4 |" in markdown and "| c | 41.0 ± 1.4 | – | – |" in markdown
    assert markdown.startswith("### POS")
    csv_text = table.to_csv().splitlines()
    assert csv_text[0].startswith("row,myv_mean,myv_std,myv_n") and csv_text[3].startswith("c,41.0000,1.4142,2")


def test_within_one_std_of_best_is_bolded():
    records = [
        _record("a", "x", 1, 0.60),
        _record("a", "x", 2, 0.70),
        _record("b", "x", 1, 0.64),
        _record("b", "x", 2, 0.64),
    ]
    table = build_table(records, "accuracy")  # b best by mean − std (64 vs 65 − 7.07); a's 65 ≥ 64 − 0
    assert table.bold() == {("a", "x"), ("b", "x")} and table.columns == ["x"]


def test_rows_from_config_fields_and_extra_columns():
    table = build_table(RECORDS, "accuracy", row_fields=("init_method",), extra={"runs": lambda rs: str(len(rs))})
    assert build_table(RECORDS[:1], "accuracy").to_markdown().endswith("| a | **50.0 (1 seed)** |\n")
    assert table.rows == ["A", "B", "C"] and table.extra["runs"]["A"] == "4"
    assert "|  | runs | myv | sme | avg |" in table.to_markdown()


def test_report_recipe_writes_markdown_and_csv(tmp_path):
    for k, record in enumerate(RECORDS + [_record("a", "et", 1, 0.5, task="parse")]):
        if record["task"] == "parse":
            record.update(metric="las", metrics={"uas": 0.6, "las": 0.5})
        write_json(tmp_path / "runs" / str(k) / UNIT_RESULTS_FILE, record)
    assert len(collect_results([tmp_path / "runs"])) == 11
    written = report.main(
        report.ReportArguments(results_dirs=[str(tmp_path / "runs")], output_prefix=str(tmp_path / "out" / "table"))
    )
    text = written[0].read_text()
    assert "### parse (few_shot) — UAS" in text and "### parse (few_shot) — LAS" in text and "### pos" in text
    assert "table_fig_bars_pos_few_shot_accuracy.png" in {p.name for p in written}  # figures beside the tables
    assert sorted(p.name for p in written[1:] if "_fig_" not in p.name) == [
        "table_parse_few_shot_las.csv",
        "table_parse_few_shot_uas.csv",
        "table_pos_few_shot_accuracy.csv",
    ]
