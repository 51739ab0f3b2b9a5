"""`make demo` from a copy of the committed tree, in a temporary directory (slow: 3 minutes on idle cores, ~17 under heavy load)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from langadapt.layout import PROVENANCE_FILE

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path):
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    clone = tmp_path / "langadapt"
    for name in files:
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, clone / name)
    # The demo script is what `make demo` runs once .venv exists; use this interpreter and the copied sources.
    env = dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        PYTHONPATH=str(clone / "src"),
    )
    result = subprocess.run(
        ["bash", "scripts/demo.sh"], cwd=clone, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = clone / "runs" / "demo"
    assert "| demo-lapt-full-script+posn+ident |" in result.stdout  # the results table is printed
    assert (out / "lapt" / "best" / "README.md").is_file()  # the model card
    provenance = json.loads((out / "model_init" / PROVENANCE_FILE).read_text(encoding="utf-8"))
    assert provenance["init_spec"] == "script+posn+ident" and provenance["vocab_size"] == 384
    results = sorted(out.glob("finetune/**/results.json"))
    assert len(results) == 2
    for path in results:
        accuracy = json.loads(path.read_text(encoding="utf-8"))["metrics"]["accuracy"]
        assert accuracy > 0.5  # the toy languages are regular: far above the majority tag (~35% NOUN)
