"""What ``recipes/report.py`` runs after its tables: figures, the mixed-effects regression, model cards.

Everything is read from results files: the results records, the LAPT output directories they name (``lapt.dir``
or the parent of a ``.../best`` model) or that ``lapt_dirs`` holds, and saved models for the embedding PCA.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..io_utils import atomic_file
from ..layout import LAPT_RESULTS_FILE
from . import embeddings as _embeddings  # noqa: F401  (registers embedding_pca)
from . import plots as _plots  # noqa: F401  (registers score_vs_flops, lapt_loss_curves, table_bars)
from .args import AnalysisArguments
from .curves import LaptRun, find_lapt_runs, read_lapt_run
from .figures import FigureContext, draw_figures, save_figure, write_figures
from .frame import field_value, parse_field_overrides, results_frame
from .model_card import CURVE_FIGURE, update_model_card
from .regression import outcomes_csv, outcomes_markdown, regressions_by_group

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class AnalysisOutputs:
    markdown: str  # appended to the report's Markdown
    paths: list[Path]


def lapt_dir_of(record: dict[str, Any]) -> Path | None:
    """The LAPT output directory behind an evaluated model: ``lapt.dir``, else the model directory or its parent
    when it holds ``lapt_results.json``."""
    named = field_value(record, "lapt.dir")
    candidates = [Path(named)] if named else []
    model = record.get("model_name_or_path")
    if model:
        candidates += [Path(model), Path(model).parent]
    return next((c for c in candidates if (c / LAPT_RESULTS_FILE).is_file()), None)


def lapt_runs_of(records: Sequence[dict[str, Any]], row_fields: Sequence[str]) -> list[LaptRun]:
    """The LAPT runs behind the records, named by their report row (plus the languages when rows share a name)."""
    rows_by_dir: dict[Path, set[str]] = defaultdict(set)
    languages: dict[Path, set[str]] = defaultdict(set)
    for record in records:
        directory = lapt_dir_of(record)
        if directory is not None:
            rows_by_dir[directory.resolve()].add(" / ".join(str(field_value(record, f)) for f in row_fields))
            languages[directory.resolve()].add(str(record.get("language")))
    names = {d: ", ".join(sorted(rows)) for d, rows in rows_by_dir.items()}
    clashing = {n for n in names.values() if list(names.values()).count(n) > 1}
    return [
        read_lapt_run(d, f"{n} [{', '.join(sorted(languages[d]))}]" if n in clashing else n)
        for d, n in sorted(names.items())
    ]


def run_analysis(
    records: Sequence[dict[str, Any]],
    tables: Sequence[Any],
    row_fields: Sequence[str],
    args: AnalysisArguments,
    prefix: str | Path,
) -> AnalysisOutputs:
    prefix = Path(prefix)
    frame = results_frame(records, row_fields, parse_field_overrides(args.factor_fields))
    paths: list[Path] = []
    sections = []
    if args.regression:
        outcomes = regressions_by_group(frame, args.high_resource_languages, args.regression_factors)
        sections.append(outcomes_markdown(outcomes))
        for what in ("coefficients", "tests"):
            path = prefix.parent / f"{prefix.name}_regression_{what}.csv"
            with atomic_file(path) as handle:
                handle.write(outcomes_csv(outcomes, what))
            paths.append(path)
        for outcome in outcomes:
            for warning in outcome.result.warnings if outcome.result else [f"not fitted: {outcome.error}"]:
                logger.warning("regression %s: %s", outcome.label, warning)
    context = FigureContext(
        frame=frame,
        tables=tables,
        lapt_runs=[*find_lapt_runs(args.lapt_dirs), *lapt_runs_of(records, row_fields)],
        embedding_models=[(s.partition("=")[0], Path(s.partition("=")[2])) for s in args.embedding_models],
        max_pca_points=args.max_pca_points,
    )
    figures = write_figures(args.figures, context, prefix)
    paths += figures
    pngs = [p for p in figures if p.suffix == ".png"]
    if pngs:
        sections.append("## Figures\n\n" + "\n\n".join(f"![{p.stem}]({p.name})" for p in pngs) + "\n")
    if args.model_cards:
        paths += update_model_cards(records, row_fields)
    return AnalysisOutputs("\n".join(sections), paths)


def update_model_cards(records: Sequence[dict[str, Any]], row_fields: Sequence[str]) -> list[Path]:
    """Each evaluated local model's README.md gets its results and, when a LAPT run is behind it, its dev loss
    curve (``lapt_dev_loss.png`` in the model directory, so the card's image link works on the Hub too)."""
    by_model: dict[Path, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        model = record.get("model_name_or_path")
        if model and Path(model).is_dir():
            by_model[Path(model)].append(record)
    written = []
    for model_dir, mine in sorted(by_model.items()):
        figure = None
        runs = lapt_runs_of(mine, row_fields)
        if runs and runs[0].curve:
            (output,) = draw_figures(["lapt_loss_curves"], FigureContext(lapt_runs=runs[:1]))
            written += save_figure(output, model_dir / Path(CURVE_FIGURE).stem)
            figure = CURVE_FIGURE
        written.append(update_model_card(model_dir, mine, figure))
        logger.info("model card of %s: %d results", model_dir, len(mine))
    return written
