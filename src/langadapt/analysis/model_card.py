"""Evaluation results in a model card: ``model-index`` metadata and a results table, plus the LAPT curve figure.

The results of one model (every results record whose ``model_name_or_path`` is its directory) are summarized per
(task, regime, language, metric) as mean ± std over seeds. The card gets them twice: as ``model-index``
metadata (`huggingface_hub.EvalResult`, read by the Hub's leaderboards; the value is the mean in percent) and as
a Markdown table between marker comments, so updating a card again replaces the section instead of adding
another. ``model-index`` groups results by (task type, dataset, config, split) and keeps one task name per group,
so parsing has its own task type and the regime is named in each metric's name. Dataset names come from the test data spec (a ``UD_*`` treebank folder,
an ``hf:`` dataset id) or the task's benchmark, never from a local path.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard

from ..io_utils import atomic_file
from .frame import record_metrics

BEGIN, END = "<!-- langadapt:results -->", "<!-- /langadapt:results -->"
CURVE_FIGURE = "lapt_dev_loss.png"
# task → (Hub task type, task name, dataset type, dataset name)
TASKS = {
    "pos": ("token-classification", "Part-of-speech tagging", "universal_dependencies", "Universal Dependencies"),
    "parse": ("dependency-parsing", "Dependency parsing", "universal_dependencies", "Universal Dependencies"),
    "ner": ("token-classification", "Named entity recognition", "wikiann", "WikiANN"),
    "classify": ("text-classification", "Topic classification", "Davlan/sib200", "SIB-200"),
}


@dataclasses.dataclass
class ResultSummary:
    task: str
    regime: str
    language: str
    metric: str
    dataset: str
    values: list[float]  # one per seed, in percent
    seeds: list[Any]

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)

    @property
    def std(self) -> float:
        n = len(self.values)
        return math.sqrt(sum((v - self.mean) ** 2 for v in self.values) / (n - 1)) if n > 1 else 0.0


def _dataset_name(record: dict[str, Any]) -> str:
    """The test set's public name: the UD treebank folder or Hub dataset id of the language's test spec."""
    language = record.get("language")
    for spec in (record.get("config") or {}).get("test_data") or []:
        name, _, sources = str(spec).partition("=")
        if name != language:
            continue
        for source in sources.split(","):
            if source.startswith("hf:"):
                return source[3:].split("?", 1)[0]
            treebank = next((part for part in re.split(r"[\\/]", source) if part.startswith("UD_")), None)
            if treebank:
                return treebank
    _, _, _, default = TASKS.get(record.get("task"), ("", "", "", str(record.get("task"))))
    return f"{default} ({language})"


def summarize_results(records: Sequence[dict[str, Any]]) -> list[ResultSummary]:
    """Mean ± std over seeds per (task, regime, language, metric, dataset), in a stable order."""
    groups: dict[tuple, dict[Any, float]] = defaultdict(dict)
    for record in records:
        for metric in record_metrics(record):
            value = (record.get("metrics") or {}).get(metric)
            if value is None:
                continue
            key = (record["task"], record.get("regime", ""), record["language"], metric, _dataset_name(record))
            groups[key][record.get("seed")] = float(value) * 100.0
    return [
        ResultSummary(*key, values=list(seeds.values()), seeds=list(seeds)) for key, seeds in sorted(groups.items())
    ]


def eval_results(summaries: Sequence[ResultSummary]) -> list[EvalResult]:
    results = []
    for s in summaries:
        task_type, task_name, dataset_type, _ = TASKS.get(s.task, ("token-classification", s.task, s.task, s.task))
        results.append(
            EvalResult(
                task_type=task_type,
                task_name=task_name,
                dataset_type=dataset_type,
                dataset_name=s.dataset,
                dataset_config=s.language,
                dataset_split="test",
                metric_type=s.metric,
                metric_value=round(s.mean, 2),
                metric_name=f"{s.metric}, {s.regime or 'test'} (%, mean of {len(s.values)} seed{'s' * (len(s.values) > 1)})",
            )
        )
    return results


def results_section(summaries: Sequence[ResultSummary], curve_figure: str | None = None) -> str:
    lines = [
        BEGIN,
        "## Evaluation results",
        "",
        "Fine-tuned and tested with `recipes/finetune.py`; scores in percent, mean ± std over seeds.",
        "",
        "| task | dataset | language | regime | metric | mean ± std | seeds |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        seeds = ", ".join(str(x) for x in s.seeds)
        lines.append(
            f"| {s.task} | {s.dataset} | {s.language} | {s.regime} | {s.metric} | {s.mean:.1f} ± {s.std:.1f} | "
            f"{len(s.values)} ({seeds}) |"
        )
    if curve_figure:
        lines += [
            "",
            "LAPT dev MLM loss (★ = the checkpoint published here):",
            "",
            f"![LAPT dev loss]({curve_figure})",
        ]
    return "\n".join([*lines, END]) + "\n"


def card_with_results(
    card: ModelCard, records: Sequence[dict[str, Any]], model_name: str, curve_figure: str | None = None
) -> ModelCard:
    """A copy of ``card`` carrying the records' results (metadata and section; an earlier section is replaced,
    else the section goes before "## How to load", else at the end)."""
    if not records:
        raise ValueError(f"model card of {model_name}: no results records to add")
    summaries = summarize_results(records)
    data = card.data
    data.model_name = data.model_name or model_name
    data.eval_results = eval_results(summaries)
    body = card.text
    section = results_section(summaries, curve_figure)
    if BEGIN in body and END in body:
        body = body[: body.index(BEGIN)] + section + body[body.index(END) + len(END) :].lstrip("\n")
    elif "## How to load" in body:
        at = body.index("## How to load")
        body = body[:at] + section + "\n" + body[at:]
    else:
        body = body.rstrip("\n") + "\n\n" + section
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


def update_model_card(
    model_dir: str | Path, records: Sequence[dict[str, Any]], curve_figure: str | None = None
) -> Path:
    """Rewrite ``MODEL_DIR/README.md`` (atomically) with the records' results; a model without a card gets one
    holding only the results."""
    model_dir = Path(model_dir)
    path = model_dir / "README.md"
    card = ModelCard.load(path) if path.is_file() else ModelCard("---\n---\n")
    # The card's own title names the model (the Hub id it is published under); else the run's directory.
    title = next((line[2:].strip() for line in card.text.splitlines() if line.startswith("# ")), None)
    fallback = model_dir.parent.name if model_dir.name.startswith("best") else model_dir.name
    updated = card_with_results(card, records, title or fallback, curve_figure)
    with atomic_file(path) as handle:
        handle.write(str(updated))
    return path
