"""Figures from tiny results: each is a valid PNG with its data as CSV; the registry and bad input; report.py."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from transformers import AutoTokenizer

from langadapt import write_json
from langadapt.analysis import FIGURES, FigureContext, FigureOutput, NoFigureData
from langadapt.analysis.curves import find_lapt_runs
from langadapt.analysis.embeddings import load_input_embeddings
from langadapt.analysis.figures import draw_figures, new_figure, write_figures
from langadapt.analysis.frame import results_frame
from langadapt.evaluation import tables_by_task
from langadapt.layout import LAPT_RESULTS_FILE, UNIT_RESULTS_FILE
from langadapt.recipes_loader import load_recipe

from .tiny_models import tiny_xlmr_mlm

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 1000, path
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.width > 100 and image.height > 100
        return image.size


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def grid_records() -> list[dict]:
    """Results JSONs of a 2 × 2 grid (vocabulary × LAPT steps) on two languages, two seeds each."""
    records = []
    for vocabulary, vocab_gain in (("source", 0.0), ("8k", 0.05)):
        for steps in (100, 400):
            flops = (4e12 if vocabulary == "source" else 1.5e12) * steps  # a smaller vocabulary costs less
            for language in ("myv", "sme"):
                for seed in (1, 2):
                    acc = 0.5 + vocab_gain + 0.05 * math.log10(steps) + 0.01 * seed
                    records.append({
                        "task": "pos", "language": language, "regime": "few_shot", "seed": seed,
                        "metric": "accuracy", "metrics": {"accuracy": acc}, "model": f"{vocabulary}_{steps}",
                        "vocabulary": vocabulary, "alpha": 0.2, "lapt_steps": steps,
                        "lapt": {"flops": {"total": flops}, "steps": steps},
                    })  # fmt: skip
    records.append({**records[0], "model": "off_the_shelf", "alpha": None, "lapt_steps": 0, "lapt": None})
    return records


def test_results_frame_reads_grid_factors_and_lapt_summary():
    frame = results_frame(grid_records(), row_fields=("vocabulary",))
    assert len(frame) == 17 and set(frame["row"]) == {"source", "8k"} and frame["series"].equals(frame["row"])
    first = frame.iloc[0]
    assert (first["vocabulary"], first["alpha"], first["lapt_steps"], first["lapt_flops"]) == (
        "source",
        0.2,
        100,
        4e14,
    )
    assert pd.isna(frame.iloc[-1]["lapt_flops"]) and first["score"] == pytest.approx(100 * (0.5 + 0.1 + 0.01))
    overridden = results_frame(grid_records(), factor_fields={"alpha": ["lapt.steps"]})
    assert overridden.iloc[0]["alpha"] == 100
    with pytest.raises(ValueError, match="base columns"):
        results_frame(grid_records(), factor_fields={"language": ["lapt.steps"]})


def test_score_vs_flops_is_a_png_with_its_data(tmp_path):
    context = FigureContext(frame=results_frame(grid_records(), row_fields=("vocabulary", "lapt_steps")))
    paths = write_figures(["score_vs_flops"], context, tmp_path / "report")
    assert [p.name for p in paths] == ["report_fig_score_vs_flops_pos_few_shot_accuracy.png",
                                       "report_fig_score_vs_flops_pos_few_shot_accuracy.csv"]  # fmt: skip
    width, height = assert_png(paths[0])
    assert width > height  # one panel per language, side by side
    rows = read_csv(paths[1])
    assert len(rows) == 8  # 2 vocabularies × 2 step budgets × 2 languages (the off-the-shelf model has no FLOPs)
    point = next(r for r in rows if r["series"] == "8k" and r["language"] == "myv" and float(r["lapt_flops"]) == 6e14)
    assert float(point["mean"]) == pytest.approx(100 * (0.55 + 0.05 * math.log10(400) + 0.015))
    assert float(point["std"]) == pytest.approx(100 * 0.01 / math.sqrt(2)) and point["n"] == "2"


def test_table_bars_from_report_tables(tmp_path):
    tables = tables_by_task(grid_records())
    paths = write_figures(["table_bars"], FigureContext(tables=tables), tmp_path / "r")
    assert [p.suffix for p in paths] == [".png", ".csv"] and "bars_pos_few_shot_accuracy" in paths[0].name
    assert_png(paths[0])
    rows = read_csv(paths[1])
    assert {r["column"] for r in rows} == {"myv", "sme", "avg"}
    cell = tables[0].cells["8k_400", "sme"]
    row = next(r for r in rows if r["row"] == "8k_400" and r["column"] == "sme")
    assert float(row["mean"]) == pytest.approx(cell.mean) and float(row["std"]) == pytest.approx(cell.std)


def test_lapt_loss_curves_from_results_and_trainer_state(tmp_path):
    finished = tmp_path / "lapt" / "full_8k"
    write_json(finished / LAPT_RESULTS_FILE, {
        "dev_loss_curve": [{"step": 0, "loss": 9.0}, {"step": 10, "loss": 6.5}, {"step": 20, "loss": 6.1}],
        "best_step": 20, "flops": {"total": 3e12},
    })  # fmt: skip
    unfinished = tmp_path / "stopped"
    write_json(unfinished / "checkpoint-20" / "trainer_state.json", {
        "log_history": [{"step": 10, "loss": 7.0}, {"step": 10, "eval_loss": 7.2}, {"step": 20, "eval_loss": 6.9}],
        "best_model_checkpoint": str(unfinished / "checkpoint-20"),
    })  # fmt: skip
    runs = find_lapt_runs([tmp_path / "lapt", unfinished])
    assert [(r.name, r.curve, r.best_step) for r in runs] == [
        ("full_8k", [(0, 9.0), (10, 6.5), (20, 6.1)], 20),
        ("stopped", [(10, 7.2), (20, 6.9)], 20),
    ]
    paths = write_figures(["lapt_loss_curves"], FigureContext(lapt_runs=runs), tmp_path / "r")
    assert_png(paths[0])
    rows = read_csv(paths[1])
    assert len(rows) == 5 and rows[2] == {"run": "full_8k", "step": "20", "dev_loss": "6.1", "best": "True"}


@pytest.fixture(scope="module")
def replaced_model_dir(tmp_path_factory, target_tokenizer_dir) -> Path:
    """A tiny model with the 300-token target vocabulary (random rows), the same hidden size as the source."""
    directory = tmp_path_factory.mktemp("replaced")
    tokenizer = AutoTokenizer.from_pretrained(str(target_tokenizer_dir))
    tiny_xlmr_mlm(tokenizer, seed=1).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def test_embedding_pca_by_script_and_position(tmp_path, source_model_dir, replaced_model_dir):
    source_rows = load_input_embeddings(source_model_dir)  # tied: read from the decoder's copy
    assert source_rows.shape == (1000, 32)
    context = FigureContext(embedding_models=[("source", source_model_dir), ("random", replaced_model_dir)],
                            max_pca_points=500)  # fmt: skip
    paths = write_figures(["embedding_pca"], context, tmp_path / "r")
    width, height = assert_png(paths[0])
    rows = read_csv(paths[1])
    by_model = {name: [r for r in rows if r["model"] == name] for name in ("source", "random")}
    assert len(by_model["source"]) == 500 and len(by_model["random"]) == 300 - 5  # specials left out
    scripts = {r["script"] for r in by_model["source"]}
    assert {"Cyrillic", "Latin", "Greek"} <= scripts and {r["position"] for r in rows} == {"initial", "internal"}
    token = next(r for r in by_model["random"] if r["token"].startswith("▁"))
    assert token["position"] == "initial"
    assert not any(r["token"] in ("<s>", "<pad>", "</s>", "<unk>", "<mask>") for r in rows)


def test_no_data_is_an_error_when_asked_and_skipped_by_auto(tmp_path):
    empty = FigureContext(frame=results_frame([]))
    for name, match in [("score_vs_flops", "no results records"), ("lapt_loss_curves", "no LAPT run"),
                        ("table_bars", "no report table"), ("embedding_pca", "no embedding_models")]:  # fmt: skip
        with pytest.raises(NoFigureData, match=f"figure '{name}': {match}"):
            draw_figures([name], empty)
    assert draw_figures(["auto"], empty) == [] and draw_figures(["none"], empty) == []
    with pytest.raises(KeyError, match="unknown figure 'scatter'"):
        draw_figures(["scatter"], empty)
    with pytest.raises(ValueError, match="'none' cannot be combined"):
        draw_figures(["none", "table_bars"], empty)


def custom_figure(context: FigureContext) -> list[FigureOutput]:
    figure = new_figure()
    figure.subplots().plot([0, 1], [1, 0])
    return [FigureOutput("custom", figure, pd.DataFrame({"x": [0, 1], "y": [1, 0]}))]


def test_outside_figures_plug_in_by_path_or_registration(tmp_path):
    paths = write_figures([f"{__name__}:custom_figure"], FigureContext(), tmp_path / "r")
    assert_png(paths[0]) and read_csv(paths[1]) == [{"x": "0", "y": "1"}, {"x": "1", "y": "0"}]
    assert "custom_registered" not in FIGURES
    FIGURES.register("custom_registered")(custom_figure)
    try:
        assert [o.name for o in draw_figures(["custom_registered"], FigureContext())] == ["custom"]
    finally:
        FIGURES._entries.pop("custom_registered")


def test_report_recipe_writes_regression_and_figures(tmp_path, source_model_dir, replaced_model_dir):
    for k, record in enumerate(grid_records()):
        write_json(tmp_path / "results" / str(k) / UNIT_RESULTS_FILE, record)
    lapt_dir = tmp_path / "lapt" / "8k_400"
    write_json(lapt_dir / LAPT_RESULTS_FILE, {"dev_loss_curve": [{"step": 0, "loss": 9.0}, {"step": 400, "loss": 5.0}],
                                                 "best_step": 400})  # fmt: skip
    report = load_recipe("report")
    argv = ["--results_dirs", str(tmp_path / "results"), "--output_prefix", str(tmp_path / "out" / "grid"),
            "--row_fields", "vocabulary", "lapt_steps", "--regression", "true", "--regression_factors", "vocabulary", "lapt_steps",
            "--lapt_dirs", str(tmp_path / "lapt"),
            "--embedding_models", f"source={source_model_dir}", f"random={replaced_model_dir}"]  # fmt: skip
    written = report.main(*report.make_parser().parse(argv))
    names = {p.name for p in written}
    for figure in ("score_vs_flops_pos_few_shot_accuracy", "bars_pos_few_shot_accuracy", "lapt_dev_loss",
                   "embedding_pca"):  # fmt: skip
        assert f"grid_fig_{figure}.png" in names and f"grid_fig_{figure}.csv" in names, figure
        assert_png(tmp_path / "out" / f"grid_fig_{figure}.png")
    bars = read_csv(tmp_path / "out" / "grid_fig_bars_pos_few_shot_accuracy.csv")
    assert {r["row"] for r in bars} == {"8k / 100", "8k / 400", "source / 100", "source / 400", "source / 0"}
    text = (tmp_path / "out" / "grid.md").read_text()
    assert "1 score with lapt_steps ≤ 0 left out" in text  # the off-the-shelf model has no log10(steps)
    assert "## Mixed-effects regression" in text and "vocabulary[8k] (vs source)" in text
    assert "only 2 languages" in text  # the few-groups warning reaches the report
    assert "![grid_fig_embedding_pca](grid_fig_embedding_pca.png)" in text
    coefficients = read_csv(tmp_path / "out" / "grid_regression_coefficients.csv")
    vocab = next(r for r in coefficients if r["term"].startswith("vocabulary[8k]"))
    assert float(vocab["estimate"]) == pytest.approx(5.0, abs=0.5) and vocab["resource"] == "low"
    tests = read_csv(tmp_path / "out" / "grid_regression_tests.csv")
    assert [r["factor"] for r in tests] == ["vocabulary", "lapt_steps"]


def test_report_options_reject_bad_input():
    report = load_recipe("report")
    with pytest.raises(ValueError, match="regression_factors: unknown factor.*'size'"):
        report.make_parser().parse(["--results_dirs", "x", "--regression_factors", "size"])
    with pytest.raises(ValueError, match="embedding_models: expected NAME=MODEL_DIR"):
        report.make_parser().parse(["--results_dirs", "x", "--embedding_models", "just_a_dir"])
