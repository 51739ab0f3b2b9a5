"""Evaluation: UD POS tagging, UD parsing and WikiAnn NER with word-level heads; text classification; PPPL.

Public API used by ``recipes/finetune.py`` and ``recipes/report.py``.
"""

from .args import EvalDataArguments, EvalModelArguments, FinetuneArguments
from .classification import ClassificationTask, TextExample, encode_texts, load_examples
from .compact import CompactVocabulary, compact_input_embeddings, restore_input_embeddings
from .conllu import ConlluError, Sentence, find_cycle, parse_conllu, read_conllu, write_conllu
from .datasets import (
    EncodingStats,
    WordCollator,
    WordDataset,
    encode_sentences,
    fit_window_length,
    max_window_length,
)
from .encoder_io import load_encoder, save_word_model
from .heads import (
    BiaffineParserHead,
    SequenceClassifier,
    TaggerHead,
    WordLevelModel,
    o_weighted_cross_entropy,
    pool_words,
)
from .labels import ResultsCollisionError, default_model_label
from .madx import (
    FINETUNE_MODES,
    MadxSetup,
    parse_language_adapter_specs,
    save_task_adapter,
    setup_madx,
    use_language_adapter_for,
)
from .metrics import (
    METRIC_NAMES,
    attachment_scores,
    classification_scores,
    compute_metric,
    entity_scores,
    metric_path,
    tag_accuracy,
    universal_deprel,
)
from .mst import chu_liu_edmonds, decode_greedy, decode_mst
from .pppl import PPPL_VARIANTS, PPPLInputError, PPPLStats, load_masked_lm, masking_plan, read_texts, sentence_plls
from .pppl_runner import PPPLArguments, pppl_unit_dir, run_pseudo_perplexity
from .regimes import REGIMES, Splits, make_splits, random_split, sample, split_dev_from_train
from .report import ResultTable, build_table, collect_results, pppl_tables, tables_by_task
from .seed_run import compact_splits, encode_splits, score_test_set, write_unit_results
from .sources import DataSpec, DataSpecError, load_sentences, parse_data_specs
from .tabular import TabularError, read_tabular
from .tagfiles import TagFileError, parse_tagfile, read_tagfile, write_tagfile
from .task_data import load_task_data, seed_splits
from .tasks import TASKS, TaskOptions, WordTask, get_task
from .trainer import WordTaskTrainer, build_trainer, train_to_best
from .units import plan_seeds, unit_dir

__all__ = [
    "FINETUNE_MODES",
    "MadxSetup",
    "parse_language_adapter_specs",
    "save_task_adapter",
    "setup_madx",
    "use_language_adapter_for",
    "PPPL_VARIANTS",
    "PPPLArguments",
    "PPPLInputError",
    "PPPLStats",
    "TabularError",
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
    "max_window_length",
    "fit_window_length",
    "default_model_label",
    "ResultsCollisionError",
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
    "sample",
    "save_word_model",
    "split_dev_from_train",
    "tables_by_task",
    "tag_accuracy",
    "unit_dir",
    "universal_deprel",
    "write_conllu",
    "write_tagfile",
    "load_masked_lm",
    "masking_plan",
    "pppl_unit_dir",
    "read_tabular",
    "read_texts",
    "run_pseudo_perplexity",
    "sentence_plls",
    "pppl_tables",
    "random_split",
    "ClassificationTask",
    "METRIC_NAMES",
    "SequenceClassifier",
    "TextExample",
    "WordTask",
    "classification_scores",
    "compute_metric",
    "encode_texts",
    "load_examples",
    "metric_path",
    "build_trainer",
    "compact_splits",
    "encode_splits",
    "load_task_data",
    "plan_seeds",
    "score_test_set",
    "seed_splits",
    "train_to_best",
    "write_unit_results",
]
