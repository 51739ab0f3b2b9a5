"""Evaluation: UD POS tagging, UD parsing and WikiAnn NER with word-level heads; text classification; PPPL.

Public API used by ``recipes/finetune.py`` and ``recipes/report.py``.
"""

from .args import EvalDataArguments, EvalModelArguments, FinetuneArguments
from .compact import compact_input_embeddings, restore_input_embeddings
from .conllu import read_conllu
from .datasets import WordCollator, encode_sentences, fit_window_length
from .encoder_io import load_encoder, save_word_model
from .heads import WordLevelModel
from .labels import default_model_label
from .madx import save_task_adapter, setup_madx, use_language_adapter_for
from .metrics import metric_path
from .pppl_runner import PPPLArguments, run_pseudo_perplexity
from .report import build_table, collect_results, tables_by_task
from .resume import interrupted_progress, prepare_work_dir, run_fingerprint
from .seed_run import compact_splits, encode_splits, score_test_set, write_unit_results
from .task_data import load_task_data, seed_splits
from .tasks import TASKS, TaggingTask, TaskOptions, WordTask, get_task
from .trainer import build_trainer, train_to_best
from .units import plan_seeds, seed_work_dir, unit_dir

__all__ = [
    "EvalDataArguments",
    "EvalModelArguments",
    "FinetuneArguments",
    "PPPLArguments",
    "TaskOptions",
    "TASKS",
    "WordTask",
    "TaggingTask",
    "get_task",
    "load_task_data",
    "plan_seeds",
    "seed_splits",
    "load_encoder",
    "fit_window_length",
    "encode_splits",
    "compact_splits",
    "run_fingerprint",
    "prepare_work_dir",
    "interrupted_progress",
    "build_trainer",
    "train_to_best",
    "score_test_set",
    "write_unit_results",
    "save_word_model",
    "restore_input_embeddings",
    "default_model_label",
    "setup_madx",
    "use_language_adapter_for",
    "save_task_adapter",
    "run_pseudo_perplexity",
    "collect_results",
    "build_table",
    "tables_by_task",
    "unit_dir",
    "seed_work_dir",
    "metric_path",
    "read_conllu",
    "encode_sentences",
    "WordCollator",
    "WordLevelModel",
    "compact_input_embeddings",
]
