"""Token categories used by the SCRIPT and SCRIPT+POSN heuristics: Unicode script and word position.

The script is the most frequent Unicode *Script* property (via the maintained `unicodedataplus` tables, not
the Unicode block) among the token's characters; ties go to the script seen first; Common and Inherited
characters count only when the token has nothing else; a token of only the word marker is Common.

Word position follows the tokenizer's convention: SentencePiece marks word starts with ``▁``, byte-level BPE
with ``Ġ``; WordPiece marks word *continuations* with ``##``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import cache, lru_cache

import unicodedataplus

SENTENCEPIECE = "sentencepiece"
WORDPIECE = "wordpiece"
BYTELEVEL = "bytelevel"
CONVENTIONS = (SENTENCEPIECE, WORDPIECE, BYTELEVEL)

SP_MARKER = "\u2581"  # ▁
BPE_MARKER = "\u0120"  # Ġ
WORDPIECE_MARKER = "##"
INITIAL = "initial"
INTERNAL = "internal"
WEAK_SCRIPTS = ("Common", "Inherited")


@cache
def char_script(char: str) -> str:
    """Unicode Script property of one character (cached: 250k tokens share a few thousand characters)."""
    return unicodedataplus.script(char)


@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's bytes→printable-unicode map, to read byte-level BPE tokens as text."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars)}


def detect_convention(tokens: Sequence[str], model_type: str | None = None) -> str:
    """Which word-marking convention a vocabulary uses (the tokenizer model type wins when known)."""
    if model_type == "WordPiece":
        return WORDPIECE
    sample = tokens[:: max(1, len(tokens) // 20_000)]  # a spread-out sample decides as well as all 250k
    counts = {
        SENTENCEPIECE: sum(t.startswith(SP_MARKER) for t in sample),
        WORDPIECE: sum(t.startswith(WORDPIECE_MARKER) for t in sample),
        BYTELEVEL: sum(t.startswith(BPE_MARKER) for t in sample),
    }
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else SENTENCEPIECE


def surface_text(token: str, convention: str) -> str:
    """The token's characters without its word marker (byte-level tokens decoded back to text)."""
    if convention == SENTENCEPIECE:
        return token[1:] if token.startswith(SP_MARKER) else token
    if convention == WORDPIECE:
        return token[2:] if token.startswith(WORDPIECE_MARKER) else token
    decoder = _byte_decoder()
    raw = bytes(decoder[c] for c in token if c in decoder)
    return raw.decode("utf-8", errors="ignore").lstrip(" ")


def script_of_text(text: str) -> str:
    """Most frequent strong script, ties → first seen; Common/Inherited only when nothing else; empty → Common."""
    scripts = list(map(char_script, text))
    if not scripts:
        return "Common"
    if len(set(scripts)) == 1:  # the usual case, decided without counting
        return scripts[0]
    pool = [s for s in scripts if s not in WEAK_SCRIPTS] or scripts
    counts = Counter(pool)
    # max() returns the first maximal item and dict.fromkeys keeps first-seen order: ties go to the first seen
    return max(dict.fromkeys(pool), key=counts.__getitem__)


def token_script(token: str, convention: str = SENTENCEPIECE) -> str:
    """Script of a vocabulary entry (a lone word marker is Common)."""
    return script_of_text(surface_text(token, convention))


def token_position(token: str, convention: str = SENTENCEPIECE) -> str:
    """``initial`` if the token starts a word under the tokenizer's convention, else ``internal``."""
    if convention == SENTENCEPIECE:
        return INITIAL if token.startswith(SP_MARKER) else INTERNAL
    if convention == WORDPIECE:
        return INTERNAL if token.startswith(WORDPIECE_MARKER) else INITIAL
    return INITIAL if token.startswith(BPE_MARKER) else INTERNAL


def categorize(tokens: Sequence[str], convention: str) -> tuple[list[str], list[str]]:
    """Scripts and positions of a whole vocabulary (one cheap pass; per-character lookups are cached)."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown word-marking convention {convention!r}; valid: {', '.join(CONVENTIONS)}")
    scripts = [token_script(t, convention) for t in tokens]
    positions = [token_position(t, convention) for t in tokens]
    return scripts, positions
