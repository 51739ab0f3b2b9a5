"""ConceptNet 5 assertions → plain-text sentences, [KG]'s knowledge-graph text for LAPT.

The official dump (``conceptnet-assertions-5.7.0.csv.gz``) has one edge per line, five tab-separated fields::

    /a/[/r/IsA/,/c/myv/кудо/n/,/c/myv/тарка/]   /r/IsA   /c/myv/кудо/n   /c/myv/тарка   {"weight": 1.0, ...}

(edge URI, relation, start concept, end concept, JSON info). An edge is kept when its start or end concept is in
one of the target languages (``require_both_ends``: both), and becomes one sentence through its relation's template
("``{start} is a {end}.``"). Templates come from a tab-separated file shipped with the package
(``conceptnet_templates.tsv``) that users replace with ``--templates``. Sentences are de-duplicated per language
and written one per line, which is what ``prepare_data`` and ``lapt`` read.

Bad input, per policy (``error`` by default, or ``skip``, counted in the report): a line without exactly five
fields or with a malformed concept URI or JSON info (``bad_lines``), a relation the templates file does not list
(``unknown_relations``). Every error names the file and line.
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..io_utils import atomic_directory, check_output_dir, write_json
from ..layout import DATA_REPORT_FILE

logger = logging.getLogger(__name__)

TEMPLATES_FILE_NAME = "conceptnet_templates.tsv"
SKIP_TEMPLATE = "-"  # a template of "-" drops the relation on purpose (e.g. /r/ExternalURL)
POLICIES = ("error", "skip")
NUM_FIELDS = 5


class ConceptNetError(ValueError):
    """Malformed ConceptNet input or templates; the message names the file and line."""


@dataclass(frozen=True)
class Concept:
    """A ConceptNet concept: ``/c/en/ice_cream/n`` → language ``en``, text ``ice cream``."""

    language: str
    text: str


def parse_concept(uri: str) -> Concept:
    """The language and surface text of a concept URI (part of speech and sense are dropped)."""
    parts = uri.split("/")
    if len(parts) < 4 or parts[0] != "" or parts[1] != "c" or not parts[2] or not parts[3]:
        raise ValueError(f"not a concept URI (/c/LANG/TERM[/...]): {uri!r}")
    return Concept(parts[2], parts[3].replace("_", " "))


def default_templates_path() -> Path:
    return Path(str(resources.files("langadapt.data") / TEMPLATES_FILE_NAME))


def load_templates(path: str | Path | None = None) -> dict[str, str | None]:
    """Relation URI → template (None: skip that relation). Lines ``RELATION<TAB>TEMPLATE``; ``#`` comments."""
    path = Path(path) if path else default_templates_path()
    if not path.is_file():
        raise ConceptNetError(f"templates file not found: {path}")
    templates: dict[str, str | None] = {}
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
            raise ConceptNetError(f"{path}:{line_number}: expected RELATION<TAB>TEMPLATE, found {line!r}")
        relation, template = fields[0].strip(), fields[1].strip()
        if relation in templates:
            raise ConceptNetError(f"{path}:{line_number}: relation {relation} listed twice")
        if template != SKIP_TEMPLATE and ("{start}" not in template or "{end}" not in template):
            raise ConceptNetError(f"{path}:{line_number}: template for {relation} needs both {{start}} and {{end}}")
        templates[relation] = None if template == SKIP_TEMPLATE else template
    if not templates:
        raise ConceptNetError(f"{path}: no templates")
    return templates


def render(template: str, start: str, end: str) -> str:
    # str.replace, not str.format: a term or template may contain braces.
    return template.replace("{start}", start).replace("{end}", end)


@dataclass
class ConversionReport:
    """What happened to every line read (written to ``report.json``)."""

    lines: int = 0
    other_languages: int = 0  # neither end (or, with require_both_ends, not both) in the target languages
    bad_lines: int = 0  # skipped under bad_lines=skip
    below_min_weight: int = 0
    skipped_relations: Counter = field(default_factory=Counter)  # template "-"
    unknown_relations: Counter = field(default_factory=Counter)  # skipped under unknown_relations=skip
    duplicates: int = 0
    sentences: Counter = field(default_factory=Counter)  # per language
    relations: Counter = field(default_factory=Counter)  # kept sentences per relation

    def to_dict(self) -> dict:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {key: dict(sorted(v.items())) if isinstance(v, Counter) else v for key, v in values.items()}


class ConceptNetConverter:
    """Turn assertion lines into (language, sentence) pairs, de-duplicated per language, counting every drop."""

    def __init__(
        self,
        languages: Iterable[str],
        templates: dict[str, str | None],
        min_weight: float = 0.0,
        require_both_ends: bool = False,
        bad_lines: str = "error",
        unknown_relations: str = "error",
    ):
        for name, policy in (("bad_lines", bad_lines), ("unknown_relations", unknown_relations)):
            if policy not in POLICIES:
                raise ValueError(f"{name} must be one of {POLICIES}, got {policy!r}")
        self.languages = list(dict.fromkeys(languages))
        if not self.languages:
            raise ValueError("at least one target language is needed")
        self.prefixes = tuple(f"/c/{lang}/" for lang in self.languages)
        self.templates = templates
        self.min_weight = min_weight
        self.require_both_ends = require_both_ends
        self.bad_lines, self.unknown_relations = bad_lines, unknown_relations
        self.report = ConversionReport()
        self._seen: dict[str, set[str]] = {lang: set() for lang in self.languages}

    def _bad(self, where: str, message: str) -> None:
        if self.bad_lines == "error":
            raise ConceptNetError(f"{where}: {message} (pass --bad_lines skip to count and skip such lines)")
        self.report.bad_lines += 1

    def convert(self, line: str, where: str) -> tuple[str, str] | None:
        """The (language, sentence) of one assertion line, or None when it is dropped (and counted)."""
        self.report.lines += 1
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) != NUM_FIELDS:
            self._bad(
                where,
                f"expected {NUM_FIELDS} tab-separated fields (URI, relation, start, end, info), found {len(fields)}",
            )
            return None
        _, relation, start_uri, end_uri, info = fields
        # Cheap prefix checks first: the full dump has 34M edges, a few thousand per low-resource language.
        start_in, end_in = start_uri.startswith(self.prefixes), end_uri.startswith(self.prefixes)
        if not ((start_in and end_in) if self.require_both_ends else (start_in or end_in)):
            self.report.other_languages += 1
            return None
        if relation not in self.templates:
            if self.unknown_relations == "error":
                raise ConceptNetError(
                    f"{where}: relation {relation} has no template; add it to the templates file or pass "
                    "--unknown_relations skip to count and skip such edges"
                )
            self.report.unknown_relations[relation] += 1
            return None
        template = self.templates[relation]
        if template is None:
            self.report.skipped_relations[relation] += 1
            return None
        try:
            start, end = parse_concept(start_uri), parse_concept(end_uri)
        except ValueError as err:
            self._bad(where, str(err))
            return None
        if self.min_weight > 0:
            try:
                weight = float(json.loads(info).get("weight", 1.0))
            except (ValueError, AttributeError, TypeError) as err:
                self._bad(where, f"info field is not a JSON object with a numeric weight: {err}")
                return None
            if weight < self.min_weight:
                self.report.below_min_weight += 1
                return None
        language = start.language if start_in else end.language
        sentence = render(template, start.text, end.text)
        if sentence in self._seen[language]:
            self.report.duplicates += 1
            return None
        self._seen[language].add(sentence)
        self.report.sentences[language] += 1
        self.report.relations[relation] += 1
        return language, sentence

    def convert_files(self, paths: Iterable[str | Path]) -> Iterator[tuple[str, str]]:
        for path in paths:
            for line_number, line in _read_lines(Path(path)):
                converted = self.convert(line, f"{path}:{line_number}")
                if converted is not None:
                    yield converted


def _read_lines(path: Path) -> Iterator[tuple[int, str]]:
    if not path.is_file():
        raise ConceptNetError(f"{path}: file not found")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for line_number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                yield line_number, raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ConceptNetError(f"{path}:{line_number}: invalid UTF-8 at byte {err.start}") from err


def expand_paths(patterns: Iterable[str]) -> list[str]:
    paths = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise ConceptNetError(f"no file matches {pattern!r}")
        paths.extend(matches)
    return paths


@dataclass
class ConceptNetArguments:
    """Arguments of ``recipes/prepare_conceptnet.py``."""

    assertions: list[str] = field(
        default=None,
        metadata={"help": "ConceptNet 5 assertion dumps (tab-separated, .csv or .csv.gz; globs allowed)."},
    )
    languages: list[str] = field(
        default=None, metadata={"help": "Target language codes as ConceptNet writes them (/c/LANG/...), e.g. myv."}
    )
    output_dir: str = field(
        default=None, metadata={"help": "Where LANG.txt (one sentence per line) and report.json go (atomically)."}
    )
    templates: str | None = field(
        default=None,
        metadata={"help": f"RELATION<TAB>TEMPLATE file; default: the package's {TEMPLATES_FILE_NAME}."},
    )
    require_both_ends: bool = field(
        default=False, metadata={"help": "Keep only edges whose start and end are both in the target languages."}
    )
    min_weight: float = field(default=0.0, metadata={"help": "Drop edges whose JSON info weight is below this."})
    bad_lines: str = field(
        default="error",
        metadata={
            "help": "Wrong field count or malformed URI/JSON: error (naming file:line) or skip (counted).",
            "choices": POLICIES,
        },
    )
    unknown_relations: str = field(
        default="error",
        metadata={
            "help": "A relation the templates file lacks: error (naming file:line) or skip (counted).",
            "choices": POLICIES,
        },
    )
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing non-empty output_dir."})

    def __post_init__(self):
        for name in ("assertions", "languages", "output_dir"):
            if not getattr(self, name):
                raise ValueError(f"{name} is required")
        if self.min_weight < 0:
            raise ValueError(f"min_weight must be >= 0, got {self.min_weight}")


def convert_conceptnet(args: ConceptNetArguments) -> dict:
    """Run the stage: write ``LANG.txt`` per target language and ``report.json``; returns the report."""
    check_output_dir(args.output_dir, args.overwrite)
    paths = expand_paths(args.assertions)
    templates_path = Path(args.templates) if args.templates else default_templates_path()
    converter = ConceptNetConverter(
        args.languages,
        load_templates(templates_path),
        min_weight=args.min_weight,
        require_both_ends=args.require_both_ends,
        bad_lines=args.bad_lines,
        unknown_relations=args.unknown_relations,
    )
    with atomic_directory(args.output_dir, overwrite=args.overwrite) as tmp_dir:
        outputs = {lang: open(tmp_dir / f"{lang}.txt", "w", encoding="utf-8") for lang in converter.languages}  # noqa: SIM115
        try:
            for language, sentence in converter.convert_files(paths):
                outputs[language].write(sentence + "\n")
        finally:
            for handle in outputs.values():
                handle.close()
        empty = [lang for lang in converter.languages if not converter.report.sentences[lang]]
        if empty:
            raise ConceptNetError(
                f"no sentence for language(s) {empty} in {paths} ({converter.report.to_dict()}); "
                "check the codes against the dump's /c/LANG/ prefixes"
            )
        report = {
            "assertions": paths,
            "languages": converter.languages,
            "templates": str(templates_path),
            **converter.report.to_dict(),
        }
        write_json(tmp_dir / DATA_REPORT_FILE, report)
    logger.info("ConceptNet sentences per language: %s", report["sentences"])
    return report
