"""The pseudo-perplexity stage: one results JSON per (model, language, variant); resumable.

Layout: ``OUTPUT_DIR/MODEL_LABEL/pppl/VARIANT/LANG/{results.json, sentence_plls.tsv}``. A unit whose results
JSON exists is skipped (``overwrite`` redoes it). ``recipes/report.py`` turns the JSONs into tables.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import field
from pathlib import Path

import torch

from ..configs import config_to_dict
from ..data.corpus import CorpusError, check_unique_names, split_named_spec
from ..io_utils import atomic_file, write_json
from ..layout import UNIT_RESULTS_FILE
from .datasets import fit_window_length
from .labels import default_model_label, finished_unit
from .pppl import PPPL_VARIANTS, load_masked_lm, read_texts, sentence_plls

logger = logging.getLogger(__name__)

TASK_NAME = "pppl"


@dataclasses.dataclass
class PPPLArguments:
    """Arguments of ``recipes/pppl.py``."""

    model_name_or_path: str = field(
        default=None, metadata={"help": "Masked LM: Hub id, local dir (LAPT output) or a PEFT adapter dir."}
    )
    model_label: str | None = field(
        default=None,
        metadata={
            "help": "Row label in reports and the results folder (default: the checkpoint directory's name; for a "
            "LAPT output the run's: runs/lapt_full_x/best -> lapt_full_x)."
        },
    )
    texts: list[str] = field(
        default_factory=list,
        metadata={
            "help": "Texts as LANG=SOURCE[,SOURCE...]: a .tsv/.csv file (its text_column), a text file (one "
            "sentence per line, .gz ok) or hf:ID?config=..&split=..&column=..; one results JSON per LANG."
        },
    )
    text_column: str = field(default="text", metadata={"help": "Column of .tsv/.csv sources holding the text."})
    variants: list[str] = field(
        default_factory=lambda: list(PPPL_VARIANTS),
        metadata={"help": f"PLL variants: {', '.join(PPPL_VARIANTS)} (Salazar et al.; Kauf & Ivanova)."},
    )
    batch_size: int = field(default=128, metadata={"help": "Masked copies per forward pass."})
    max_length: int = field(
        default=256, metadata={"help": "Tokens per window (special tokens included); longer sentences are windowed."}
    )
    max_sentences: int | None = field(
        default=None, metadata={"help": "Score only the first N sentences per language (cheap runs; recorded)."}
    )
    device: str | None = field(default=None, metadata={"help": "cpu, cuda, cuda:1, ...; default: cuda if available."})
    output_dir: str = field(default="runs/pppl", metadata={"help": "Root of the results JSONs."})
    overwrite: bool = field(default=False, metadata={"help": "Redo units whose results JSON exists."})

    def __post_init__(self):
        if not self.model_name_or_path:
            raise ValueError("model_name_or_path is required")
        if not self.texts:
            raise ValueError("texts is required (LANG=SOURCE)")
        unknown = [v for v in self.variants if v not in PPPL_VARIANTS]
        if unknown or not self.variants:
            raise ValueError(f"variants must be among {PPPL_VARIANTS}, got {self.variants}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


def pppl_unit_dir(output_dir: str | Path, label: str, variant: str, language: str) -> Path:
    return Path(output_dir) / label / TASK_NAME / variant / language


def _parse_text_specs(specs: list[str]) -> dict[str, list[str]]:
    parsed = [split_named_spec(spec, what="texts") for spec in specs]
    check_unique_names([name for name, _ in parsed], what="texts")
    return dict(parsed)


def run_pseudo_perplexity(args: PPPLArguments) -> list[Path]:
    """Score every (language, variant) unit; returns the results JSON paths."""
    label = args.model_label or default_model_label(args.model_name_or_path)
    try:
        specs = _parse_text_specs(args.texts)
    except CorpusError as err:
        raise ValueError(str(err)) from err
    units = {
        (lang, variant): pppl_unit_dir(args.output_dir, label, variant, lang) / UNIT_RESULTS_FILE
        for lang in specs
        for variant in args.variants
    }
    pending = [
        key
        for key, path in units.items()
        if args.overwrite or not finished_unit(path, args.model_name_or_path, label)  # another model's: an error
    ]
    if not pending:
        logger.info("results exist for every unit; skipping (pass --overwrite to redo)")
        return list(units.values())
    texts = {}
    for lang in dict.fromkeys(lang for lang, _ in pending):  # read (and check) every input before loading a model
        lines = [t for source in specs[lang] for t in read_texts(source, args.text_column)]
        texts[lang] = lines if args.max_sentences is None else lines[: args.max_sentences]
    model, tokenizer = load_masked_lm(args.model_name_or_path)
    max_length = fit_window_length(model.base_model, args.max_length)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    for lang, variant in pending:
        start = time.time()
        plls, stats = sentence_plls(model, tokenizer, texts[lang], variant, args.batch_size, max_length)
        metrics = stats.metrics()
        out = units[lang, variant].parent
        out.mkdir(parents=True, exist_ok=True)
        with atomic_file(out / "sentence_plls.tsv") as handle:
            handle.write("index\tpll\n")
            handle.writelines(f"{i}\t{value:.6f}\n" for i, value in enumerate(plls))
        record = {
            "task": TASK_NAME,
            "variant": variant,
            "language": lang,
            "seed": None,
            "metric": "pppl_word",
            "metrics": metrics,
            "model": label,
            "model_name_or_path": args.model_name_or_path,
            "sources": specs[lang],
            "max_sentences": args.max_sentences,
            "max_length": max_length,  # the window length used: --max_length capped at the model's positions
            "wall_time_s": round(time.time() - start, 1),
            "config": config_to_dict(args),
        }
        write_json(units[lang, variant], record)
        logger.info(
            "%s %s %s: word PPPL %.2f, token PPPL %.2f, %.4f bits/char (%d sentences)",
            label,
            lang,
            variant,
            metrics["pppl_word"],
            metrics["pppl_token"],
            metrics["bits_per_char"],
            metrics["sentences"],
        )
    return list(units.values())


__all__ = ["PPPLArguments", "pppl_unit_dir", "run_pseudo_perplexity"]
