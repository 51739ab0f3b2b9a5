"""Aggregate results JSONs into tables (one per task and regime): rows × languages + average, mean ± std.

Usage:
    python recipes/report.py --results_dirs runs/finetune --output_prefix runs/report
    python recipes/report.py --results_dirs runs/sweep/results --output_prefix runs/sweep/report --regression \
        --lapt_dirs runs/sweep/lapt --embedding_models source=runs/source_mlm focus=runs/replaced/focus

Writes ``PREFIX.md`` (all tables, best bolded: highest mean − std and every result within one std of it) and one
``PREFIX_<task>_<regime>_<metric>.csv`` per table; beside them the figures (``PREFIX_fig_*.png`` with their data
as ``.csv``) and, with ``--regression``, the mixed-effects regression (in ``PREFIX.md`` and
``PREFIX_regression_{coefficients,tests}.csv``). See docs/analysis.md.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import field
from pathlib import Path

from langadapt import LangadaptParser, atomic_file, setup_logging
from langadapt.analysis import AnalysisArguments, run_analysis
from langadapt.evaluation import collect_results, tables_by_task

logger = logging.getLogger("langadapt")


@dataclasses.dataclass
class ReportArguments:
    results_dirs: list[str] = field(default_factory=list, metadata={"help": "Directories searched for results.json."})
    output_prefix: str = field(default="runs/report", metadata={"help": "Output path prefix (.md and .csv)."})
    row_fields: list[str] = field(
        default_factory=lambda: ["model"],
        metadata={"help": "Fields naming a row, e.g. model, or lapt_mode init_method (looked up in results/config)."},
    )

    def __post_init__(self):
        if not self.results_dirs:
            raise ValueError("results_dirs is required")


def main(args: ReportArguments, analysis_args: AnalysisArguments | None = None) -> list[Path]:
    setup_logging(logging.INFO)
    analysis_args = analysis_args or AnalysisArguments()
    results = collect_results(args.results_dirs)
    if not results:
        raise FileNotFoundError(f"no results.json under {args.results_dirs}")
    tables = tables_by_task(results, row_fields=args.row_fields)
    prefix = Path(args.output_prefix)
    analysis = run_analysis(results, tables, args.row_fields, analysis_args, prefix)
    sections = [table.to_markdown() for table in tables] + ([analysis.markdown] if analysis.markdown else [])
    written = [prefix.with_suffix(".md")]
    with atomic_file(written[0]) as out:
        out.write("\n".join(sections))
    for table in tables:
        slug = re.sub(r"[^A-Za-z0-9]+", "_", table.title).strip("_").lower()
        path = prefix.parent / f"{prefix.name}_{slug}.csv"
        with atomic_file(path) as out:
            out.write(table.to_csv())
        written.append(path)
    written += analysis.paths
    logger.info("%d results in %d tables: %s", len(results), len(tables), [str(p) for p in written])
    return written


def make_parser() -> LangadaptParser:
    return LangadaptParser((ReportArguments, AnalysisArguments))


if __name__ == "__main__":
    main(*make_parser().parse())
