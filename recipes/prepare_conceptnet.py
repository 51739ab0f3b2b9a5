"""Turn ConceptNet 5 edges of the target language(s) into sentences, one template per relation ([KG]).

Usage:
    python recipes/prepare_conceptnet.py recipes/configs/kg/prepare_conceptnet.yaml
    python recipes/prepare_conceptnet.py --assertions conceptnet-assertions-5.7.0.csv.gz --languages myv se \
        --output_dir runs/kg/conceptnet [--templates my_templates.tsv]

Writes ``<output_dir>/<lang>.txt`` (de-duplicated sentences, one per line) and ``<output_dir>/report.json`` (lines
read, kept per language and relation, dropped per reason). The text then goes through ``prepare_data.py``
(``--corpora myv=runs/kg/conceptnet/myv.txt``) or straight to ``lapt.py``.
"""

from __future__ import annotations

import json

from langadapt import LangadaptParser, setup_logging
from langadapt.data import ConceptNetArguments, convert_conceptnet


def main(args: ConceptNetArguments) -> dict:
    logger = setup_logging("INFO")
    logger.info("ConceptNet edges of %s from %s", args.languages, args.assertions)
    report = convert_conceptnet(args)
    logger.info("report:\n%s", json.dumps(report, indent=2, ensure_ascii=False))
    logger.info("sentences written to %s", args.output_dir)
    return report


def make_parser() -> LangadaptParser:
    return LangadaptParser(ConceptNetArguments)


if __name__ == "__main__":
    (conceptnet_args,) = make_parser().parse()
    main(conceptnet_args)
