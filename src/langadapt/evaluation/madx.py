"""MAD-X fine-tuning (Pfeiffer et al. 2020; [KG]'s downstream setting): a frozen language adapter below a trainable
task adapter and the task head, and, for zero-shot cross-lingual transfer, another language's adapter at test time.

``--finetune_mode madx`` on a base model (``--model_name_or_path``, e.g. multilingual-e5-small):

* the language adapter of the training language (``--language_adapter``: a LAPT ``seq_bn``/``seq_bn_inv`` output's
  ``best/``, any langadapt adapter directory, or one saved by the `adapters` library) is placed in the encoder,
  frozen;
* a new ``seq_bn`` task adapter (``--task_adapter_reduction_factor``) is stacked on it (``[language, task]``, the
  library's ``Stack``); it and the task head are all that train;
* each test language runs with its own language adapter when ``--test_language_adapter LANG=PATH`` names one,
  else with the training language's; the task adapter and head stay as trained.

Every adapter is loaded before training, so a wrong path or base model fails before anything trains. The base
model's embeddings are shared by all languages, so a language adapter trained together with its embeddings (LAPT
``--train_embeddings``) is refused: fine-tune that model fully instead. The new MLM head a LAPT run may have trained
beside its adapter (``--train_head``) is not needed downstream and is ignored.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path

from safetensors import safe_open

from ..adapters import BottleneckConfig, add_adapter, load_adapter, save_adapter, set_active_adapters, train_adapters
from ..adapters.inject import list_adapters
from ..adapters.io import is_adapter_directory

logger = logging.getLogger(__name__)

FINETUNE_MODES = ("full", "madx")
TASK_ADAPTER = "task"
TRAIN_LANGUAGE_ADAPTER = "lang"
TASK_ADAPTER_DIR = "task_adapter"  # beside the saved model (--save_model)


@dataclasses.dataclass
class MadxSetup:
    """The adapters placed in a MAD-X task model: which language adapter each test language runs with."""

    train_adapter: str
    adapter_paths: dict[str, str]  # adapter name in the model → the directory it was loaded from
    test_adapters: dict[str, str]  # test language → adapter name (only those with their own adapter)
    task_config: BottleneckConfig
    trainable_parameters: int

    def adapter_for(self, language: str) -> str:
        return self.test_adapters.get(language, self.train_adapter)


def parse_language_adapter_specs(specs: list[str]) -> dict[str, str]:
    """``["LANG=PATH", ...]`` → ``{LANG: PATH}``; a malformed or repeated entry is an error naming it."""
    parsed: dict[str, str] = {}
    for spec in specs:
        language, sep, path = str(spec).partition("=")
        if not sep or not language.strip() or not path.strip():
            raise ValueError(f"--test_language_adapter {spec!r}: expected LANG=PATH")
        if language in parsed:
            raise ValueError(f"--test_language_adapter: language {language!r} is given twice")
        parsed[language.strip()] = path.strip()
    return parsed


def _check_shared_embeddings(directory: Path) -> None:
    # LAPT saves the base-model parameters that trained with an adapter beside it (embeddings, MLM head).
    from ..lapt.modes import HEAD_PREFIXES
    from ..layout import TRAINABLE_BASE_FILE

    extra = directory / TRAINABLE_BASE_FILE
    if not extra.is_file():
        return
    with safe_open(str(extra), framework="pt") as handle:
        trained = [key for key in handle.keys() if not key.startswith(HEAD_PREFIXES)]
    if trained:
        raise ValueError(f"{extra}: this language adapter was trained together with base-model parameters "
                         f"({trained[:2]}, e.g. a replaced vocabulary's embeddings), but MAD-X keeps the base "
                         f"model's own; fine-tune it fully instead (--model_name_or_path {directory})")  # fmt: skip


def _load_language_adapter(encoder, path: str, name: str) -> None:
    directory = Path(path)
    if not is_adapter_directory(directory):
        raise FileNotFoundError(f"{path}: not an adapter directory (no langadapt_adapter.json or adapter_config.json)")
    _check_shared_embeddings(directory)
    load_adapter(encoder, directory, name=name, set_active=False)


def _adapter_name(language: str) -> str:
    return f"{TRAIN_LANGUAGE_ADAPTER}_{re.sub(r'[^0-9A-Za-z_]', '_', language)}"


def setup_madx(model, model_args, test_languages: list[str]) -> MadxSetup | None:
    """Place the language adapters and the task adapter in ``model.encoder`` and freeze everything in it but the
    task adapter (the task head keeps training); None for ``--finetune_mode full``."""
    if model_args.finetune_mode != "madx":
        return None
    encoder = model.encoder
    if list_adapters(encoder):
        raise ValueError(f"--finetune_mode madx: {model_args.model_name_or_path} already carries adapters "
                         f"({', '.join(list_adapters(encoder))}); give the base model as --model_name_or_path and "
                         "the adapter as --language_adapter")  # fmt: skip
    test_specs = parse_language_adapter_specs(model_args.test_language_adapter)
    unknown = sorted(set(test_specs) - set(test_languages))
    if unknown:
        raise ValueError(f"--test_language_adapter names {unknown}, which are not test languages "
                         f"(--test_data: {', '.join(test_languages)})")  # fmt: skip
    _load_language_adapter(encoder, model_args.language_adapter, TRAIN_LANGUAGE_ADAPTER)
    paths = {TRAIN_LANGUAGE_ADAPTER: model_args.language_adapter}
    test_adapters = {}
    for language, path in test_specs.items():
        same = next((n for n, p in paths.items() if Path(p).resolve() == Path(path).resolve()), None)
        if same is None:
            same = _adapter_name(language)
            _load_language_adapter(encoder, path, same)
            paths[same] = path
        test_adapters[language] = same
    task_config = BottleneckConfig.from_preset("seq_bn", reduction_factor=model_args.task_adapter_reduction_factor)
    add_adapter(encoder, TASK_ADAPTER, task_config, set_active=False)
    set_active_adapters(encoder, [TRAIN_LANGUAGE_ADAPTER, TASK_ADAPTER])
    train_adapters(encoder, TASK_ADAPTER)  # the encoder's own weights and every language adapter frozen
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    logger.info("MAD-X: language adapter %s frozen, task adapter + head train (%d parameters); test adapters: %s",
                model_args.language_adapter, trainable, test_specs or "the training language's")  # fmt: skip
    return MadxSetup(TRAIN_LANGUAGE_ADAPTER, paths, test_adapters, task_config, trainable)


def use_language_adapter_for(model, madx: MadxSetup | None, language: str) -> None:
    """Before testing ``language``: its language adapter under the trained task adapter (no-op without MAD-X)."""
    if madx is not None:
        set_active_adapters(model.encoder, [madx.adapter_for(language), TASK_ADAPTER])


def save_task_adapter(madx: MadxSetup | None, model, model_dir: str | Path) -> None:
    """The trained task adapter alone, in ``model_dir/task_adapter`` (no-op without MAD-X)."""
    if madx is not None:
        save_adapter(model.encoder, Path(model_dir) / TASK_ADAPTER_DIR, TASK_ADAPTER)


__all__ = ["FINETUNE_MODES", "MadxSetup", "parse_language_adapter_specs", "save_task_adapter",
           "setup_madx", "use_language_adapter_for"]  # fmt: skip
