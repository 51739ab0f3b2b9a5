"""Argument dataclasses of the LAPT recipe, with the papers' defaults ([ES] Table 6, [KG] for adapters)."""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments

from ..configs import check_global_batch_size


@dataclass
class ModelArguments:
    """Which model to adapt."""

    model_name_or_path: str = field(
        metadata={
            "help": "Local directory (e.g. the vocabulary-replacement output) or Hub id of a *ForMaskedLM model."
        }
    )
    tokenizer_name_or_path: str | None = field(
        default=None, metadata={"help": "Tokenizer to use; defaults to model_name_or_path."}
    )
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow custom modelling code from the Hub."})


@dataclass
class LaptArguments:
    """Data, masking, LAPT mode and run-control options."""

    # Data
    train_corpora: list[str] = field(
        default_factory=list,
        metadata={"help": "Training corpus specs NAME=SOURCE[,SOURCE...] (see langadapt.data.parse_corpus_specs)."},
    )
    dev_corpora: list[str] = field(
        default_factory=list, metadata={"help": "Dev corpus specs, mixed with the same alpha as the training data."}
    )
    alpha: float = field(default=0.2, metadata={"help": "Sentence-wise mixing exponent: q_i ∝ p_i^alpha ([ES]: 0.2)."})
    corpus_caps: list[str] = field(
        default_factory=list, metadata={"help": "Per-corpus line caps NAME=LINES (e.g. to cap a language at ~2 GB)."}
    )
    dev_draws: int = field(default=2000, metadata={"help": "Number of alpha-sampled dev lines (drawn once, fixed)."})
    data_seed_train: int = field(default=0, metadata={"help": "Seed of the training sampler and masking."})
    data_seed_dev: int = field(default=1, metadata={"help": "Seed of the dev sampler and its (fixed) masking."})
    data_cache_dir: str | None = field(
        default=None, metadata={"help": "Where gzip/Hub corpora are streamed to plain text once (needed for them)."}
    )
    # Masked language modelling
    mlm_probability: float = field(default=0.15, metadata={"help": "Fraction of (non-special) tokens to predict."})
    max_seq_length: int = field(default=256, metadata={"help": "Lines are truncated to this many tokens."})
    masked_only_head: bool = field(
        default=True,
        metadata={"help": "Project only masked positions through the output layer (same loss, far fewer FLOPs)."},
    )
    packing: bool = field(
        default=True,
        metadata={
            "help": "Pack several lines into each row of max_seq_length positions, each line attending only to "
            "itself (same loss and gradients as one line per row, far less padding). The batch size still counts "
            "lines. Falls back to one line per row for architectures not known to take a 4D attention mask."
        },
    )
    # LAPT mode
    lapt_mode: str = field(
        default="full",
        metadata={"help": "full | emb | lora | ia3 | seq_bn | seq_bn_inv, or a 'package.module:callable' mode."},
    )
    freeze_transformer_steps: int = field(
        default=10_000, metadata={"help": "full mode: transformer blocks frozen for this many optimizer steps."}
    )
    train_embeddings: str = field(
        default="auto",
        metadata={
            "help": "Adapter modes: also train embeddings + LM head. 'auto' = yes when the vocabulary was replaced "
            "(a langadapt_provenance.json is in the model dir).",
            "choices": ["auto", "true", "false"],
        },
    )
    train_head: str = field(
        default="auto",
        metadata={
            "help": "Adapter modes: also train the MLM head's transform (dense + LayerNorm) and output bias; the "
            "output projection (tied to the input embeddings) stays frozen. 'auto' = yes when the checkpoint has no "
            "MLM head (a sentence encoder such as multilingual-e5-small gets a new, random one).",
            "choices": ["auto", "true", "false"],
        },
    )
    adapter_target_modules: list[str] = field(
        default_factory=lambda: ["query", "value"],
        metadata={"help": "Adapter target modules (LoRA default query,value per [KG]; ia3 adds its FFN default)."},
    )
    lora_r: int = field(default=8, metadata={"help": "LoRA rank ([KG]: 8)."})
    lora_alpha: int = field(default=8, metadata={"help": "LoRA alpha ([KG]: 8)."})
    lora_dropout: float = field(default=0.0, metadata={"help": "LoRA dropout."})
    adapter_name: str = field(
        default="lang", metadata={"help": "seq_bn/seq_bn_inv: the adapter's name (it appears in parameter names)."}
    )
    bottleneck_reduction_factor: float = field(
        default=16, metadata={"help": "seq_bn/seq_bn_inv: hidden size / bottleneck size ([KG]: 16)."}
    )
    bottleneck_non_linearity: str = field(
        default="relu", metadata={"help": "seq_bn/seq_bn_inv: activation in the bottleneck and NICE ([KG]: relu)."}
    )
    bottleneck_leave_out: list[int] = field(
        default_factory=list, metadata={"help": "seq_bn/seq_bn_inv: layer indices (from 0) without an adapter."}
    )
    inv_adapter_reduction_factor: float = field(
        default=2, metadata={"help": "seq_bn_inv: reduction factor inside the NICE invertible adapter ([KG]: 2)."}
    )
    merge_adapters: bool = field(
        default=False, metadata={"help": "Also write best_merged/: the best adapter merged into a plain model."}
    )
    # Run control
    early_stopping_patience: int | None = field(
        default=None, metadata={"help": "Stop after this many evaluations without a better dev loss (off: None)."}
    )
    max_nonfinite_in_a_row: int = field(
        default=5, metadata={"help": "Stop with an error after this many consecutive non-finite losses."}
    )
    nonfinite_max_grad_norm: float = field(
        default=0.5, metadata={"help": "max_grad_norm is lowered to this after a non-finite loss ([ES]'s remedy)."}
    )
    resume: bool = field(default=False, metadata={"help": "Continue from the last checkpoint in output_dir."})
    overwrite: bool = field(default=False, metadata={"help": "Replace a non-empty output_dir."})
    log_batches: bool = field(
        default=False,
        metadata={"help": "Debug: write the draw indices each rank trained on (lapt_rank<R>_draws.json)."},
    )

    def __post_init__(self):
        if not 0.0 < self.mlm_probability < 1.0:
            raise ValueError(f"mlm_probability must be in (0, 1), got {self.mlm_probability}")
        if self.alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if self.freeze_transformer_steps < 0:
            raise ValueError("freeze_transformer_steps must be >= 0")
        if self.max_nonfinite_in_a_row < 1:
            raise ValueError("max_nonfinite_in_a_row must be >= 1")
        if self.train_head not in ("auto", "true", "false"):
            raise ValueError(f"train_head must be auto, true or false, got {self.train_head!r}")
        if self.resume and self.overwrite:
            raise ValueError("--resume and --overwrite contradict each other")


@dataclass
class LaptTrainingArguments(TrainingArguments):
    """`TrainingArguments` with [ES] Table 6 defaults (global batch 200 on one device, 100k steps)."""

    learning_rate: float = field(
        default=1e-5, metadata={"help": "Peak learning rate ([ES]: 1e-5; [KG] adapters 1e-4)."}
    )
    lr_scheduler_type: str = field(default="linear", metadata={"help": "Learning-rate schedule ([ES]: linear)."})
    per_device_train_batch_size: int = field(
        default=200, metadata={"help": "Per-device batch; global batch = this × processes × grad accumulation."}
    )
    per_device_eval_batch_size: int = field(default=200, metadata={"help": "Per-device dev batch size."})
    max_steps: int = field(default=100_000, metadata={"help": "Optimizer steps ([ES]: 100k)."})
    max_grad_norm: float | None = field(
        default=None,
        metadata={
            "help": "Gradient clipping. Unset: [ES]'s 1.0, or 0.5 when the vocabulary was replaced (the model dir "
            "holds a langadapt_provenance.json); a value given here always wins."
        },
    )
    global_batch_size: int | None = field(
        default=None,
        metadata={
            "help": "The global batch (lines per optimizer step) the config is written for: checked at start "
            "against per_device_train_batch_size x processes x gradient_accumulation_steps. None: not checked."
        },
    )
    eval_strategy: str = field(default="steps", metadata={"help": "Evaluate the dev MLM loss every eval_steps."})
    eval_steps: float | None = field(default=1000, metadata={"help": "Dev evaluation interval ([ES]: 1000)."})
    save_strategy: str = field(default="steps", metadata={"help": "Checkpoint every save_steps."})
    save_steps: float = field(default=1000, metadata={"help": "Checkpoint interval ([ES]: 1000)."})
    save_total_limit: int | None = field(
        default=2, metadata={"help": "Rolling checkpoints kept for --resume (the best is copied to best/)."}
    )
    logging_steps: float = field(default=100, metadata={"help": "Log the training loss every N steps."})
    prediction_loss_only: bool = field(default=True, metadata={"help": "Evaluation only needs the MLM loss."})
    ignore_data_skip: bool = field(
        default=True, metadata={"help": "Resumed runs seek the sampler instead of replaying batches (keep True)."}
    )
    remove_unused_columns: bool = field(
        default=False, metadata={"help": "Keep the collator's draw_index column (used for data-order checks)."}
    )

    def __post_init__(self):
        super().__post_init__()  # sets up the processes of this launch: world_size is known from here on
        check_global_batch_size(self)
