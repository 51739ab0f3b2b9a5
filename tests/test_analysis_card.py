"""Model cards with results: model-index metadata (read back with huggingface_hub), a table, the LAPT curve."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import EvalResult, ModelCard, metadata_load

from langadapt import write_json
from langadapt.analysis import AnalysisArguments
from langadapt.analysis.model_card import card_with_results
from langadapt.analysis.pipeline import update_model_cards
from langadapt.lapt import build_model_card
from langadapt.layout import LAPT_RESULTS_FILE, UNIT_RESULTS_FILE
from langadapt.recipes_loader import load_recipe

from .test_analysis_figures import assert_png

LAPT_RESULTS = {
    "config": {"lapt_mode": "full", "max_steps": 20, "alpha": 0.2, "train_corpora": ["myv=a.txt"]},
    "steps": 20, "global_batch_size": 8, "sampling_probabilities": {"myv": 1.0}, "flops": {"total": 1e12},
    "dev_loss_curve": [{"step": 0, "loss": 9.0}, {"step": 10, "loss": 7.0}, {"step": 20, "loss": 6.5}],
    "best_dev_loss": 6.5, "best_step": 20, "wall_time_s": 60.0,
}  # fmt: skip


def _records(model_dir: Path) -> list[dict]:
    test_data = {"myv": "/data/ud/UD_Erzya-JR/myv_jr-ud-test.conllu", "sme": "hf:universal_dependencies?config=sme"}
    records = []
    for seed, scores in ((1, {"myv": 0.50, "sme": 0.70}), (2, {"myv": 0.60, "sme": 0.72})):
        for language, acc in scores.items():
            records.append({
                "task": "pos", "language": language, "regime": "few_shot", "seed": seed, "metric": "accuracy",
                "metrics": {"accuracy": acc}, "model": "lapt_full", "model_name_or_path": str(model_dir),
                "config": {"test_data": [f"{language}={test_data[language]}"]},
            })  # fmt: skip
    records.append({"task": "parse", "language": "myv", "regime": "full", "seed": 1, "metric": "las",
                    "metrics": {"uas": 0.61, "las": 0.52}, "model": "lapt_full", "model_name_or_path": str(model_dir),
                    "config": {"test_data": ["myv=/data/ud/UD_Erzya-JR/myv_jr-ud-test.conllu"]}})  # fmt: skip
    return records


@pytest.fixture
def lapt_output(tmp_path) -> Path:
    """A LAPT output directory: lapt_results.json and best/ with the card recipes/lapt.py writes."""
    out = tmp_path / "lapt_full_myv"
    write_json(out / LAPT_RESULTS_FILE, LAPT_RESULTS)
    provenance = {"source_model": "FacebookAI/xlm-roberta-base", "init_spec": "script+posn+ident", "vocab_size": 300}
    (out / "best").mkdir()
    build_model_card(LAPT_RESULTS, provenance, model_name="me/xlmr-myv").save(out / "best" / "README.md")
    return out


def test_card_carries_model_index_table_and_curve(lapt_output, tmp_path):
    model_dir = lapt_output / "best"
    written = update_model_cards(_records(model_dir), row_fields=("model",))
    assert {p.name for p in written} == {"README.md", "lapt_dev_loss.png", "lapt_dev_loss.csv"}
    assert_png(model_dir / "lapt_dev_loss.png")
    metadata = metadata_load(model_dir / "README.md")
    (index,) = metadata["model-index"]
    assert index["name"] == "me/xlmr-myv"  # the card's own title
    assert metadata["base_model"] == "FacebookAI/xlm-roberta-base"  # the LAPT card's own metadata is kept
    results = ModelCard.load(model_dir / "README.md").data.eval_results
    assert all(isinstance(r, EvalResult) for r in results) and len(results) == 4  # pos myv, pos sme, UAS, LAS
    pos_myv = next(r for r in results if r.dataset_config == "myv" and r.metric_type == "accuracy")
    assert (pos_myv.task_type, pos_myv.task_name) == ("token-classification", "Part-of-speech tagging")
    assert (pos_myv.dataset_name, pos_myv.dataset_type, pos_myv.dataset_split) == (
        "UD_Erzya-JR", "universal_dependencies", "test")  # fmt: skip
    assert (
        pos_myv.metric_value == pytest.approx(55.0)
        and pos_myv.metric_name == "accuracy, few_shot (%, mean of 2 seeds)"
    )
    sme = next(r for r in results if r.dataset_config == "sme")
    assert sme.dataset_name == "universal_dependencies" and sme.metric_value == pytest.approx(71.0)
    las = next(r for r in results if r.metric_type == "las")
    assert las.metric_value == pytest.approx(52.0) and las.task_name == "Dependency parsing"
    assert las.task_type == "dependency-parsing" and las.metric_name == "las, full (%, mean of 1 seed)"
    text = (model_dir / "README.md").read_text()
    assert "| pos | UD_Erzya-JR | myv | few_shot | accuracy | 55.0 ± 7.1 | 2 (1, 2) |" in text
    assert "| parse | UD_Erzya-JR | myv | full | las | 52.0 ± 0.0 | 1 (1) |" in text
    assert "![LAPT dev loss](lapt_dev_loss.png)" in text and "/data/ud" not in text and str(tmp_path) not in text
    assert text.index("## Evaluation results") < text.index("## How to load")  # before the load snippet
    # Updating again replaces the section instead of adding a second one.
    pos_myv_only = [r for r in _records(model_dir) if r["task"] == "pos" and r["language"] == "myv"]
    update_model_cards(pos_myv_only, row_fields=("model",))
    text = (model_dir / "README.md").read_text()
    assert text.count("## Evaluation results") == 1 and "| sme |" not in text
    assert len(ModelCard.load(model_dir / "README.md").data.eval_results) == 1


def test_card_without_results_is_an_error():
    with pytest.raises(ValueError, match="no results records"):
        card_with_results(ModelCard("---\n---\n# m\n"), [], "m")


def test_report_recipe_updates_cards(lapt_output, tmp_path):
    for k, record in enumerate(_records(lapt_output / "best")):
        write_json(tmp_path / "results" / str(k) / UNIT_RESULTS_FILE, record)
    report = load_recipe("report")
    args = report.ReportArguments(results_dirs=[str(tmp_path / "results")], output_prefix=str(tmp_path / "out" / "r"))
    written = report.main(args, AnalysisArguments(figures=["none"], model_cards=True))
    assert lapt_output / "best" / "README.md" in written
    assert "model-index" in metadata_load(lapt_output / "best" / "README.md")
