"""Where evaluation data comes from: ``NAME=SOURCE[,SOURCE...]`` specs over local files or Hub datasets.

NAME is the language (or treebank) the results are reported under. A SOURCE is

* a local CoNLL-U file (``*.conllu``) or token/tag file (anything else: ``token<TAB>tag``, IOB2 for NER); or
* a Hub dataset ``hf:DATASET_ID?config=NAME&split=train`` with a ``tokens`` column and the task's tag column
  (``upos``, ``ner_tags`` or ``tags``; integer class labels are mapped to their names), plus ``head``/``deprel``
  for parsing (the `universal_dependencies` layout). ``tags=COLUMN`` picks another tag column.

Several sources of one name are concatenated (e.g. the three splits of a small treebank for zero-shot training).

Data without a train/dev/test split (WikiAnn languages outside Rahimi et al.'s splits) takes one part of a seeded
random 85/5/10 split (at least 256 dev and 512 test sentences): ``myv=wikiann-myv.tsv?random_split=train`` (and
``=dev``, ``=test``; ``&split_seed=N``, default 42), on local files and Hub sources alike.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from ..data.corpus import HUB_PREFIX, CorpusError, check_unique_names, parse_hub_query, split_named_spec
from .conllu import Sentence, read_conllu
from .regimes import RANDOM_SPLIT_PARTS, random_split
from .tagfiles import read_tagfile

_TAG_COLUMNS = ("upos", "ner_tags", "tags", "pos_tags")
DEFAULT_SPLIT_SEED = 42


class DataSpecError(CorpusError):
    """A data spec is malformed or names a missing file."""


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """A named set of sources, e.g. ``myv=UD_Erzya-JR/myv_jr-ud-train.conllu``."""

    name: str
    sources: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> DataSpec:
        try:
            name, sources = split_named_spec(text, what="data")
        except CorpusError as err:
            raise DataSpecError(str(err)) from err
        for source in sources:
            location = source.partition("?")[0]  # options (random_split=, ...) are checked when loading
            if not source.startswith(HUB_PREFIX) and not Path(location).is_file():
                raise DataSpecError(f"data spec {name!r}: file not found: {location}")
        return cls(name=name, sources=tuple(sources))


def parse_data_specs(specs: list[str] | tuple[str, ...]) -> list[DataSpec]:
    """Parse several specs; a name given twice is an error (results would overwrite each other)."""
    parsed = [DataSpec.parse(spec) for spec in specs]
    try:
        check_unique_names([spec.name for spec in parsed], what="data")
    except CorpusError as err:
        raise DataSpecError(str(err)) from err
    return parsed


def split_request(source: str) -> tuple[str, str | None, int]:
    """(the source without ``random_split``/``split_seed``, the part asked for or None, the seed)."""
    base, sep, query = source.partition("?")
    if not sep:
        return source, None, DEFAULT_SPLIT_SEED
    params = dict(parse_qsl(query, keep_blank_values=True))
    part, seed = params.pop("random_split", None), params.pop("split_seed", str(DEFAULT_SPLIT_SEED))
    if part is not None and part not in RANDOM_SPLIT_PARTS:
        raise DataSpecError(f"{source}: random_split must be one of {', '.join(RANDOM_SPLIT_PARTS)}, got {part!r}")
    if not seed.isdigit():
        raise DataSpecError(f"{source}: split_seed must be a non-negative integer, got {seed!r}")
    if params and not source.startswith(HUB_PREFIX):
        raise DataSpecError(
            f"{source}: unknown parameter(s) {sorted(params)} for a local file; use random_split, split_seed"
        )
    return (f"{base}?{urlencode(params)}" if params else base), part, int(seed)


def _load_hub(source: str) -> list[Sentence]:
    import datasets

    try:
        dataset_id, query = parse_hub_query(source, ("config", "split", "tags"))
    except CorpusError as err:
        raise DataSpecError(str(err)) from err
    data = datasets.load_dataset(dataset_id, query.get("config"), split=query.get("split", "train"))
    tag_column = query.get("tags") or next((c for c in _TAG_COLUMNS if c in data.column_names), None)
    if "tokens" not in data.column_names or tag_column not in data.column_names:
        raise DataSpecError(f"{source}: needs a 'tokens' column and a tag column; has {data.column_names}")
    feature = data.features[tag_column]
    names = getattr(getattr(feature, "feature", None), "names", None)
    sentences = []
    for index, row in enumerate(data):
        tags = [names[t] if names is not None else str(t) for t in row[tag_column]]
        heads = (
            [int(h) if str(h).isdigit() else -1 for h in row["head"]]
            if "head" in row and row["head"] is not None
            else []
        )
        deprels = list(row["deprel"]) if "deprel" in row and row["deprel"] is not None else []
        lines = [
            "\t".join(
                [str(i + 1), w, "_", t, "_", "_", str(heads[i]) if heads else "_"]
                + [deprels[i] if deprels else "_", "_", "_"]
            )
            for i, (w, t) in enumerate(zip(row["tokens"], tags))
        ]
        sentences.append(Sentence(list(row["tokens"]), tags, heads, deprels, lines, f"{source}#{index}"))
    return sentences


def load_sentences(spec: DataSpec, check_tree: bool = True) -> list[Sentence]:
    """All sentences of a spec's sources, in order (one part of a source's random split where asked)."""
    sentences: list[Sentence] = []
    for source in spec.sources:
        location, part, seed = split_request(source)
        if location.startswith(HUB_PREFIX):
            loaded = _load_hub(location)
        elif location.endswith(".conllu"):
            loaded = read_conllu(location, check_tree=check_tree)
        else:
            loaded = read_tagfile(location)
        if part is not None:
            try:
                loaded = random_split(loaded, seed)[part]
            except ValueError as err:
                raise DataSpecError(f"{location}: {err}") from err
        sentences.extend(loaded)
    if not sentences:
        raise DataSpecError(f"data {spec.name!r}: no sentences in {list(spec.sources)}")
    return sentences
