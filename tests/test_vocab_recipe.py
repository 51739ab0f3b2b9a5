"""recipes/replace_vocab.py: --help, an in-process main() on tiny data, bad output directories, the configs."""

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer

from langadapt import LangadaptParser
from langadapt.layout import PROVENANCE_FILE, SENTENCEPIECE_MODEL_FILE
from langadapt.recipes_loader import RECIPES_DIR, load_recipe
from langadapt.vocab import InitOptions, VocabReplacementArguments

replace_vocab = load_recipe("replace_vocab")


def _parse(argv):
    return LangadaptParser((VocabReplacementArguments, InitOptions)).parse(argv)


def _argv(source: Path, target: Path, output: Path, *extra: str) -> list[str]:
    return [
        "--model_name_or_path",
        str(source),
        "--target_tokenizer",
        str(target),
        "--output_dir",
        str(output),
        *extra,
    ]


def test_main_writes_a_trainable_model_with_provenance(source_model_dir, target_tokenizer_dir, tmp_path):
    output = tmp_path / "model"
    args = _parse(
        _argv(source_model_dir, target_tokenizer_dir, output, "--init_spec", "script+posn+ident", "--seed", "7")
    )
    assert replace_vocab.main(*args) == output
    model = AutoModelForMaskedLM.from_pretrained(output)
    tokenizer = AutoTokenizer.from_pretrained(output)
    assert model.config.vocab_size == len(tokenizer) == 300
    assert tokenizer.model_max_length == AutoTokenizer.from_pretrained(source_model_dir).model_max_length
    provenance = json.loads((output / PROVENANCE_FILE).read_text(encoding="utf-8"))
    for key in ("source_model", "target_tokenizer", "init_spec", "vocab_size", "seed", "summary", "tokens"):
        assert key in provenance
    assert provenance["seed"] == 7 and provenance["init_spec"] == "script+posn+ident"
    assert provenance["summary"]["counts_per_method"]["ident"] > 0
    assert len(provenance["tokens"]) == 300
    assert (output / SENTENCEPIECE_MODEL_FILE).is_file()  # kept from the target tokenizer directory
    batch = tokenizer(["Ковазя эрзя.", "Mii leat dáppe."], return_tensors="pt", padding=True)
    loss = model(**batch, labels=batch["input_ids"]).loss
    assert torch.isfinite(loss)


@pytest.mark.parametrize(
    ("extra", "error", "message"),
    [
        (["--init_spec", "script+bogus"], KeyError, "valid names"),
        (["--init_spec", "focus", "--fasttext_model", "missing.bin"], FileNotFoundError, "fastText model not found"),
    ],
)
def test_bad_input_writes_nothing(source_model_dir, target_tokenizer_dir, tmp_path, extra, error, message):
    output = tmp_path / "model"
    args = _parse(_argv(source_model_dir, target_tokenizer_dir, output, *extra))
    with pytest.raises(error, match=message):
        replace_vocab.main(*args)
    assert not output.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_existing_output_dir_is_refused_without_overwrite(source_model_dir, target_tokenizer_dir, tmp_path):
    output = tmp_path / "model"
    output.mkdir()
    (output / "config.json").write_text("{}", encoding="utf-8")
    argv = _argv(source_model_dir, target_tokenizer_dir, output, "--init_spec", "ident")
    with pytest.raises(FileExistsError, match="--overwrite"):
        replace_vocab.main(*_parse(argv))
    assert (output / "config.json").read_text(encoding="utf-8") == "{}"
    replace_vocab.main(*_parse([*argv, "--overwrite"]))
    assert (output / PROVENANCE_FILE).is_file()


@pytest.mark.parametrize("config", sorted(RECIPES_DIR.glob("configs/*/replace_vocab_*.yaml")))
def test_configs_parse(config):
    args, options = _parse([str(config)])
    assert args.model_name_or_path and args.output_dir
    assert options.init_spec in ("script+posn+ident", "focus")
