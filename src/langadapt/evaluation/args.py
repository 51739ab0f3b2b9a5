"""Argument dataclasses of ``recipes/finetune.py`` (defaults: [ES] Table 7, see docs/methods.md#evaluation)."""

from __future__ import annotations

import dataclasses
from dataclasses import field

from transformers import TrainingArguments

from ..configs import check_global_batch_size
from .labels import default_model_label
from .regimes import REGIMES


@dataclasses.dataclass
class EvalDataArguments:
    """What to train and test on."""

    task: str = field(
        default="pos", metadata={"help": "Evaluation task: pos, parse, ner, classify (or a module:callable)."}
    )
    train_data: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Training data as NAME=FILE[,FILE...] (CoNLL-U or token<TAB>tag; classify: .tsv/.csv with text and "
            "label columns) or NAME=hf:ID?split=..; a ?random_split=train|dev|test suffix takes a seeded 85/5/10 part; "
            "several specs are concatenated (zero-shot: the languages with training data)."
        },
    )
    dev_data: list[str] = field(
        default_factory=list, metadata={"help": "Dev data (same syntax); empty: dev_size sentences held out of train."}
    )
    test_data: list[str] = field(
        default_factory=list, metadata={"help": "Test sets as LANG=FILE; one results JSON per LANG and seed."}
    )
    regime: str = field(default="full", metadata={"help": f"Training regime: {', '.join(REGIMES)}."})
    few_shot_size: int = field(default=512, metadata={"help": "Training sentences in the few_shot regime."})
    max_train_sentences: int = field(default=32768, metadata={"help": "Training cap (full and zero_shot)."})
    dev_size: int = field(default=300, metadata={"help": "Dev sentences held out of train when there is no dev set."})
    dev_seed: int = field(default=42, metadata={"help": "Seed of the dev hold-out (the same for every run seed)."})
    max_dev_sentences: int | None = field(
        default=None, metadata={"help": "Evaluate on a seeded sample of this many dev sentences (cheap runs)."}
    )
    max_test_sentences: int | None = field(
        default=None, metadata={"help": "Score only the first N test sentences (cheap runs; recorded in results)."}
    )
    max_length: int = field(default=256, metadata={"help": "Subwords per window; longer sentences are windowed."})
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3, 4], metadata={"help": "One run per seed."})

    def __post_init__(self):
        if self.regime not in REGIMES:
            raise ValueError(f"regime must be one of {REGIMES}, got {self.regime!r}")
        if not self.train_data or not self.test_data:
            raise ValueError("train_data and test_data are required")
        if not self.seeds:
            raise ValueError("seeds must list at least one seed")


@dataclasses.dataclass
class EvalModelArguments:
    """The encoder to evaluate and the task head."""

    model_name_or_path: str = field(
        default=None, metadata={"help": "Encoder checkpoint: Hub id, local dir (LAPT output) or a PEFT adapter dir."}
    )
    model_label: str | None = field(
        default=None,
        metadata={
            "help": "Row label in reports and the results folder (default: the checkpoint directory's name; for a "
            "LAPT output the run's: runs/lapt_full_x/best -> lapt_full_x, .../best_merged -> lapt_full_x-best_merged)."
        },
    )
    pooling: str = field(
        default="mean",
        metadata={
            "help": "Subword→word pooling: mean or first (classify: mean of the text's tokens or the <s>/CLS one)."
        },
    )
    head_dropout: float = field(default=0.1, metadata={"help": "Dropout before the tagger's classifier."})
    arc_dim: int = field(default=512, metadata={"help": "Parser arc MLP size."})
    rel_dim: int = field(default=128, metadata={"help": "Parser relation MLP size."})
    parser_dropout: float = field(default=0.33, metadata={"help": "Dropout in the parser MLPs."})
    decoding: str = field(default="mst", metadata={"help": "Parser decoding: mst (always a tree) or greedy."})
    las_ignore_subtypes: bool = field(default=True, metadata={"help": "LAS compares nmod:poss as nmod (CoNLL 2018)."})
    ner_strict_iob2: bool = field(default=False, metadata={"help": "seqeval strict IOB2 mode instead of conlleval."})
    compact_vocabulary: bool = field(
        default=True,
        metadata={
            "help": "Train only the embedding rows of ids in the train/dev/test data (same results, far fewer "
            "optimizer updates for 250k vocabularies; the full matrix is restored before saving)."
        },
    )
    finetune_mode: str = field(
        default="full",
        metadata={
            "help": "full: fine-tune the whole encoder. madx: a frozen language adapter (--language_adapter) under a "
            "new seq_bn task adapter; only the task adapter and the head train (see docs/adapters.md).",
            "choices": ["full", "madx"],
        },
    )
    language_adapter: str | None = field(
        default=None,
        metadata={
            "help": "madx: the training language's adapter (LAPT seq_bn/seq_bn_inv best/ or an `adapters` dir)."
        },
    )
    test_language_adapter: list[str] = field(
        default_factory=list,
        metadata={
            "help": "madx, zero-shot transfer: LANG=PATH runs test language LANG with this language adapter "
            "(others: --language_adapter)."
        },
    )
    task_adapter_reduction_factor: float = field(
        default=16, metadata={"help": "madx: hidden size / bottleneck size of the seq_bn task adapter."}
    )
    save_model: bool = field(default=False, metadata={"help": "Keep the fine-tuned model (with labels.json)."})
    overwrite: bool = field(default=False, metadata={"help": "Redo units whose results JSON exists."})

    def __post_init__(self):
        if not self.model_name_or_path:
            raise ValueError("model_name_or_path is required")
        if self.pooling not in ("mean", "first"):
            raise ValueError(f"pooling must be mean or first, got {self.pooling!r}")
        if self.decoding not in ("mst", "greedy"):
            raise ValueError(f"decoding must be mst or greedy, got {self.decoding!r}")
        if self.finetune_mode not in ("full", "madx"):
            raise ValueError(f"finetune_mode must be full or madx, got {self.finetune_mode!r}")
        if self.finetune_mode == "full" and (self.language_adapter or self.test_language_adapter):
            raise ValueError("--language_adapter / --test_language_adapter need --finetune_mode madx")
        if self.finetune_mode == "madx":
            if not self.language_adapter:
                raise ValueError("--finetune_mode madx needs --language_adapter (the training language's adapter)")
            if self.model_label is None:  # not the label of a full fine-tuning of the same base model
                self.model_label = (f"{default_model_label(self.model_name_or_path)}+madx-"
                                    f"{default_model_label(self.language_adapter)}")  # fmt: skip


@dataclasses.dataclass
class FinetuneArguments(TrainingArguments):
    """`TrainingArguments` with [ES]'s fine-tuning defaults. The seed and the evaluation/saving schedule are set per
    run (`RUN_CONTROLLED_FIELDS`): giving one of those fields a value is an error naming what to use instead."""

    output_dir: str = field(default="runs/finetune", metadata={"help": "Root of per-run outputs (results JSONs)."})
    learning_rate: float = field(default=5e-6, metadata={"help": "Peak learning rate ([ES]: 5e-6, constant)."})
    lr_scheduler_type: str = field(default="constant", metadata={"help": "Learning-rate schedule."})
    per_device_train_batch_size: int = field(default=72, metadata={"help": "Sentences per device and step."})
    per_device_eval_batch_size: int = field(default=72, metadata={"help": "Sentences per evaluation batch."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping norm."})
    num_train_epochs: float = field(
        default=0, metadata={"help": "Max epochs; 0 = the task's (64 POS/parse, 32 NER, 20 classify)."}
    )
    eval_every_epochs: int = field(default=2, metadata={"help": "Evaluate on dev every this many epochs."})
    patience_epochs: int = field(
        default=0,
        metadata={"help": "Early-stopping patience in epochs; 0 = task's (8 POS/parse, 4 NER, 20 classify)."},
    )
    logging_steps: float = field(default=10, metadata={"help": "Log every this many steps."})
    save_total_limit: int | None = field(
        default=1, metadata={"help": "Checkpoints kept besides the latest (the best: it is restored before testing)."}
    )
    resume_interrupted: bool = field(
        default=True,
        metadata={
            "help": "Checkpoint the model, optimizer and RNG states at every dev evaluation, so that a killed run "
            "continues from its last evaluation when the same command is run again. False: keep only the best "
            "model (less disk) and restart a killed seed from its beginning."
        },
    )
    global_batch_size: int | None = field(
        default=None,
        metadata={
            "help": "The global batch (sentences per optimizer step) the config is written for: checked at start "
            "against per_device_train_batch_size x processes x gradient_accumulation_steps. None: not checked."
        },
    )

    def __post_init__(self):
        for name, hint in RUN_CONTROLLED_FIELDS.items():
            value = getattr(self, name)
            if value != _TRAINING_DEFAULTS[name]:
                raise ValueError(
                    f"finetune sets {name} itself for every run, so {name}={value!r} would be ignored: {hint}"
                )
        super().__post_init__()  # sets up the processes of this launch: world_size is known from here on
        check_global_batch_size(self)


# `TrainingArguments` fields the runner sets for every run (the seed, the evaluation/checkpoint schedule, the task's
# metric): a value given for one would be silently replaced, so a non-default value is refused with what to do.
RUN_CONTROLLED_FIELDS = {
    "seed": "remove it and list the run seeds with --seeds",
    "data_seed": "remove it; each run's data order follows its seed (--seeds)",
    "eval_strategy": "remove it and set the dev evaluation interval with --eval_every_epochs",
    "eval_steps": "remove it and set the dev evaluation interval with --eval_every_epochs",
    "save_strategy": "remove it; the best dev checkpoint is always kept and restored before testing",
    "save_steps": "remove it; checkpoints follow the dev evaluations (--eval_every_epochs)",
    "save_only_model": "remove it; --resume_interrupted decides whether optimizer and RNG states are saved",
    "load_best_model_at_end": "remove it; the best dev checkpoint is always restored before testing",
    "metric_for_best_model": "remove it; the dev metric is the task's (POS accuracy, LAS, NER F1)",
    "greater_is_better": "remove it; the task's dev metric is maximised",
}
_TRAINING_DEFAULTS = {
    f.name: f.default for f in dataclasses.fields(TrainingArguments) if f.name in RUN_CONTROLLED_FIELDS
}
