"""Language-adaptive pre-training (continued MLM) on α-mixed corpora: the building blocks of recipes/lapt.py."""

from ..configs import global_batch_size
from .args import LaptArguments, LaptTrainingArguments, ModelArguments
from .bottleneck_modes import load_lapt_bottleneck, save_lapt_bottleneck
from .callbacks import (
    PROVENANCE_NAME,
    BestCheckpointCallback,
    FreezeSchedule,
    FreezeScheduleCallback,
    OptimizerFlopsCallback,
    StabilityCallback,
)
from .card import build_model_card, read_provenance
from .data import FixedMLMDataset, MLMCollator, MLMExampleMaker, StreamingMLMDataset, mask_tokens
from .flops import FlopCounter
from .head import apply_train_head, head_parameters, missing_head_keys
from .hub import PushToHubError, push_folder_to_hub
from .masked_head import (
    KNOWN_ARCHITECTURES,
    disable_masked_only_head,
    enable_masked_only_head,
    mlm_loss,
    unwrap_mlm,
    uses_masked_only_head,
)
from .modes import (
    LAPT_MODES,
    LaptModeSetup,
    is_adapter_dir,
    load_lapt_adapter,
    load_merged_lapt_adapter,
    merge_lapt_adapter,
    save_lapt_adapter,
    split_parameters,
)
from .packing import PackedMLMCollator, build_mlm_collator
from .pipeline import (
    LaptData,
    build_lapt_datasets,
    lapt_results,
    prepare_output_dir,
    save_publishable_model,
)
from .resume import find_resume_checkpoint, is_complete_checkpoint
from .settings import default_max_grad_norm, fit_max_seq_length, resolve_max_grad_norm, usable_positions
from .stability import NonFiniteGuard, NonFiniteLossError
from .trainer import LaptTrainer

__all__ = [
    "LaptData",
    "apply_train_head",
    "build_lapt_datasets",
    "global_batch_size",
    "lapt_results",
    "prepare_output_dir",
    "save_publishable_model",
    "KNOWN_ARCHITECTURES",
    "LAPT_MODES",
    "PROVENANCE_NAME",
    "BestCheckpointCallback",
    "FixedMLMDataset",
    "FlopCounter",
    "FreezeSchedule",
    "FreezeScheduleCallback",
    "LaptArguments",
    "LaptModeSetup",
    "LaptTrainer",
    "LaptTrainingArguments",
    "MLMCollator",
    "MLMExampleMaker",
    "ModelArguments",
    "NonFiniteGuard",
    "NonFiniteLossError",
    "PackedMLMCollator",
    "OptimizerFlopsCallback",
    "PushToHubError",
    "StabilityCallback",
    "StreamingMLMDataset",
    "build_mlm_collator",
    "build_model_card",
    "find_resume_checkpoint",
    "head_parameters",
    "is_complete_checkpoint",
    "disable_masked_only_head",
    "enable_masked_only_head",
    "default_max_grad_norm",
    "fit_max_seq_length",
    "resolve_max_grad_norm",
    "usable_positions",
    "is_adapter_dir",
    "load_lapt_adapter",
    "load_lapt_bottleneck",
    "load_merged_lapt_adapter",
    "mask_tokens",
    "missing_head_keys",
    "merge_lapt_adapter",
    "mlm_loss",
    "push_folder_to_hub",
    "read_provenance",
    "save_lapt_adapter",
    "save_lapt_bottleneck",
    "split_parameters",
    "unwrap_mlm",
    "uses_masked_only_head",
]
