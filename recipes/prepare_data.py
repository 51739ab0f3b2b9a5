"""Clean raw text, de-duplicate it, optionally drop lines in an unwanted language, and split off a dev set.

Usage:
    python recipes/prepare_data.py recipes/configs/uralic/prepare_data.yaml [--option value ...]
    python recipes/prepare_data.py --corpora myv=raw/myv/*.txt sme=raw/sme/*.txt --output_dir runs/data

Writes ``<output_dir>/<name>/{train,dev}.txt`` and ``<output_dir>/report.json`` (lines in, dropped per filter,
lines out, per corpus). `python recipes/prepare_data.py --help` lists every option.
"""

from __future__ import annotations

import json

from langadapt import LangadaptParser, setup_logging
from langadapt.data import DataPreparationArguments, prepare_corpora


def main(args: DataPreparationArguments) -> dict:
    logger = setup_logging("INFO")
    logger.info("preparing corpora: %s", args.corpora)
    report = prepare_corpora(args)
    logger.info("report:\n%s", json.dumps(report["corpora"], indent=2, ensure_ascii=False))
    logger.info("prepared corpora written to %s", args.output_dir)
    return report


def make_parser() -> LangadaptParser:
    return LangadaptParser(DataPreparationArguments)


if __name__ == "__main__":
    (data_args,) = make_parser().parse()
    main(data_args)
