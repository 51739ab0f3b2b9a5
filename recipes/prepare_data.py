"""Clean raw text, de-duplicate it, optionally drop lines in an unwanted language, and split off a dev set.

Usage:
    python recipes/prepare_data.py recipes/configs/uralic/prepare_data.yaml [--option value ...]
    python recipes/prepare_data.py --corpora myv=raw/myv/*.txt sme=raw/sme/*.txt --output_dir runs/uralic/data

Writes ``<output_dir>/<name>/{train,dev}.txt`` and ``<output_dir>/report.json`` (lines in, dropped per filter,
lines out, per corpus). `python recipes/prepare_data.py --help` lists every option.

Pipeline: parse → logging → refuse a non-empty output_dir (before any work) → per corpus, in a temporary directory:
clean (filters, fresh de-duplication state per corpus) → split off the seeded dev set → report.json → the directory
moved into place (a failed run leaves the old output untouched).
"""

from __future__ import annotations

import json

from langadapt import LangadaptParser, atomic_directory, check_output_dir, setup_logging, write_json
from langadapt.data import DataPreparationArguments, build_filters, clean_corpus, parse_corpus_specs, split_corpus
from langadapt.layout import DATA_REPORT_FILE


def main(args: DataPreparationArguments) -> dict:
    logger = setup_logging("INFO")
    logger.info("preparing corpora: %s", args.corpora)
    check_output_dir(args.output_dir, args.overwrite)
    specs = parse_corpus_specs(args.corpora)
    report: dict = {"corpora": {}, "filters": [f.name for f in build_filters(args)]}
    with atomic_directory(args.output_dir, overwrite=args.overwrite) as tmp_dir:
        for spec in specs:
            cleaned = clean_corpus(
                spec, filters=build_filters(args), errors=args.errors, corpus_dir=tmp_dir / spec.name
            )
            counts = split_corpus(cleaned, dev_size=args.dev_size, seed=args.seed)
            report["corpora"][spec.name] = {**cleaned.report, **counts}
            logger.info("%s: %s", spec.name, report["corpora"][spec.name])
        write_json(tmp_dir / DATA_REPORT_FILE, report)
    logger.info("report:\n%s", json.dumps(report["corpora"], indent=2, ensure_ascii=False))
    logger.info("prepared corpora written to %s", args.output_dir)
    return report


def make_parser() -> LangadaptParser:
    return LangadaptParser(DataPreparationArguments)


if __name__ == "__main__":
    (data_args,) = make_parser().parse()
    main(data_args)
