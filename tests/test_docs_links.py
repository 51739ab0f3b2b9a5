"""Entry points lead somewhere: Markdown links, config paths in usage lines and ``docs/*.md`` mentions resolve.

A reader follows README → docs → recipes → configs. Each check below collects every dangling reference and fails
with the whole list (file, line, target), so one run shows all that needs fixing.
"""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKDOWN_FILES = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]
RECIPE_FILES = sorted((ROOT / "recipes").glob("*.py"))

# Where the code and the docs may name a page of docs/ (outputs such as runs/ and data/ are not scanned).
MENTION_DIRS = ["src", "recipes", "benchmarks", "tests", "scripts", "docs"]
MENTION_FILES = ["README.md", "BENCHMARKS.md", "pyproject.toml", "Makefile"]
MENTION_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".sh", ".toml", ".txt"}

INLINE_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
CODE_SPAN = re.compile(r"(`+).+?\1")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # https:, mailto:, hf: ...
CONFIG_PATH = re.compile(r"recipes/configs/[\w./{},+-]+?\.ya?ml")
DOCS_MENTION = re.compile(r"(?<![\w/.])docs/[\w./-]+?\.md(?:#[\w-]+)?")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def prose_lines(text: str):
    """``(line number, line)`` outside fenced code blocks, with inline code spans removed."""
    in_fence = False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            yield number, CODE_SPAN.sub("", line)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: link syntax dropped, lower-cased, punctuation removed, spaces → '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors_of(path: Path) -> set[str]:
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match:
            anchor = github_anchor(match.group(2))
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            anchors.add(anchor if count == 0 else f"{anchor}-{count}")
    text = path.read_text(encoding="utf-8")
    anchors.update(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", text))
    return anchors


def dangling(target: str, base: Path) -> str | None:
    """Why ``target`` (a path relative to ``base``, maybe with ``#anchor``) does not resolve; None if it does."""
    path_part, _, anchor = target.partition("#")
    path = (base / path_part).resolve() if path_part else None
    if path is not None and not path.exists():
        return "no such file"
    if anchor and (path is None or path.suffix == ".md"):
        page = path or base
        if anchor not in anchors_of(page):
            return f"no heading with anchor #{anchor} in {page.relative_to(ROOT)}"
    return None


def expand_braces(path: str) -> list[str]:
    """``lapt_{full,emb}.yaml`` → ``lapt_full.yaml``, ``lapt_emb.yaml`` (shell brace expansion, no nesting)."""
    parts = re.split(r"\{([^{}]*)\}", path)
    choices = [[part] if i % 2 == 0 else part.split(",") for i, part in enumerate(parts)]
    return ["".join(combination) for combination in itertools.product(*choices)]


def mention_files() -> list[Path]:
    files = [ROOT / name for name in MENTION_FILES if (ROOT / name).is_file()]
    for directory in MENTION_DIRS:
        files += [p for p in sorted((ROOT / directory).rglob("*")) if p.is_file() and p.suffix in MENTION_SUFFIXES]
    return files


def test_github_anchor_matches_githubs_rules():
    assert github_anchor("Init spec and precedence") == "init-spec-and-precedence"
    assert github_anchor("Reference figures: [ES] Table 1") == "reference-figures-es-table-1"
    assert github_anchor("Modes (`--lapt_mode`, a registry)") == "modes---lapt_mode-a-registry"
    assert expand_braces("a_{x,y}.yaml") == ["a_x.yaml", "a_y.yaml"]


def test_markdown_links_resolve():
    problems = []
    for page in MARKDOWN_FILES:
        for number, line in prose_lines(page.read_text(encoding="utf-8")):
            targets = INLINE_LINK.findall(line) + REFERENCE_LINK.findall(line)
            for target in targets:
                if EXTERNAL.match(target):
                    continue
                reason = dangling(target, page.parent) if not target.startswith("#") else dangling(target, page)
                if reason:
                    problems.append(f"{page.relative_to(ROOT)}:{number}: ({target}) {reason}")
    assert not problems, "dangling Markdown links:\n" + "\n".join(problems)


def test_config_paths_in_usage_lines_exist():
    sources = [(path, ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "") for path in RECIPE_FILES]
    sources += [(page, page.read_text(encoding="utf-8")) for page in MARKDOWN_FILES if page.name != "BENCHMARKS.md"]
    problems = []
    for path, text in sources:
        assert text, f"{path.relative_to(ROOT)} has no docstring"
        for mention in CONFIG_PATH.findall(text):
            for config in expand_braces(mention):
                if not (ROOT / config).is_file():
                    problems.append(f"{path.relative_to(ROOT)}: {config}")
    assert not problems, "config paths that do not exist:\n" + "\n".join(problems)


def test_docs_pages_named_in_code_and_docs_exist():
    problems = []
    stale_name = "METHODS" + ".md"  # the old name of docs/methods.md; spelt in two parts so this file passes
    for path in mention_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            where = f"{path.relative_to(ROOT)}:{number}"
            if stale_name in line:
                problems.append(f"{where}: {stale_name} (the method notes are docs/methods.md)")
            for mention in DOCS_MENTION.findall(line):
                reason = dangling(mention, ROOT)
                if reason:
                    problems.append(f"{where}: {mention}: {reason}")
    assert not problems, "docs/ pages named but missing:\n" + "\n".join(problems)
