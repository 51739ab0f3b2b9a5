"""Evaluation: UD POS tagging, UD dependency parsing and WikiAnn NER with word-level heads.

Public API used by ``recipes/finetune.py`` and ``recipes/report.py``.
"""

from .args import EvalDataArguments, EvalModelArguments, FinetuneArguments
from .compact import CompactVocabulary, compact_input_embeddings, restore_input_embeddings
from .conllu import ConlluError, Sentence, find_cycle, parse_conllu, read_conllu, write_conllu
from .datasets import EncodingStats, WordCollator, WordDataset, encode_sentences
from .heads import BiaffineParserHead, TaggerHead, WordLevelModel, o_weighted_cross_entropy, pool_words
from .metrics import attachment_scores, entity_scores, tag_accuracy, universal_deprel
from .mst import chu_liu_edmonds, decode_greedy, decode_mst
from .regimes import REGIMES, Splits, make_splits, sample, split_dev_from_train
from .report import ResultTable, build_table, collect_results, tables_by_task
from .runner import WordTaskTrainer, load_encoder, run_finetuning, save_word_model, unit_dir
from .sources import DataSpec, DataSpecError, load_sentences, parse_data_specs
from .tagfiles import TagFileError, parse_tagfile, read_tagfile, write_tagfile
from .tasks import TASKS, TaskOptions, get_task

__all__ = [
    "REGIMES",
    "TASKS",
    "BiaffineParserHead",
    "CompactVocabulary",
    "ConlluError",
    "DataSpec",
    "DataSpecError",
    "EncodingStats",
    "EvalDataArguments",
    "EvalModelArguments",
    "FinetuneArguments",
    "ResultTable",
    "Sentence",
    "Splits",
    "TagFileError",
    "TaggerHead",
    "TaskOptions",
    "WordCollator",
    "WordDataset",
    "WordLevelModel",
    "WordTaskTrainer",
    "attachment_scores",
    "build_table",
    "chu_liu_edmonds",
    "compact_input_embeddings",
    "collect_results",
    "decode_greedy",
    "decode_mst",
    "encode_sentences",
    "entity_scores",
    "find_cycle",
    "get_task",
    "load_encoder",
    "load_sentences",
    "make_splits",
    "o_weighted_cross_entropy",
    "parse_conllu",
    "parse_data_specs",
    "parse_tagfile",
    "pool_words",
    "read_conllu",
    "read_tagfile",
    "restore_input_embeddings",
    "run_finetuning",
    "sample",
    "save_word_model",
    "split_dev_from_train",
    "tables_by_task",
    "tag_accuracy",
    "unit_dir",
    "universal_deprel",
    "write_conllu",
    "write_tagfile",
]
