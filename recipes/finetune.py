"""Fine-tune an encoder on a word-level task (UD POS, UD parsing, WikiAnn NER) and test it, per seed.

Usage:
    accelerate launch --config_file accelerate_configs/cpu.yaml recipes/finetune.py \
        recipes/configs/uralic/finetune_pos.yaml --model_name_or_path runs/lapt/myv-full

    python recipes/finetune.py --task ner --model_name_or_path xlm-roberta-base \
        --train_data et=../shared/data/wikiann/et/train.tsv --dev_data et=../shared/data/wikiann/et/dev.tsv \
        --test_data et=../shared/data/wikiann/et/test.tsv --regime full --seeds 1 2 3 --output_dir runs/finetune

Each (task, language, regime, seed) writes ``OUTPUT_DIR/MODEL/TASK/REGIME/LANG/seedN/results.json`` and its
predictions; a rerun skips units whose results JSON exists. ``recipes/report.py`` aggregates them.
"""

from __future__ import annotations

import logging

from langadapt import LangadaptParser, setup_logging
from langadapt.evaluation import EvalDataArguments, EvalModelArguments, FinetuneArguments, run_finetuning

logger = logging.getLogger("langadapt")


def main(data_args: EvalDataArguments, model_args: EvalModelArguments, training_args: FinetuneArguments):
    setup_logging(training_args.get_process_log_level())
    logger.info(
        "Fine-tuning %s on %s (%s), seeds %s",
        model_args.model_name_or_path,
        data_args.task,
        data_args.regime,
        data_args.seeds,
    )
    paths = run_finetuning(data_args, model_args, training_args)
    logger.info("%d results JSONs under %s", sum(p.is_file() for p in paths), training_args.output_dir)
    return paths


def make_parser() -> LangadaptParser:
    return LangadaptParser((EvalDataArguments, EvalModelArguments, FinetuneArguments))


if __name__ == "__main__":
    main(*make_parser().parse())
