"""Argument dataclasses of ``recipes/finetune.py`` (defaults: [ES] Table 7, see docs/METHODS.md §5)."""

from __future__ import annotations

import dataclasses
from dataclasses import field

from transformers import TrainingArguments

from .regimes import REGIMES


@dataclasses.dataclass
class EvalDataArguments:
    """What to train and test on."""

    task: str = field(default="pos", metadata={"help": "Evaluation task: pos, parse, ner (or a module:callable)."})
    train_data: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Training data as NAME=FILE[,FILE...] (CoNLL-U or token<TAB>tag) or NAME=hf:ID?split=..; "
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
        default=None, metadata={"help": "Row label in reports (default: the checkpoint directory's name)."}
    )
    pooling: str = field(default="mean", metadata={"help": "Subword→word pooling: mean or first."})
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
    save_model: bool = field(default=False, metadata={"help": "Keep the fine-tuned model (with labels.json)."})
    overwrite: bool = field(default=False, metadata={"help": "Redo units whose results JSON exists."})

    def __post_init__(self):
        if not self.model_name_or_path:
            raise ValueError("model_name_or_path is required")
        if self.pooling not in ("mean", "first"):
            raise ValueError(f"pooling must be mean or first, got {self.pooling!r}")
        if self.decoding not in ("mst", "greedy"):
            raise ValueError(f"decoding must be mst or greedy, got {self.decoding!r}")


@dataclasses.dataclass
class FinetuneArguments(TrainingArguments):
    """`TrainingArguments` with [ES]'s fine-tuning defaults; evaluation/saving schedules are set per run."""

    output_dir: str = field(default="runs/finetune", metadata={"help": "Root of per-run outputs (results JSONs)."})
    learning_rate: float = field(default=5e-6, metadata={"help": "Peak learning rate ([ES]: 5e-6, constant)."})
    lr_scheduler_type: str = field(default="constant", metadata={"help": "Learning-rate schedule."})
    per_device_train_batch_size: int = field(default=72, metadata={"help": "Sentences per device and step."})
    per_device_eval_batch_size: int = field(default=72, metadata={"help": "Sentences per evaluation batch."})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping norm."})
    num_train_epochs: float = field(default=0, metadata={"help": "Max epochs; 0 = the task's (64 POS/parse, 32 NER)."})
    eval_every_epochs: int = field(default=2, metadata={"help": "Evaluate on dev every this many epochs."})
    patience_epochs: int = field(default=0, metadata={"help": "Early-stopping patience in epochs; 0 = task's (8/4)."})
    logging_steps: float = field(default=10, metadata={"help": "Log every this many steps."})
    save_total_limit: int | None = field(default=1, metadata={"help": "Checkpoints kept (the best)."})
