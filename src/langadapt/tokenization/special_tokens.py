"""Special tokens of a source tokenizer: their roles, and where they sit in the vocabulary.

The new vocabulary keeps the source's special tokens with the same strings, roles and relative order:
tokens the source puts near the start of its vocabulary go first (XLM-R: ``<s>`` ``<pad>`` ``</s>`` ``<unk>``
= 0..3), tokens it puts at the end go last (XLM-R: ``<mask>`` = last id). No id is duplicated or left unused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Role names as in `PreTrainedTokenizerBase.SPECIAL_TOKENS_ATTRIBUTES`, minus the list-valued extras.
ROLES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
# Roles a SentencePiece control (never produced from text) piece plays; `unk` is SentencePiece's UNKNOWN type.
CONTROL_ROLES = tuple(role for role in ROLES if role != "unk_token")


@dataclass(frozen=True)
class SpecialTokenLayout:
    """Special-token strings by role plus their order at the start (``head``) and end (``tail``) of the vocab."""

    roles: dict[str, str]
    head: tuple[str, ...]
    tail: tuple[str, ...] = field(default_factory=tuple)

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.head + self.tail

    @property
    def unk_token(self) -> str:
        if "unk_token" not in self.roles:
            raise ValueError("the source tokenizer has no unk_token; a SentencePiece vocabulary needs one")
        return self.roles["unk_token"]

    def ids(self, vocab_size: int) -> dict[str, int]:
        """Token → id in a vocabulary of ``vocab_size`` laid out head + pieces + tail."""
        ids = {token: i for i, token in enumerate(self.head)}
        ids.update({token: vocab_size - len(self.tail) + i for i, token in enumerate(self.tail)})
        return ids

    @classmethod
    def from_tokenizer(cls, tokenizer) -> SpecialTokenLayout:
        """Read roles and positions off a Hugging Face tokenizer (source ids decide head vs tail)."""
        roles = {}
        for role in ROLES:
            token = getattr(tokenizer, role, None)
            if token is not None:
                roles[role] = str(token)
        if not roles:
            raise ValueError(f"tokenizer {type(tokenizer).__name__} declares no special tokens")
        source_ids = {token: tokenizer.convert_tokens_to_ids(token) for token in set(roles.values())}
        size = len(tokenizer)
        ordered = sorted(source_ids, key=lambda token: source_ids[token])
        # A token in the upper half of the source vocabulary was appended after the pieces (fairseq's <mask>).
        head = tuple(t for t in ordered if source_ids[t] < size // 2)
        tail = tuple(t for t in ordered if source_ids[t] >= size // 2)
        return cls(roles=roles, head=head, tail=tail)

    @classmethod
    def xlm_roberta(cls) -> SpecialTokenLayout:
        """XLM-R's layout: ``<s>`` ``<pad>`` ``</s>`` ``<unk>`` = 0..3, ``<mask>`` = last."""
        roles = {
            "bos_token": "<s>",
            "eos_token": "</s>",
            "unk_token": "<unk>",
            "sep_token": "</s>",
            "pad_token": "<pad>",
            "cls_token": "<s>",
            "mask_token": "<mask>",
        }
        return cls(roles=roles, head=("<s>", "<pad>", "</s>", "<unk>"), tail=("<mask>",))

    def to_dict(self) -> dict:
        return {"roles": dict(self.roles), "head": list(self.head), "tail": list(self.tail)}
