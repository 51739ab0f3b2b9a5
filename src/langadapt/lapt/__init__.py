"""Language-adaptive pre-training (continued MLM) on α-mixed corpora: the building blocks of recipes/lapt.py."""

from .args import LaptArguments, LaptTrainingArguments, ModelArguments
from .bottleneck_modes import load_lapt_bottleneck
from .callbacks import (
    BestCheckpointCallback,
    FreezeSchedule,
    FreezeScheduleCallback,
    OptimizerFlopsCallback,
    StabilityCallback,
)
from .card import build_model_card, read_provenance
from .data import FixedMLMDataset, MLMCollator, MLMExampleMaker, StreamingMLMDataset
from .datasets import build_lapt_datasets
from .flops import FlopCounter
from .head import apply_train_head
from .hub import push_folder_to_hub
from .masked_head import disable_masked_only_head, enable_masked_only_head, unwrap_mlm
from .modes import LAPT_MODES, LaptModeSetup, load_lapt_adapter, load_merged_lapt_adapter
from .outputs import lapt_results, save_publishable_model
from .packing import build_mlm_collator
from .resume import find_resume_checkpoint, prepare_output_dir
from .settings import fit_max_seq_length, resolve_max_grad_norm
from .stability import NonFiniteGuard
from .trainer import LaptTrainer

__all__ = [
    "ModelArguments",
    "LaptArguments",
    "LaptTrainingArguments",
    "LAPT_MODES",
    "LaptModeSetup",
    "prepare_output_dir",
    "build_lapt_datasets",
    "fit_max_seq_length",
    "resolve_max_grad_norm",
    "apply_train_head",
    "enable_masked_only_head",
    "disable_masked_only_head",
    "unwrap_mlm",
    "build_mlm_collator",
    "LaptTrainer",
    "FlopCounter",
    "NonFiniteGuard",
    "BestCheckpointCallback",
    "FreezeSchedule",
    "FreezeScheduleCallback",
    "OptimizerFlopsCallback",
    "StabilityCallback",
    "save_publishable_model",
    "lapt_results",
    "build_model_card",
    "read_provenance",
    "push_folder_to_hub",
    "find_resume_checkpoint",
    "MLMExampleMaker",
    "StreamingMLMDataset",
    "FixedMLMDataset",
    "MLMCollator",
    "load_lapt_adapter",
    "load_lapt_bottleneck",
    "load_merged_lapt_adapter",
]
