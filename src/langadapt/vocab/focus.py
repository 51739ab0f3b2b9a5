"""FOCUS (Dobler & de Melo 2023), following the reference implementation `deepfocus` 1.0.1 step by step.

1. Canonical forms: SentencePiece vocabularies (> 100 tokens starting with ``▁``) → ``▁`` + decoded text for
   word-initial tokens, the decoded text otherwise (byte-fallback ``<0xNN>`` kept as is); WordPiece
   (> 100 ``##`` tokens) → ``##`` removed or ``▁`` prepended; anything else → decoded text, ``Ġ`` → ``▁``.
   Among source tokens with the same canonical form, deepfocus uses the one with the highest id.
2. Overlap: exact canonical match (default), optionally fuzzy (case and marker ignored) and symbols.
3. Overlapping tokens are copied. Tokens without a fastText vector (not in its vocabulary, i.e. rarer than
   ``min_count``) are "very rare": rare overlapping ones are no anchors, rare new ones are left to the
   next method (RANDOM = N(source mean, source std) by default, as in deepfocus).
4. Every other new token = sparsemax(cosine similarities of its fastText vector to the anchors' vectors) ·
   the anchors' source rows — computed here for all new tokens at once in row chunks, not one by one.
"""

from __future__ import annotations

import logging
import re
import string
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .methods import InitContext, register_method
from .plan import InitPlan

logger = logging.getLogger(__name__)

SP_MARKER, BPE_MARKER = "\u2581", "\u0120"
SIMILARITY_CHUNK = 2048  # new tokens per block of the (new × anchors) similarity matrix
MIN_FASTTEXT_MATCH = 0.9  # share of a fastText model's words that must be target tokens


class FastTextMismatchError(ValueError):
    """The fastText model was not trained on text tokenized with the target tokenizer."""


def _import_fasttext():
    try:
        import fasttext
    except ImportError as err:  # optional extra
        raise ImportError("FOCUS needs the fastText package: pip install 'langadapt[fasttext]'") from err
    return fasttext


def canonical_forms(tokenizer: Any, tokens: Sequence[str]) -> list[str]:
    """deepfocus's canonical form of every token id (decoded in one batch call).

    Ids past the tokenizer (unused padding rows of the embedding matrix) get a form nothing can match.
    """
    known = min(len(tokenizer), len(tokens))
    padding = [f"\x00unused{i}" for i in range(known, len(tokens))]
    return _canonical_forms(tokenizer, tokens[:known]) + padding


def _canonical_forms(tokenizer: Any, tokens: Sequence[str]) -> list[str]:
    decoded = tokenizer.batch_decode([[i] for i in range(len(tokens))])
    if sum(t[:1] == SP_MARKER for t in tokens) > 100:
        byte_fallback = re.compile(r"<0x[0-9,A-F]{2}>")
        return [
            t if byte_fallback.match(t) else (SP_MARKER + d.lstrip() if t.startswith(SP_MARKER) else d.lstrip())
            for t, d in zip(tokens, decoded)
        ]
    if sum(t[:2] == "##" for t in tokens) > 100:
        return [d[2:] if d.startswith("##") else SP_MARKER + d for d in decoded]
    return [SP_MARKER + d.lstrip() if t.startswith(BPE_MARKER) else d.lstrip() for t, d in zip(tokens, decoded)]


def _views(canonical: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """First source id per canonical form and per fuzzy form, in deepfocus's list order."""
    exact: dict[str, int] = {}
    fuzzy_canonical: dict[str, int] = {}  # a token whose canonical form *is* the fuzzy key: the last one wins
    fuzzy_other: dict[str, int] = {}  # otherwise the first one appended stays first
    for source_id, form in enumerate(canonical):
        exact[form] = source_id  # deepfocus inserts each later duplicate at the front of the list
        key = form.replace(SP_MARKER, "").lower()
        if key == form:
            fuzzy_canonical[key] = source_id
        else:
            fuzzy_other.setdefault(key, source_id)
    return exact, {**fuzzy_other, **fuzzy_canonical}


def _is_symbol(form: str, special_tokens: set[str]) -> bool:
    return form in special_tokens or form.isnumeric() or all(c in string.punctuation for c in form) or form.isspace()


def focus_overlap(context: InitContext) -> dict[int, int]:
    """target id → source id of the overlapping tokens, per deepfocus's matching options."""
    options = context.options
    source_forms = canonical_forms(context.source_tokenizer, context.source_tokens)
    target_forms = canonical_forms(context.target_tokenizer, context.target_tokens)
    exact, fuzzy = _views(source_forms)
    specials = set(context.target_tokenizer.all_special_tokens)
    overlap: dict[int, int] = {}
    for target_id, form in enumerate(target_forms):
        key = form.replace(SP_MARKER, "").lower()
        if options.focus_match_symbols and _is_symbol(key, specials) and (form in exact or key in fuzzy):
            overlap[target_id] = exact[form] if form in exact else fuzzy[key]
        elif options.focus_exact_match_all and form in exact:
            overlap[target_id] = exact[form]
        elif options.focus_fuzzy_match_all and key in fuzzy:
            overlap[target_id] = fuzzy[key]
    return overlap


def train_fasttext(
    corpus: Sequence[str | Path],
    tokenizer: Any,
    output: str | Path,
    dim: int = 100,
    epochs: int = 3,
    min_count: int = 10,
    threads: int = 1,
):
    """deepfocus's token-level fastText: CBOW, neg 10, on the corpus tokenized with the target tokenizer.

    fastText seeds each thread with its index, so one thread gives a reproducible model.
    """
    fasttext = _import_fasttext()
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as handle:
        tokenized_path = handle.name
        for path in corpus:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
            for start in range(0, len(lines), 10_000):
                batch = lines[start : start + 10_000]
                for ids in tokenizer(batch, add_special_tokens=False)["input_ids"]:
                    handle.write(" ".join(tokenizer.convert_ids_to_tokens(ids)) + "\n")
    try:
        model = fasttext.train_unsupervised(
            tokenized_path, model="cbow", dim=dim, epoch=epochs, minCount=min_count, neg=10, thread=threads
        )
    finally:
        Path(tokenized_path).unlink(missing_ok=True)
    model.save_model(str(output))
    return model


def check_fasttext_vocabulary(words: Sequence[str], target_vocab: dict[str, int], name: str) -> None:
    """Refuse a fastText model whose words are mostly not target tokens (trained on another tokenization)."""
    words = [w for w in words if w != "</s>"]  # fastText's own end-of-line word
    if not words:
        raise FastTextMismatchError(f"fastText model {name} has an empty vocabulary")
    matched = sum(w in target_vocab for w in words) / len(words)
    if matched < MIN_FASTTEXT_MATCH:
        examples = [w for w in words if w not in target_vocab][:5]
        raise FastTextMismatchError(
            f"fastText model {name}: only {matched:.0%} of its {len(words)} words are tokens of the target "
            f"tokenizer (e.g. {examples}); train it on text tokenized with the target tokenizer"
        )


def load_fasttext(context: InitContext, workdir: str | Path | None = None):
    """The fastText model given by ``options.fasttext_model``, or one trained on ``options.fasttext_corpus``."""
    options = context.options
    fasttext = _import_fasttext()
    if options.fasttext_model:
        path = Path(options.fasttext_model)
        if not path.is_file():
            raise FileNotFoundError(f"fastText model not found: {path}")
        model = fasttext.load_model(str(path))
        check_fasttext_vocabulary(model.get_words(), {t: i for i, t in enumerate(context.target_tokens)}, str(path))
        return model
    if options.fasttext_corpus:
        output = Path(workdir or tempfile.mkdtemp()) / "fasttext.bin"
        logger.info(
            "training fastText (cbow, dim %d, %d epochs) on %s",
            options.fasttext_dim,
            options.fasttext_epochs,
            options.fasttext_corpus,
        )
        return train_fasttext(
            options.fasttext_corpus,
            context.target_tokenizer,
            output,
            options.fasttext_dim,
            options.fasttext_epochs,
            options.fasttext_min_count,
            options.fasttext_threads,
        )
    raise ValueError("the focus method needs --fasttext_model (a .bin) or --fasttext_corpus (text files)")


def sparsemax(scores: torch.Tensor) -> torch.Tensor:
    """Row-wise sparsemax (Martins & Astudillo 2016): Euclidean projection of each row onto the simplex."""
    sorted_scores, _ = torch.sort(scores, dim=-1, descending=True)
    cumulative = sorted_scores.cumsum(dim=-1) - 1.0
    ranks = torch.arange(1, scores.shape[-1] + 1, dtype=scores.dtype, device=scores.device)
    support = (sorted_scores * ranks > cumulative).sum(dim=-1, keepdim=True)
    threshold = cumulative.gather(-1, support - 1) / support.to(scores.dtype)
    return torch.clamp(scores - threshold, min=0.0)


def focus_weights(new_vectors: torch.Tensor, anchor_vectors: torch.Tensor) -> torch.Tensor:
    """(new × anchors) sparse convex weights: sparsemax of cosine similarities, in row chunks."""
    new_unit = torch.nn.functional.normalize(new_vectors.float(), dim=1)
    anchor_unit = torch.nn.functional.normalize(anchor_vectors.float(), dim=1)
    rows = []
    for start in range(0, len(new_unit), SIMILARITY_CHUNK):
        weights = sparsemax(new_unit[start : start + SIMILARITY_CHUNK] @ anchor_unit.T)
        rows.append(weights.to_sparse())
    return torch.cat(rows).coalesce() if rows else torch.zeros(0, len(anchor_unit)).to_sparse()


@register_method("focus", 20, "FOCUS: copy overlapping tokens, sparsemax-weighted anchors for the rest")
def init_focus(context: InitContext, plan: InitPlan) -> None:
    model = getattr(context, "fasttext", None) or load_fasttext(context)
    context.fasttext = model
    known = set(model.get_words())

    def vector(token: str) -> torch.Tensor | None:
        if token not in known:
            return None
        values = torch.from_numpy(model.get_word_vector(token).copy())
        return values if values.abs().sum() > 0 else None  # deepfocus: all-zero vectors count as very rare

    overlap = focus_overlap(context)
    context.focus_overlap_count = len(overlap)
    anchors = {t: (s, v) for t, s in sorted(overlap.items()) if (v := vector(context.target_tokens[t])) is not None}
    free_overlap = [t for t in sorted(overlap) if plan.is_free(t)]
    if free_overlap:
        plan.add_copies(torch.tensor(free_overlap), torch.tensor([overlap[t] for t in free_overlap]), "focus_copy")
    candidates = [t for t in plan.free_ids().tolist() if t not in overlap]
    new_vectors = {t: v for t in candidates if (v := vector(context.target_tokens[t])) is not None}
    if not new_vectors or not anchors:
        logger.warning(
            "FOCUS: %d new tokens with vectors, %d anchors: nothing to combine", len(new_vectors), len(anchors)
        )
        return
    new_ids = list(new_vectors)
    anchor_targets = list(anchors)
    anchor_sources = torch.tensor([anchors[t][0] for t in anchor_targets])
    weights = focus_weights(
        torch.stack([new_vectors[t] for t in new_ids]), torch.stack([anchors[t][1] for t in anchor_targets])
    )
    rows, columns = weights.indices()
    values = weights.values()
    new_id_tensor = torch.tensor(new_ids)[rows]
    source_ids = anchor_sources[columns]
    details: dict[int, dict] = {t: {"anchors": []} for t in new_ids}
    for new_id, source_id, weight in zip(new_id_tensor.tolist(), source_ids.tolist(), values.tolist()):
        details[new_id]["anchors"].append([source_id, round(weight, 6)])
    for entry in details.values():  # keep provenance small: the strongest anchors first, at most 10
        entry["anchors"] = sorted(entry["anchors"], key=lambda pair: -pair[1])[:10]
    plan.add_combinations(new_id_tensor, source_ids, values, "focus", details)
    logger.info(
        "FOCUS: %d overlapping, %d anchors, %d combined, %d too rare for fastText",
        len(overlap),
        len(anchors),
        len(new_ids),
        len(candidates) - len(new_ids),
    )
