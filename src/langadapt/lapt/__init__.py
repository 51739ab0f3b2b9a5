"""Language-adaptive pre-training (continued MLM) on α-mixed corpora: the building blocks of recipes/lapt.py."""

from ..configs import global_batch_size
from .args import LaptArguments, LaptTrainingArguments, ModelArguments
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
    load_lapt_adapter,
    merge_lapt_adapter,
    save_lapt_adapter,
    split_parameters,
)
from .pipeline import (
    LaptData,
    build_lapt_datasets,
    lapt_results,
    prepare_output_dir,
    save_publishable_model,
)
from .stability import NonFiniteGuard, NonFiniteLossError
from .trainer import LaptTrainer

__all__ = [
    "LaptData",
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
    "OptimizerFlopsCallback",
    "PushToHubError",
    "StabilityCallback",
    "StreamingMLMDataset",
    "build_model_card",
    "disable_masked_only_head",
    "enable_masked_only_head",
    "load_lapt_adapter",
    "mask_tokens",
    "merge_lapt_adapter",
    "mlm_loss",
    "push_folder_to_hub",
    "read_provenance",
    "save_lapt_adapter",
    "split_parameters",
    "unwrap_mlm",
    "uses_masked_only_head",
]
