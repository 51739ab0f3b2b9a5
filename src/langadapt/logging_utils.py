"""The standard logging block of Hugging Face example scripts, shared by every recipe."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import datasets
import transformers


def setup_logging(log_level: int | str = logging.INFO) -> logging.Logger:
    """Log to stdout at ``log_level`` and align the verbosity of `datasets` and `transformers` with it."""
    if isinstance(log_level, str):
        log_level = logging.getLevelName(log_level.upper())
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
        force=True,
    )
    logger = logging.getLogger("langadapt")
    logger.setLevel(log_level)
    datasets.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.enable_default_handler()
    transformers.utils.logging.enable_explicit_format()
    return logger


def set_tensorboard_dir(trainer, log_dir: str | Path) -> None:
    """Send the Trainer's TensorBoard events (``report_to: tensorboard``) to ``log_dir`` instead of
    ``output_dir/runs/<time>_<host>``: a run whose output_dir is a work directory deleted afterwards keeps them."""
    from transformers.integrations import TensorBoardCallback

    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, TensorBoardCallback):
            callback.logging_dir = str(log_dir)
