"""Session fixtures: a tiny synthetic corpus, a tiny XLM-R-style source model and a target tokenizer.

Everything is made here from seeded synthetic text: the tests never touch the network or ../shared/data.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
import torch
from transformers import XLMRobertaTokenizer

from langadapt.layout import PROVENANCE_FILE, SENTENCEPIECE_MODEL_FILE
from langadapt.recipes_loader import load_recipe
from langadapt.tokenization import SpecialTokenLayout, TokenizerTrainingArguments, train_sentencepiece
from langadapt.tokenization.hf_tokenizer import build_hf_tokenizer

from .lapt_helpers import PROVENANCE
from .tiny_models import tiny_xlmr_mlm

SYLLABLES = {
    # Erzya-like Cyrillic, North-Sami-like Latin (with its letters), and Greek for the source's third script.
    "myv": ["ко", "ва", "ня", "эр", "зя", "нь", "ла", "ме", "сь", "ту", "ды", "пе", "ре", "шка", "ёв", "мо"],
    "sme": ["go", "ah", "čá", "đe", "ŋa", "šu", "ži", "ŧa", "ál", "la", "ve", "sá", "mii", "don", "ba", "jo"],
    "ell": ["κα", "λη", "με", "ρα", "το", "νι", "πο", "λύ", "σο", "φι", "θε", "ωρ"],
}


def synthetic_lines(language: str, num_lines: int, seed: int) -> list[str]:
    """Seeded pseudo-sentences: 3–12 words of 1–4 syllables, some capitalised, ending with punctuation."""
    rng = random.Random(f"{language}-{seed}")
    syllables = SYLLABLES[language]
    lines = []
    for _ in range(num_lines):
        words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(3, 12))]
        words[0] = words[0].capitalize()
        lines.append(" ".join(words) + rng.choice([".", ".", "?", "!", ","]))
    return lines


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_corpus_dir(tmp_path_factory) -> Path:
    """``myv.txt`` (Cyrillic, 400 lines) and ``sme.txt`` (Latin with Sami letters, 200 lines)."""
    directory = tmp_path_factory.mktemp("corpus")
    write_lines(directory / "myv.txt", synthetic_lines("myv", 400, seed=0))
    write_lines(directory / "sme.txt", synthetic_lines("sme", 200, seed=0))
    return directory


@pytest.fixture(scope="session")
def source_model_dir(tmp_path_factory) -> Path:
    """A tiny XLM-R-style masked LM (random weights) with a 1000-token SentencePiece tokenizer."""
    directory = tmp_path_factory.mktemp("source_model")
    text = directory / "source_text.txt"
    write_lines(text, [line for lang in SYLLABLES for line in synthetic_lines(lang, 300, seed=1)])
    layout = SpecialTokenLayout.xlm_roberta()
    proto = train_sentencepiece(text, vocab_size=1000, layout=layout, seed=0)
    model_path = directory / SENTENCEPIECE_MODEL_FILE
    model_path.write_bytes(proto.SerializeToString())
    text.unlink()
    tokenizer = build_hf_tokenizer(proto, layout, XLMRobertaTokenizer, "unigram")
    tokenizer.model_max_length = 128  # max_position_embeddings - 2, as XLM-R's 512 for 514 positions
    tokenizer.save_pretrained(directory)
    model = tiny_xlmr_mlm(tokenizer, max_position_embeddings=130)
    with torch.no_grad():  # a non-zero output bias makes bias-mapping bugs visible
        model.lm_head.bias.normal_(0.0, 0.5)
    model.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def target_tokenizer_dir(tmp_path_factory, tiny_corpus_dir, source_model_dir) -> Path:
    """A 300-token tokenizer trained by ``recipes/train_tokenizer.py`` on the tiny corpus, laid out like the source."""
    output = tmp_path_factory.mktemp("target_tokenizer") / "tokenizer"
    args = TokenizerTrainingArguments(
        corpora=[f"myv={tiny_corpus_dir / 'myv.txt'}", f"sme={tiny_corpus_dir / 'sme.txt'}"],
        tokenizer_name_or_path=str(source_model_dir),
        output_dir=str(output),
        vocab_size=300,
        num_sample_lines=3000,
        stats_lines=100,
        seed=0,
    )
    return load_recipe("train_tokenizer").main(args)


@pytest.fixture(scope="module")
def lapt_model_dir(tmp_path_factory, source_model_dir) -> Path:
    """The tiny source model without dropout (runs compare exactly) and with a vocabulary-replacement provenance."""
    directory = tmp_path_factory.mktemp("lapt_model") / "model"
    shutil.copytree(source_model_dir, directory)
    config = json.loads((directory / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (directory / "config.json").write_text(json.dumps(config))
    (directory / PROVENANCE_FILE).write_text(json.dumps(PROVENANCE))
    return directory


@pytest.fixture(scope="module")
def lapt():
    """recipes/lapt.py as a module (its main() runs LAPT in-process)."""
    return load_recipe("lapt")
