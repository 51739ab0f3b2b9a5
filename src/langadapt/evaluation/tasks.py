"""The evaluation tasks (POS tagging, dependency parsing, NER), looked up by name in `TASKS`.

A task knows its label sets (taken from the training data), its head, how to turn decoded ids back into labels,
how to score and how to write predictions. Users register their own with ``@TASKS.register("name")`` or pass a
``module:callable`` path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from torch import nn

from ..registry import Registry
from .conllu import Sentence, find_cycle, write_conllu
from .heads import BiaffineParserHead, TaggerHead
from .metrics import attachment_scores, entity_scores, tag_accuracy
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


class TaggingTask:
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
            return entity_scores(gold, predictions["tags"], strict_iob2=options.ner_strict_iob2)
        return tag_accuracy(gold, predictions["tags"])

    def write(self, path: str | Path, sentences: Sequence[Sentence], predictions: dict) -> None:
        if sentences and sentences[0].lines and not self.ner:
            write_conllu(path, sentences, upos=predictions["tags"])
        else:
            write_tagfile(path, sentences, predictions["tags"])


class ParsingTask:
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
        return attachment_scores(
            [s.heads for s in sentences],
            [s.deprels for s in sentences],
            predictions["heads"],
            predictions["deprels"],
            options.las_ignore_subtypes,
        )

    def write(self, path: str | Path, sentences: Sequence[Sentence], predictions: dict) -> None:
        write_conllu(path, sentences, heads=predictions["heads"], deprels=predictions["deprels"])


TASKS.register("pos")(TaggingTask("pos", "accuracy", max_epochs=64, patience_epochs=8))
TASKS.register("ner")(TaggingTask("ner", "f1", max_epochs=32, patience_epochs=4, ner=True))
TASKS.register("parse")(ParsingTask())


def get_task(name: str):
    """The task registered as ``name`` (or a ``module:callable`` path; a callable is called to build it)."""
    task = TASKS.get(name)
    return task() if isinstance(task, type) else task
