"""Sequence classification (``--task classify``): SIB-200 topics, sentiment, any text + label data.

Sources (``NAME=SOURCE[,SOURCE...]`` as for the other tasks):

* a ``.tsv`` / ``.csv`` file with a header: the text column is ``text`` and the label column the first of
  ``category`` (SIB-200: ``index_id<TAB>category<TAB>text``) and ``label``; ``path.tsv?text=COL&label=COL`` picks
  others; or
* a Hub dataset (or local dataset directory) ``hf:ID?config=NAME&split=train&text=COL&label=COL`` (class-label
  integers are mapped to their names).

Any source also takes ``random_split=train|dev|test[&split_seed=N]`` (a seeded 85/5/10 split, see `random_split`).
Labels are strings; the label set comes from the training data. A text longer than ``max_length`` tokens keeps
its first ``max_length − 2`` tokens (counted as ``truncated_texts`` and logged).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import numpy as np
import torch

from ..data.corpus import HUB_PREFIX, CorpusError, parse_hub_query
from ..io_utils import atomic_file
from .datasets import IGNORE_INDEX
from .heads import SequenceClassifier
from .metrics import compute_metric
from .regimes import RANDOM_SPLIT_PARTS, random_split
from .sources import DEFAULT_SPLIT_SEED, DataSpec, DataSpecError
from .tabular import is_tabular, read_header, read_tabular

logger = logging.getLogger(__name__)

TEXT_COLUMN = "text"
LABEL_COLUMNS = ("category", "label")  # the first one present is the label column


@dataclasses.dataclass
class TextExample:
    """One text with its gold label and where it comes from (``file:line`` or ``hf:...#row``)."""

    text: str
    label: str
    source: str


@dataclasses.dataclass
class EncodedText:
    """Token ids of one text (a single window, special tokens included) and its label id."""

    windows: list[list[int]]
    label: int


@dataclasses.dataclass
class TextEncodingStats:
    """What encoding had to do (reported in results JSONs)."""

    texts: int = 0
    truncated_texts: int = 0  # longer than max_length tokens: only the first ones are used
    empty_texts: int = 0  # no token at all (only <s> </s>)
    unknown_labels: int = 0  # gold labels absent from the training label set (never predictable)


def _source_options(source: str) -> tuple[str, dict[str, str]]:
    """(the source without its options, the options: text, label, random_split, split_seed)."""
    base, sep, query = source.partition("?")
    params = dict(parse_qsl(query, keep_blank_values=True)) if sep else {}
    options = {key: params.pop(key) for key in ("text", "label", "random_split", "split_seed") if key in params}
    if base.startswith(HUB_PREFIX):
        return (f"{base}?{urlencode(params)}" if params else base), options
    if params:
        raise DataSpecError(
            f"{source}: unknown parameter(s) {sorted(params)}; use text, label, random_split, split_seed"
        )
    return base, options


def _check_label(label, column: str, where: str) -> str:
    label = "" if label is None else str(label).strip()
    if not label:
        raise DataSpecError(f"{where}: empty label (column {column!r})")
    return label


def _load_tabular(path: str, options: dict[str, str]) -> list[TextExample]:
    header = read_header(path)
    label_column = options.get("label") or next((c for c in LABEL_COLUMNS if c in header), None)
    if label_column is None:
        raise DataSpecError(
            f"{path}: no label column (looked for {list(LABEL_COLUMNS)}; header {header}); add ?label="
        )
    text_column = options.get("text", TEXT_COLUMN)
    rows = read_tabular(path, [text_column, label_column])
    return [
        TextExample(
            row[text_column], _check_label(row[label_column], label_column, f"{path}:{line}"), f"{path}:{line}"
        )
        for line, row in rows
    ]


def _load_hub(source: str, options: dict[str, str]) -> list[TextExample]:
    import datasets

    try:
        dataset_id, query = parse_hub_query(source, ("config", "split"))
    except CorpusError as err:
        raise DataSpecError(str(err)) from err
    data = datasets.load_dataset(dataset_id, query.get("config"), split=query.get("split", "train"))
    text_column = options.get("text", TEXT_COLUMN)
    label_column = options.get("label") or next((c for c in LABEL_COLUMNS if c in data.column_names), None)
    if text_column not in data.column_names or label_column not in data.column_names:
        raise DataSpecError(f"{source}: needs a text and a label column (text=, label=); has {data.column_names}")
    names = getattr(data.features[label_column], "names", None)
    return [
        TextExample(
            str(row[text_column]),
            _check_label(names[row[label_column]] if names else row[label_column], label_column, f"{source}#{i}"),
            f"{source}#{i}",
        )
        for i, row in enumerate(data)
    ]


def load_examples(spec: DataSpec) -> list[TextExample]:
    """All examples of a spec's sources, in order."""
    examples: list[TextExample] = []
    for source in spec.sources:
        location, options = _source_options(source)
        if location.startswith(HUB_PREFIX):
            loaded = _load_hub(location, options)
        elif is_tabular(location):
            loaded = _load_tabular(location, options)
        else:
            raise DataSpecError(f"{location}: classification data must be a .tsv/.csv file or an hf: dataset")
        part = options.get("random_split")
        if part is not None:
            seed = options.get("split_seed", str(DEFAULT_SPLIT_SEED))
            if part not in RANDOM_SPLIT_PARTS or not seed.isdigit():
                raise DataSpecError(
                    f"{source}: random_split must be one of {RANDOM_SPLIT_PARTS} and split_seed an int"
                )
            try:
                loaded = random_split(loaded, int(seed))[part]
            except ValueError as err:
                raise DataSpecError(f"{location}: {err}") from err
        examples.extend(loaded)
    if not examples:
        raise DataSpecError(f"data {spec.name!r}: no examples in {list(spec.sources)}")
    return examples


def encode_texts(
    examples: Sequence[TextExample], tokenizer, max_length: int, label2id: Mapping[str, int], name: str = "data"
) -> tuple[list[EncodedText], TextEncodingStats]:
    """``<s> tokens </s>`` per text, truncated to ``max_length`` (counted); unknown labels → ignored, counted."""
    if max_length < 3:
        raise ValueError(f"max_length must be at least 3, got {max_length}")
    cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    stats = TextEncodingStats()
    ids_all = tokenizer([e.text for e in examples], add_special_tokens=False)["input_ids"]
    encoded, first_truncated = [], None
    for example, ids in zip(examples, ids_all):
        stats.texts += 1
        stats.empty_texts += not ids
        if len(ids) > max_length - 2:
            stats.truncated_texts += 1
            first_truncated = first_truncated or example.source
            ids = ids[: max_length - 2]
        stats.unknown_labels += example.label not in label2id
        encoded.append(EncodedText([[cls_id, *ids, sep_id]], label2id.get(example.label, IGNORE_INDEX)))
    if stats.truncated_texts:
        logger.warning(
            "%s: %d of %d texts are longer than max_length=%d tokens and were truncated (first: %s)",
            name,
            stats.truncated_texts,
            stats.texts,
            max_length,
            first_truncated,
        )
    if stats.unknown_labels or stats.empty_texts:
        logger.warning("%s: %s", name, stats)
    return encoded, stats


@dataclasses.dataclass
class TextCollator:
    """Pad texts into ``input_ids`` / ``attention_mask`` with their ``labels``."""

    pad_token_id: int

    def __call__(self, features: Sequence[EncodedText]) -> dict[str, torch.Tensor]:
        width = max(len(f.windows[0]) for f in features)
        input_ids = torch.full((len(features), width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(features), width), dtype=torch.long)
        for row, feature in enumerate(features):
            ids = feature.windows[0]
            input_ids[row, : len(ids)] = torch.tensor(ids)
            attention_mask[row, : len(ids)] = 1
        labels = torch.tensor([f.label for f in features], dtype=torch.long)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


class ClassificationTask:
    """One label per text; accuracy and macro-F1 (the dev metric). [KG]'s SIB-200 setting: 20 epochs."""

    name, metric, needs_tree = "classify", "macro_f1", False
    max_epochs, patience_epochs = 20, 20  # no early stopping within [KG]'s 20 epochs; the best dev one is kept
    prediction_suffix = ".tsv"

    def load(self, spec: DataSpec) -> list[TextExample]:
        return load_examples(spec)

    def label_sets(self, train: Sequence[TextExample]) -> dict[str, list[str]]:
        labels = sorted({e.label for e in train})
        if len(labels) < 2:
            raise ValueError(f"classification needs at least 2 labels in the training data, found {labels}")
        return {"labels": labels}

    def build_model(self, encoder, label_sets: dict[str, list[str]], options) -> SequenceClassifier:
        return SequenceClassifier(encoder, len(label_sets["labels"]), options.pooling, options.head_dropout)

    def encode(self, examples, tokenizer, max_length: int, label_sets, pooling: str, name: str):
        label2id = {label: i for i, label in enumerate(label_sets["labels"])}
        return encode_texts(examples, tokenizer, max_length, label2id, name)

    def collator(self, pad_token_id: int) -> TextCollator:
        return TextCollator(pad_token_id)

    def to_labels(self, predicted: np.ndarray, examples: Sequence[TextExample], label_sets) -> dict[str, list]:
        names = label_sets["labels"]
        return {"labels": [names[int(i)] for i in np.asarray(predicted).reshape(-1)[: len(examples)]]}

    def score(self, examples: Sequence[TextExample], predictions: dict, options) -> dict[str, float]:
        return compute_metric(
            "classification", predictions=predictions["labels"], references=[e.label for e in examples]
        )

    def write(self, path: str | Path, examples: Sequence[TextExample], predictions: dict) -> None:
        """``source<TAB>gold<TAB>predicted<TAB>text`` per text (tabs and line breaks in the text become spaces)."""
        with atomic_file(path) as out:
            out.write("source\tgold\tpredicted\ttext\n")
            for example, predicted in zip(examples, predictions["labels"], strict=True):
                text = " ".join(example.text.split())
                out.write(f"{example.source}\t{example.label}\t{predicted}\t{text}\n")


__all__ = [
    "ClassificationTask",
    "EncodedText",
    "TextCollator",
    "TextEncodingStats",
    "TextExample",
    "encode_texts",
    "load_examples",
]
