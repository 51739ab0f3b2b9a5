"""LEGACY, kept only to read old work directories: the ``budget.json`` format written before the budgets held
their stage settings as recipe overrides (``lapt_steps``, ``ft_batch_size``, ... in the harness's own names).

``grid.check_work_dir_budget`` converts such a record with ``budget_fields`` (the old field → override mapping of
the harness's former ``stages.py``) and, when it holds the current budget's settings, rewrites it in the new
format, so this module is needed once per old work directory. Do not use it for anything else; delete it when no
old work directory is left.
"""

from __future__ import annotations

from typing import Any

# The old Budget's defaults: an old budget.json may lack a field added after it was written.
LEGACY_DEFAULTS: dict[str, Any] = {
    "stages_from": None, "source_model": "e5-small", "lapt_train": [], "lapt_dev": [], "ud_train": [], "ud_test": [],
    "vocab_size": 16384, "tokenizer_sample_lines": 100_000, "fasttext_threads": 1, "random_distribution": "auto",
    "lapt_steps": 100_000, "lapt_freeze_fraction": 0.1, "lapt_batch_size": 200, "lapt_gradient_accumulation": 1,
    "lapt_max_seq_length": 256, "lapt_learning_rate": 1e-5, "lapt_max_grad_norm": 0.5, "lapt_eval_steps": 1000,
    "lapt_dev_draws": 2000, "lapt_seed": 42, "ft_epochs": 64, "ft_eval_every_epochs": 2, "ft_patience_epochs": 8,
    "ft_learning_rate": 5e-6, "ft_batch_size": 72, "ft_max_length": 256, "ft_dev_size": 300,
    "ft_max_train_sentences": 32768, "ft_max_dev_sentences": None, "ft_max_test_sentences": None, "use_cpu": False,
}  # fmt: skip


def is_legacy_record(saved: dict[str, Any]) -> bool:
    return "stages" not in saved


def budget_fields(saved: dict[str, Any]) -> dict[str, Any]:
    """The new ``grid.Budget`` fields (grid left at its defaults) holding what an old ``budget.json`` recorded."""
    old = {**LEGACY_DEFAULTS, **saved}
    finetune = [
        f"num_train_epochs={old['ft_epochs']}",
        f"eval_every_epochs={old['ft_eval_every_epochs']}",
        f"patience_epochs={old['ft_patience_epochs']}",
        f"learning_rate={old['ft_learning_rate']!r}",
        f"per_device_train_batch_size={old['ft_batch_size']}",
        f"per_device_eval_batch_size={old['ft_batch_size']}",
        f"max_length={old['ft_max_length']}",
        f"dev_size={old['ft_dev_size']}",
        f"max_train_sentences={old['ft_max_train_sentences']}",
    ]
    # None was the fine-tuning recipe's default, passed as such: no override.
    finetune += [f"{k[3:]}={old[k]}" for k in ("ft_max_dev_sentences", "ft_max_test_sentences") if old[k] is not None]
    return {
        "name": old["name"],
        "stages_from": old["stages_from"],
        **{k: old[k] for k in ("source_model", "lapt_train", "lapt_dev", "ud_train", "ud_test", "use_cpu")},
        "tokenizer_args": [
            f"vocab_size={old['vocab_size']}",
            f"num_sample_lines={old['tokenizer_sample_lines']}",
            "seed=42",
        ],  # fmt: skip
        "replace_args": [
            "seed=42",
            f"random_distribution={old['random_distribution']}",
            f"fasttext_threads={old['fasttext_threads']}",
        ],
        "lapt_args": [
            f"max_steps={old['lapt_steps']}",
            f"freeze_transformer_steps={round(old['lapt_steps'] * old['lapt_freeze_fraction'])}",
            f"per_device_train_batch_size={old['lapt_batch_size']}",
            f"per_device_eval_batch_size={old['lapt_batch_size']}",
            f"gradient_accumulation_steps={old['lapt_gradient_accumulation']}",
            f"max_seq_length={old['lapt_max_seq_length']}",
            f"learning_rate={old['lapt_learning_rate']!r}",
            f"max_grad_norm={old['lapt_max_grad_norm']!r}",
            f"eval_steps={old['lapt_eval_steps']}",
            f"save_steps={old['lapt_eval_steps']}",
            f"logging_steps={max(1, old['lapt_eval_steps'] // 4)}",
            f"dev_draws={old['lapt_dev_draws']}",
            f"seed={old['lapt_seed']}",
        ],
        "finetune_args": finetune,
    }
