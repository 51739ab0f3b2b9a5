"""The evaluation tasks (POS tagging, dependency parsing, NER, text classification), looked up by name in `TASKS`.

A task knows how to load its data, its label sets (taken from the training data), its model and how to encode and
batch its data for it, how to turn decoded ids back into labels, how to score (through the `evaluate` modules of
`metrics`) and how to write predictions. Users register their own with ``@TASKS.register("name")`` or pass a
``module:callable`` path; word-level tasks inherit the loading, model and encoding of `WordTask`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from torch import nn

from ..registry import Registry
from .classification import ClassificationTask
from .conllu import Sentence, find_cycle, write_conllu
from .datasets import WordCollator, encode_sentences
from .heads import BiaffineParserHead, TaggerHead, WordLevelModel
from .metrics import compute_metric
from .sources import DataSpec, load_sentences
from .tagfiles import write_tagfile

TASKS: Registry = Registry("evaluation task")


@dataclasses.dataclass
class TaskOptions:
    """Head and scoring options shared by the tasks (filled from the recipe's arguments)."""

    head_dropout: float = 0.1
    arc_dim: int = 512
    rel_dim: int = 128
    parser_dropout: float = 0.33
    decoding: str = "mst"
    las_ignore_subtypes: bool = True
    ner_strict_iob2: bool = False
    pooling: str = "mean"

    @classmethod
    def from_arguments(cls, model_args) -> TaskOptions:
        """The options of the same names in ``model_args`` (`EvalModelArguments`)."""
        return cls(**{f.name: getattr(model_args, f.name) for f in dataclasses.fields(cls)})


class WordTask:
    """What word-level tasks share: sentences from CoNLL-U / token-tag / Hub sources, an encoder with word pooling
    and a head (`build_head`), subword windows per sentence."""

    needs_tree = False

    def load(self, spec: DataSpec) -> list[Sentence]:
        return load_sentences(spec, self.needs_tree)

    def build_model(self, encoder, label_sets: dict[str, list[str]], options: TaskOptions) -> WordLevelModel:
        return WordLevelModel(encoder, self.build_head(encoder.config.hidden_size, label_sets, options))

    def encode(self, sentences, tokenizer, max_length: int, label_sets, pooling: str, name: str):
        tag_map = {t: i for i, t in enumerate(label_sets["labels"])} if "labels" in label_sets else None
        rel_map = {t: i for i, t in enumerate(label_sets["relations"])} if "relations" in label_sets else None
        return encode_sentences(sentences, tokenizer, max_length, tag_map, rel_map, pooling, name)

    def collator(self, pad_token_id: int) -> WordCollator:
        return WordCollator(pad_token_id)


class TaggingTask(WordTask):
    """Word tagging scored by accuracy (POS) or, for NER, entity F1 with the ``O`` down-weighting."""

    needs_tree = False
    prediction_suffix = ".tsv"

    def __init__(self, name: str, metric: str, max_epochs: int, patience_epochs: int, ner: bool = False):
        self.name, self.metric = name, metric
        self.max_epochs, self.patience_epochs, self.ner = max_epochs, patience_epochs, ner
        self.prediction_suffix = ".tsv" if ner else ".conllu"

    def label_sets(self, train: Sequence[Sentence]) -> dict[str, list[str]]:
        labels = sorted({t for s in train for t in s.tags})
        if self.ner:
            bad = [t for t in labels if t != "O" and not (t[:2] in ("B-", "I-") and len(t) > 2)]
            if bad:
                raise ValueError(f"NER tags must be IOB2 (O, B-X, I-X); training data has {bad[:5]}")
        return {"labels": labels}

    def build_head(self, hidden_size: int, label_sets: dict[str, list[str]], options: TaskOptions) -> nn.Module:
        labels = label_sets["labels"]
        o_id = labels.index("O") if self.ner and "O" in labels else None
        return TaggerHead(hidden_size, len(labels), options.head_dropout, o_label_id=o_id)

    def to_labels(self, predicted: np.ndarray, sentences: Sequence[Sentence], label_sets) -> dict[str, list]:
        names = label_sets["labels"]
        return {"tags": [[names[i] for i in predicted[k, : len(s)]] for k, s in enumerate(sentences)]}

    def score(self, sentences: Sequence[Sentence], predictions: dict, options: TaskOptions) -> dict[str, float]:
        gold = [s.tags for s in sentences]
        if self.ner:
            return compute_metric(
                "entity_f1", predictions=predictions["tags"], references=gold, strict_iob2=options.ner_strict_iob2
            )
        return compute_metric("upos_accuracy", predictions=predictions["tags"], references=gold)

    def write(self, path: str | Path, sentences: Sequence[Sentence], predictions: dict) -> None:
        if sentences and sentences[0].lines and not self.ner:
            write_conllu(path, sentences, upos=predictions["tags"])
        else:
            write_tagfile(path, sentences, predictions["tags"])


class ParsingTask(WordTask):
    """Dependency parsing: biaffine heads + relations, MST decoding, UAS/LAS like the CoNLL 2018 evaluator."""

    name, metric, needs_tree = "parse", "las", True
    max_epochs, patience_epochs = 64, 8
    prediction_suffix = ".conllu"

    def label_sets(self, train: Sequence[Sentence]) -> dict[str, list[str]]:
        for sentence in train:
            if not sentence.heads or min(sentence.heads) < 0:
                raise ValueError(f"{sentence.source}: parsing needs HEAD and DEPREL for every word")
            if find_cycle(sentence.heads) is not None:
                raise ValueError(f"{sentence.source}: gold tree has a cycle")
        return {"relations": sorted({r for s in train for r in s.deprels})}

    def build_head(self, hidden_size: int, label_sets: dict[str, list[str]], options: TaskOptions) -> nn.Module:
        return BiaffineParserHead(
            hidden_size,
            len(label_sets["relations"]),
            options.arc_dim,
            options.rel_dim,
            options.parser_dropout,
            options.decoding,
        )

    def to_labels(self, predicted: np.ndarray, sentences: Sequence[Sentence], label_sets) -> dict[str, list]:
        names = label_sets["relations"]
        heads = [predicted[k, : len(s), 0].tolist() for k, s in enumerate(sentences)]
        rels = [[names[i] for i in predicted[k, : len(s), 1]] for k, s in enumerate(sentences)]
        return {"heads": heads, "deprels": rels}

    def score(self, sentences: Sequence[Sentence], predictions: dict, options: TaskOptions) -> dict[str, float]:
        return compute_metric(
            "attachment_scores",
            predictions=[{"heads": h, "deprels": r} for h, r in zip(predictions["heads"], predictions["deprels"])],
            references=[{"heads": s.heads, "deprels": s.deprels} for s in sentences],
            ignore_subtypes=options.las_ignore_subtypes,
        )

    def write(self, path: str | Path, sentences: Sequence[Sentence], predictions: dict) -> None:
        write_conllu(path, sentences, heads=predictions["heads"], deprels=predictions["deprels"])


TASKS.register("pos")(TaggingTask("pos", "accuracy", max_epochs=64, patience_epochs=8))
TASKS.register("ner")(TaggingTask("ner", "f1", max_epochs=32, patience_epochs=4, ner=True))
TASKS.register("parse")(ParsingTask())
TASKS.register("classify")(ClassificationTask())


def get_task(name: str):
    """The task registered as ``name`` (or a ``module:callable`` path; a callable is called to build it)."""
    task = TASKS.get(name)
    return task() if isinstance(task, type) else task
