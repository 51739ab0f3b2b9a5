"""The replication harness (benchmarks/replication): grid order, resuming, tables, a tiny end-to-end unit."""

from __future__ import annotations

import copy
import dataclasses
import enum
import json
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from langadapt import ConfigError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "replication"))

import grid  # noqa: E402
import locks  # noqa: E402
import run  # noqa: E402
import stages  # noqa: E402
import tables  # noqa: E402

from langadapt.layout import LAPT_RESULTS_FILE


def test_cpu_grid_has_every_unit_in_run_order():
    budget = grid.load_budget("cpu")
    units = grid.enumerate_units(budget)
    # 2 languages × (off the shelf + 2 modes × (full-vocabulary baseline? + 7 inits)) × 3 seeds
    assert len(units) == 2 * (1 + 1 + 7 + 7) * 3 == 96
    assert len(set(units)) == len(units)
    models = list(dict.fromkeys(u.model_key for u in units))
    assert models[0] == ("myv", "source", "none")
    assert models[1] == ("myv", "source", "full")
    assert [m[1] for m in models[2:9]] == list(grid.INIT_METHODS) and {m[2] for m in models[2:9]} == {"full"}
    assert {m[2] for m in models[9:16]} == {"emb"} and models[16][0] == "sme"
    # the seeds of one model are adjacent (they share its LAPT run)
    assert [u.seed for u in units[:3]] == [1, 2, 3] and len({u.model_key for u in units[:3]}) == 1


def test_filters_keep_order_and_gpu_budget_is_the_same_grid():
    budget = grid.load_budget("cpu")
    units = grid.enumerate_units(budget, languages=["myv"], modes=["full"], seeds=[1])
    assert [u.init for u in units] == ["source", *grid.INIT_METHODS]
    assert {(u.language, u.mode, u.seed) for u in units} == {("myv", "full", 1)}
    gpu = grid.load_budget("gpu")
    assert grid.enumerate_units(gpu) == grid.enumerate_units(budget)
    tokens = lambda b: b.setting("lapt", "max_steps") * b.setting("lapt", "per_device_train_batch_size")  # noqa: E731
    assert tokens(gpu) > tokens(budget)
    for name in ("cpu", "cpu_long", "cpu_long_esft", "gpu"):  # FULL's frozen steps: 10% of the steps ([ES])
        lapt = grid.load_budget(name).setting
        assert lapt("lapt", "freeze_transformer_steps") == round(lapt("lapt", "max_steps") * 0.1)
    # a command-line override list changes the fields it names and keeps the budget's others
    shorter = grid.load_budget("cpu", ["--lapt_args", "max_steps=7", "seed=3"])
    assert (shorter.setting("lapt", "max_steps"), shorter.setting("lapt", "seed")) == (7, 3)
    assert shorter.setting("lapt", "learning_rate") == budget.setting("lapt", "learning_rate") == 2e-4
    assert len(shorter.lapt_args) == len(budget.lapt_args)


def test_unknown_budget_key_names_the_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nlapt_stpes: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="lapt_stpes"):
        grid.load_budget(str(path))
    for text, error in [
        ("lapt_args: [max_stpes=3]", r"bad.yaml: lapt_args: 'max_stpes' is not an option of recipes/lapt.py"),
        ("lapt_args: [max_steps=many]", r"bad.yaml: .*'max_steps' has an invalid value 'many'"),
        ("finetune_args: [learning_rate]", r"bad.yaml: finetune_args: expected KEY=VALUE, got 'learning_rate'"),
        (
            "replace_args: [init_spec=random]",
            r"bad.yaml: replace_args: init_spec is set by .*the budget's init_methods",
        ),
        ("tokenizer_config: nowhere.yaml", r"bad.yaml: .*nowhere.yaml"),
    ]:
        path.write_text(f"name: bad\n{text}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=error):
            grid.load_budget(str(path))
    with pytest.raises(ConfigError, match=r"cpu.yaml: --lapt_args: 'max_steps' is given twice"):
        grid.load_budget("cpu", ["--lapt_args", "max_steps=1", "max_steps=2"])
    with pytest.raises(KeyError, match="ud_test.*xx"):
        grid.load_budget("cpu").spec("ud_test", "xx")


def test_a_work_dir_refuses_a_changed_budget_under_the_same_name(tmp_path):
    budget = grid.load_budget("cpu")
    grid.check_work_dir_budget(budget, tmp_path / "work")  # first use: recorded
    assert json.loads((tmp_path / "work" / "budget.json").read_text())["stages"]["lapt"]["max_steps"] == 60
    grid.check_work_dir_budget(grid.load_budget("cpu", ["--seeds", "1", "--num_threads", "1"]), tmp_path / "work")
    changed = grid.load_budget("cpu", ["--lapt_args", "max_steps=7", "--replace_args", "random_distribution=unit"])
    expected = (
        r"budget.json: budget 'cpu' differs .*replace_args random_distribution: 'auto' there, 'unit' now; "
        r"lapt_args max_steps: 60 there, 7 now\).*own --name"
    )
    with pytest.raises(ConfigError, match=expected):
        grid.check_work_dir_budget(changed, tmp_path / "work")
    renamed = grid.load_budget("cpu", ["--name", "cpu_unit", "--replace_args", "random_distribution=unit"])
    grid.check_work_dir_budget(renamed, tmp_path / "work_unit")  # its own work directory: fine


# The stage arguments the harness built before its budgets held recipe overrides (issue 12), captured from that code
# for Erzya with placeholder paths (source /SRC, work dir /WORK, LAPT output /OUT, model /MODEL) as the fields that
# differ from each dataclass's defaults (`non_default_fields`); cpu_long_esft's LAPT is cpu_long's. Every init
# method got the same VocabReplacementArguments/InitOptions but for init_spec (and FOCUS's fastText model); EMB
# differs from FULL by lapt_mode only; a resumed run by resume=True instead of overwrite and eval_on_start.
FORMER_TOKENIZER_ARGUMENTS = [
    {
        "TokenizerTrainingArguments": {
            "corpora": ["myv=runs/uralic/data/myv/train.txt"],
            "tokenizer_name_or_path": "/SRC",
            "output_dir": "/WORK/tokenizer/myv",
            "vocab_size": 16384,
            "num_sample_lines": 100000,
            "stats_corpora": ["myv=runs/uralic/data/myv/dev.txt"],
        }
    }
]
FORMER_LAPT_ARGUMENTS = {
    "cpu": [
        {
            "LaptArguments": {
                "train_corpora": ["myv=runs/uralic/data/myv/train.txt"],
                "dev_corpora": ["myv=runs/uralic/data/myv/dev.txt"],
                "dev_draws": 64,
                "max_seq_length": 64,
                "freeze_transformer_steps": 6,
                "overwrite": True,
            }
        },
        {
            "LaptTrainingArguments": {
                "output_dir": "/OUT",
                "per_device_train_batch_size": 8,
                "max_steps": 60,
                "learning_rate": 0.0002,
                "max_grad_norm": 0.5,
                "logging_steps": 5,
                "disable_tqdm": True,
                "eval_steps": 20,
                "per_device_eval_batch_size": 8,
                "eval_on_start": True,
                "save_steps": 20,
                "use_cpu": True,
                "dataloader_pin_memory": False,
            }
        },
    ],
    "cpu_long": [
        {
            "LaptArguments": {
                "train_corpora": ["myv=runs/uralic/data/myv/train.txt"],
                "dev_corpora": ["myv=runs/uralic/data/myv/dev.txt"],
                "dev_draws": 128,
                "max_seq_length": 64,
                "freeze_transformer_steps": 40,
                "overwrite": True,
            }
        },
        {
            "LaptTrainingArguments": {
                "output_dir": "/OUT",
                "per_device_train_batch_size": 16,
                "max_steps": 400,
                "learning_rate": 0.0001,
                "max_grad_norm": 0.5,
                "logging_steps": 25,
                "disable_tqdm": True,
                "eval_steps": 100,
                "per_device_eval_batch_size": 16,
                "eval_on_start": True,
                "save_steps": 100,
                "use_cpu": True,
                "dataloader_pin_memory": False,
            }
        },
    ],
    "gpu": [
        {
            "LaptArguments": {
                "train_corpora": ["myv=runs/uralic/data/myv/train.txt"],
                "dev_corpora": ["myv=runs/uralic/data/myv/dev.txt"],
                "dev_draws": 1000,
                "freeze_transformer_steps": 1000,
                "overwrite": True,
            }
        },
        {
            "LaptTrainingArguments": {
                "output_dir": "/OUT",
                "per_device_train_batch_size": 64,
                "max_steps": 10000,
                "learning_rate": 5e-05,
                "max_grad_norm": 0.5,
                "logging_steps": 125,
                "disable_tqdm": True,
                "eval_steps": 500,
                "per_device_eval_batch_size": 64,
                "eval_on_start": True,
                "save_steps": 500,
            }
        },
    ],
}
FORMER_FINETUNE_ARGUMENTS = {
    "cpu": [
        {
            "EvalDataArguments": {
                "task": "pos",
                "train_data": ["myv=../shared/data/ud/UD_Erzya-JR/myv_jr-ud-train.conllu"],
                "test_data": ["myv=../shared/data/ud/UD_Erzya-JR/myv_jr-ud-test.conllu"],
                "regime": "full",
                "max_train_sentences": 256,
                "max_dev_sentences": 100,
                "max_test_sentences": 300,
                "max_length": 128,
                "seeds": [1],
            }
        },
        {"EvalModelArguments": {"model_name_or_path": "/MODEL", "model_label": "myv__full__random"}},
        {
            "FinetuneArguments": {
                "output_dir": "/WORK/finetune",
                "per_device_train_batch_size": 16,
                "num_train_epochs": 3,
                "learning_rate": 0.0002,
                "disable_tqdm": True,
                "per_device_eval_batch_size": 16,
                "use_cpu": True,
                "dataloader_pin_memory": False,
                "eval_every_epochs": 1,
                "patience_epochs": 1,
            }
        },
    ],
    "cpu_long": [
        {
            "EvalDataArguments": {
                "task": "pos",
                "train_data": ["myv=../shared/data/ud/UD_Erzya-JR/myv_jr-ud-train.conllu"],
                "test_data": ["myv=../shared/data/ud/UD_Erzya-JR/myv_jr-ud-test.conllu"],
                "regime": "full",
                "max_dev_sentences": 300,
                "max_test_sentences": 100000,
                "max_length": 128,
                "seeds": [1],
            }
        },
        {"EvalModelArguments": {"model_name_or_path": "/MODEL", "model_label": "myv__full__random"}},
        {
            "FinetuneArguments": {
                "output_dir": "/WORK/finetune",
                "per_device_train_batch_size": 16,
                "num_train_epochs": 12,
                "learning_rate": 0.0001,
                "disable_tqdm": True,
                "per_device_eval_batch_size": 16,
                "use_cpu": True,
                "dataloader_pin_memory": False,
                "patience_epochs": 4,
            }
        },
    ],
    "cpu_long_esft": [
        {
            "EvalDataArguments": {
                "task": "pos",
                "train_data": ["myv=../shared/data/ud/UD_Erzya-JR/myv_jr-ud-train.conllu"],
                "test_data": ["myv=../shared/data/ud/UD_Erzya-JR/myv_jr-ud-test.conllu"],
                "regime": "full",
                "max_dev_sentences": 300,
                "max_test_sentences": 100000,
                "seeds": [1],
            }
        },
        {"EvalModelArguments": {"model_name_or_path": "/MODEL", "model_label": "myv__full__random"}},
        {
            "FinetuneArguments": {
                "output_dir": "/WORK/finetune",
                "num_train_epochs": 64,
                "disable_tqdm": True,
                "use_cpu": True,
                "dataloader_pin_memory": False,
                "patience_epochs": 8,
            }
        },
    ],
    "gpu": [
        {
            "EvalDataArguments": {
                "task": "pos",
                "train_data": ["myv=../shared/data/ud/UD_Erzya-JR/myv_jr-ud-train.conllu"],
                "test_data": ["myv=../shared/data/ud/UD_Erzya-JR/myv_jr-ud-test.conllu"],
                "regime": "full",
                "seeds": [1],
            }
        },
        {"EvalModelArguments": {"model_name_or_path": "/MODEL", "model_label": "myv__full__random"}},
        {
            "FinetuneArguments": {
                "output_dir": "/WORK/finetune",
                "num_train_epochs": 64,
                "disable_tqdm": True,
                "patience_epochs": 8,
            }
        },
    ],
}
# Fields a reference instance needs (checked in __post_init__): always listed.
REFERENCE_FIELDS = {"corpora", "stats_corpora", "tokenizer_name_or_path", "output_dir", "model_name_or_path",
                    "target_tokenizer", "train_corpora", "dev_corpora", "train_data", "test_data", "task", "regime",
                    "init_spec"}  # fmt: skip


def non_default_fields(args) -> dict:
    """{class name: {field: value}} of the fields that differ from a default-constructed instance's."""

    def plain(value):
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)

    fields = [f for f in dataclasses.fields(args) if f.init and f.name != "logging_dir"]  # logging_dir: a timestamp
    reference = type(args)(
        **{
            f.name: getattr(args, f.name)
            for f in fields
            if f.name in REFERENCE_FIELDS
            or (f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        }
    )
    values = {f.name: plain(getattr(args, f.name)) for f in fields}
    return {
        type(args).__name__: {
            k: v for k, v in values.items() if k in REFERENCE_FIELDS or v != plain(getattr(reference, k))
        }
    }


@pytest.mark.parametrize("name", ["cpu", "cpu_long", "cpu_long_esft", "gpu"])
def test_each_stage_gets_the_arguments_the_former_budget_fields_gave(name):
    budget, paths = grid.load_budget(name), grid.StagePaths(Path("/WORK"))
    dump = lambda built: [non_default_fields(args) for args in built]  # noqa: E731
    assert budget.setting("replace", "fasttext_threads") == 1  # FOCUS's fastText threads
    assert (
        dump(stages.tokenizer_arguments(budget, "myv", "/SRC", paths.tokenizer("myv"))) == FORMER_TOKENIZER_ARGUMENTS
    )
    for init in grid.INIT_METHODS:
        fasttext = Path("/FT/myv.bin") if init == "focus" else None
        built = stages.replace_arguments(budget, init, "/SRC", Path("/TOK/myv"), fasttext, paths.replaced("myv", init))
        assert dump(built) == [
            {"VocabReplacementArguments": {"model_name_or_path": "/SRC", "target_tokenizer": "/TOK/myv",
                                           "output_dir": f"/WORK/replaced/myv/{init}"}},
            {"InitOptions": {"init_spec": init, **({"fasttext_model": "/FT/myv.bin"} if fasttext else {})}},
        ]  # fmt: skip
    lapt_expected = FORMER_LAPT_ARGUMENTS["cpu_long" if name == "cpu_long_esft" else name]
    for mode in grid.LAPT_MODES:
        for resume in (False, True):
            model, *built = stages.lapt_arguments(budget, "/MODEL", "myv", mode, Path("/OUT"), resume)
            assert model.model_name_or_path == "/MODEL" and model.tokenizer_name_or_path is None
            (lapt, training) = [copy.deepcopy(d) for d in lapt_expected]
            if mode == "emb":
                lapt["LaptArguments"]["lapt_mode"] = "emb"
            if resume:
                del lapt["LaptArguments"]["overwrite"], training["LaptTrainingArguments"]["eval_on_start"]
                lapt["LaptArguments"]["resume"] = True
            assert dump(built) == [lapt, training], (mode, resume)
    unit = grid.Unit("myv", "random", "full", 1)
    built = stages.finetune_arguments(budget, unit, "/MODEL", "myv__full__random", paths.finetune())
    # == on values: num_train_epochs was the int 64, the recipe's parser makes it the float field's 64.0
    assert dump(built) == FORMER_FINETUNE_ARGUMENTS[name]


# An old-format budget.json: runs/replication/cpu_long/budget.json as the harness wrote it before issue 12.
LEGACY_CPU_LONG = {
    "name": "cpu_long", "stages_from": None, "source_model": "e5-small",
    "lapt_train": ["myv=runs/uralic/data/myv/train.txt", "sme=runs/uralic/data/sme/train.txt"],
    "lapt_dev": ["myv=runs/uralic/data/myv/dev.txt", "sme=runs/uralic/data/sme/dev.txt"],
    "ud_train": ["myv=../shared/data/ud/UD_Erzya-JR/myv_jr-ud-train.conllu",
                 "sme=../shared/data/ud/UD_North_Sami-Giella/sme_giella-ud-train.conllu"],
    "ud_test": ["myv=../shared/data/ud/UD_Erzya-JR/myv_jr-ud-test.conllu",
                "sme=../shared/data/ud/UD_North_Sami-Giella/sme_giella-ud-test.conllu"],
    "vocab_size": 16384, "tokenizer_sample_lines": 100000, "fasttext_threads": 1, "random_distribution": "auto",
    "lapt_steps": 400, "lapt_freeze_fraction": 0.1, "lapt_batch_size": 16, "lapt_gradient_accumulation": 1,
    "lapt_max_seq_length": 64, "lapt_learning_rate": 0.0001, "lapt_max_grad_norm": 0.5, "lapt_eval_steps": 100,
    "lapt_dev_draws": 128, "lapt_seed": 42, "ft_epochs": 12, "ft_eval_every_epochs": 2, "ft_patience_epochs": 4,
    "ft_learning_rate": 0.0001, "ft_batch_size": 16, "ft_max_length": 128, "ft_dev_size": 300,
    "ft_max_train_sentences": 32768, "ft_max_dev_sentences": 300, "ft_max_test_sentences": 100000, "use_cpu": True,
}  # fmt: skip


def test_an_old_format_budget_json_is_converted_once_or_refused(tmp_path):
    budget, path = grid.load_budget("cpu_long"), tmp_path / "work" / "budget.json"
    path.parent.mkdir()
    path.write_text(json.dumps(LEGACY_CPU_LONG), encoding="utf-8")
    grid.check_work_dir_budget(budget, path.parent, create=False)  # the same settings: rewritten in the new format
    rewritten = json.loads(path.read_text(encoding="utf-8"))
    assert rewritten == grid.budget_record(budget) and rewritten["stages"]["lapt"]["freeze_transformer_steps"] == 40
    assert [p.name for p in path.parent.iterdir()] == ["budget.json"]  # written atomically: no temporary left
    grid.check_work_dir_budget(budget, path.parent)  # and accepted from then on
    # an old record of other settings stays as it is, and the error names the fields in the new names
    path.write_text(json.dumps({**LEGACY_CPU_LONG, "lapt_steps": 800, "ft_batch_size": 8}), encoding="utf-8")
    before = path.read_text(encoding="utf-8")
    expected = r"lapt_args freeze_transformer_steps: 80 there, 40 now; lapt_args max_steps: 800 there, 400 now"
    with pytest.raises(ConfigError, match=r"budget.json: budget 'cpu_long' differs .*" + expected + ".*own --name"):
        grid.check_work_dir_budget(budget, path.parent)
    with pytest.raises(ConfigError, match=r"finetune_args per_device_train_batch_size: 8 there, 16 now"):
        grid.check_work_dir_budget(budget, path.parent)
    assert path.read_text(encoding="utf-8") == before
    # the old defaults fill what an old record lacks (here: every LAPT field but the step count → a mismatch)
    path.write_text(json.dumps({"name": "cpu_long", "lapt_steps": 400}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"lapt_args per_device_train_batch_size: 200 there, 16 now"):
        grid.check_work_dir_budget(budget, path.parent)


def test_the_listing_checks_the_work_dir_budget_and_creates_nothing(tmp_path, capsys):
    argv = ["--budget", "cpu", "--results_dir", str(tmp_path / "res"), "--work_dir", str(tmp_path / "work")]
    run.main([*argv, "--list", "--language", "myv"])
    assert not (tmp_path / "work").exists() and "0/48 units done" in capsys.readouterr().out
    grid.check_work_dir_budget(grid.load_budget("cpu", ["--lapt_args", "max_steps=7"]), tmp_path / "work")
    with pytest.raises(ConfigError, match=r"lapt_args max_steps: 7 there, 60 now"):
        run.main([*argv, "--list"])


def test_finished_units_are_skipped(tmp_path, capsys):
    budget = grid.load_budget("cpu")
    units = grid.enumerate_units(budget, languages=["myv"], modes=["none", "full"])
    done = units[:4]
    for unit in done:
        path = unit.results_path(tmp_path)
        path.parent.mkdir(parents=True)
        path.write_text("{}", encoding="utf-8")
    assert grid.pending_units(units, tmp_path) == units[4:]
    argv = ["--budget", "cpu", "--results_dir", str(tmp_path), "--language", "myv", "--lapt_mode", "none", "full"]
    todo = run.main([*argv, "--list"])
    assert todo == units[4:]
    out = capsys.readouterr().out
    assert "done    myv/none/source/seed1\n" in out and "todo    myv/full/random/seed1\n" in out
    assert "4/27 units done" in out


def _fake_checkpoint(work_dir: Path, step: int, epoch: float, best: float) -> None:
    checkpoint = work_dir / f"checkpoint-{step}"
    checkpoint.mkdir(parents=True)
    (checkpoint / "model.safetensors").write_bytes(b"")
    state = {"global_step": step, "max_steps": 832, "epoch": epoch, "num_train_epochs": 64, "best_metric": best}
    (checkpoint / "trainer_state.json").write_text(json.dumps(state), encoding="utf-8")


def test_the_listing_shows_running_units_and_how_far_an_interrupted_one_got(tmp_path, capsys):
    argv = ["--budget", "cpu", "--results_dir", str(tmp_path / "res"), "--work_dir", str(tmp_path / "work")]
    argv += ["--language", "myv", "--lapt_mode", "full", "--init", "random", "--seeds", "1", "2", "--list"]
    paths = grid.StagePaths(tmp_path / "work")
    first, second = grid.enumerate_units(grid.load_budget("cpu"), ["myv"], ["full"], ["random"], [1, 2])
    _fake_checkpoint(stages.finetune_work_dir(paths, first), 624, 48.0, 0.5943)
    (stages.finetune_work_dir(paths, first) / "checkpoint-637").mkdir()  # cut short by a kill: not counted
    with locks.exclusive(paths.unit_claim(second)):  # as the process running it holds it
        assert locks.is_held(paths.unit_claim(second)) and not locks.is_held(paths.unit_claim(first))
        run.main(argv)
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        "todo    myv/full/random/seed1  (checkpoint at epoch 48 of 64, step 624 of 832; best dev 0.5943)",
        "running myv/full/random/seed2",
    ]
    assert not locks.lock_path(paths.unit_claim(first)).exists()  # asking created no lock file


def fake_record(language, mode, init, seed, accuracy, lapt_dir=None):
    lapt = {"dir": lapt_dir, "flops": 2.0e12, "wall_time_s": 120.0, "best_dev_loss": 7.0} if lapt_dir else None
    return {
        "task": "pos", "regime": "full", "language": language, "seed": seed, "metric": "accuracy",
        "metrics": {"accuracy": accuracy}, "lapt_mode": mode, "init_method": init, "lapt": lapt, "wall_time_s": 60.0,
    }  # fmt: skip


def test_table_rows_follow_the_paper_with_compute_columns():
    records = [
        fake_record("myv", "full", "random", 1, 0.40, "a"),
        fake_record("myv", "full", "random", 2, 0.42, "a"),
        fake_record("myv", "full", "script+posn+ident", 1, 0.70, "b"),
        fake_record("myv", "emb", "focus", 1, 0.38, "c"),
        fake_record("myv", "none", "source", 1, 0.45),
        fake_record("myv", "full", "script", 1, 0.60, "d"),
    ]
    table = tables.build_replication_table(records)
    assert table.rows == ["none / source", "full / random", "full / script", "full / script+posn+ident", "emb / focus"]
    assert table.extra["seeds"]["full / random"] == "myv 2"
    assert table.extra["LAPT FLOPs"]["full / random"] == "2.00e+12"
    assert table.extra["LAPT FLOPs"]["none / source"] == "0"
    assert table.extra["LAPT wall"]["full / random"] == "2.0 min"
    assert table.extra["[ES] myv"]["full / script+posn+ident"] == "79.0"
    assert table.cells["full / random", "myv"].mean == pytest.approx(41.0)
    assert table.extra["FT epochs: best / run"]["full / random"] == ""  # no training record: left empty
    records[0].update(best_dev={"step": 260}, epochs_run=40.0, steps=520)  # 13 steps per epoch: best at epoch 20
    records[1].update(best_dev={"step": 416}, epochs_run=64.0, steps=832)  # best at 32 of 64
    table = tables.build_replication_table(records)
    assert table.extra["FT epochs: best / run"]["full / random"] == "26 / 52"
    tau, n = tables.rank_agreement(table)
    assert n == 5 and tau == pytest.approx(1.0)  # same order as [ES]: 56.3 / 53.3 / 71.5 / 79.0 / 48.6 → ours
    assert "| full / random | myv 2 |" in table.to_markdown()


def test_seeds_fine_tuned_from_a_rebuilt_lapt_stage_are_named():
    first, rebuilt = ({"flops": 3.51e13, "wall_time_s": 624.0, "best_dev_loss": 7.4632},
                      {"flops": 1.57e13, "wall_time_s": 546.0, "best_dev_loss": 7.4611})  # fmt: skip
    records = [fake_record("myv", "emb", "random", seed, 0.75, "runs/x") for seed in (3, 1, 2)]
    for record, lapt_run in zip(records, (rebuilt, first, rebuilt), strict=True):
        record["lapt"].update(lapt_run)
    records[2]["lapt"]["wall_time_s"] = 546.04  # seed 2: the same run as seed 3's, stored unrounded by older code
    # one run per language of another model (a language apart is not a rebuild), and a model without LAPT
    records += [fake_record(lang, "full", "mean", 1, 0.8, f"runs/{lang}") for lang in ("myv", "sme")]
    records += [fake_record("myv", "none", "source", 1, 0.85)]
    records[-2]["lapt"]["best_dev_loss"] = 6.5
    assert tables.rebuilt_stage_notes(records) == [
        "- emb / random, myv: seed 1 from a run with dev loss 7.463, 3.51e+13 FLOPs; "
        "seeds 2, 3 from a run with dev loss 7.461, 1.57e+13 FLOPs."
    ]
    table = tables.build_replication_table(records)
    assert table.extra["LAPT FLOPs"]["emb / random"] == "2.54e+13"  # the mean of the two runs, each counted once


def test_report_shows_dev_accuracy_against_the_epoch_and_writes_every_evaluation(tmp_path):
    def curve(values, every=2):  # dev accuracy at epochs every, 2·every, …; 13 steps per epoch
        return [
            {"step": 13 * every * (i + 1), "epoch": float(every * (i + 1)), "value": v} for i, v in enumerate(values)
        ]

    records = [
        fake_record("myv", "full", "random", 1, 0.55, "a") | {"dev_curve": curve([0.25, 0.40, 0.47, 0.50])},
        fake_record("myv", "full", "random", 2, 0.57, "a") | {"dev_curve": curve([0.27, 0.44])},  # stopped at 4
        fake_record("myv", "none", "source", 1, 0.49) | {"dev_curve": curve([0.36, 0.48, 0.48, 0.48])},
        fake_record("myv", "full", "script", 1, 0.60, "d"),  # fine-tuned before units recorded their curve
    ]
    results = tmp_path / "results"
    for record in records:
        unit = results / record["language"] / record["lapt_mode"] / record["init_method"] / f"seed{record['seed']}"
        unit.mkdir(parents=True)
        (unit / "results.json").write_text(json.dumps(record), encoding="utf-8")
    output = tables.write_report(results, tmp_path / "table.md", grid.load_budget("cpu_long_esft"))
    lines = output.read_text(encoding="utf-8").splitlines()
    start = lines.index("| | language | curves | ep 2 | ep 4 | ep 6 | ep 8 |")  # 2^k, 3·2^k and the last epoch
    assert lines[start + 2 : start + 4] == [
        "| none / source | myv | 1 | 36.0 | 48.0 | 48.0 | 48.0 |",  # the table's row order, not the files'
        "| full / random | myv | 2 | 26.0 | 42.0 | 47.0 (1 of 2) | 50.0 (1 of 2) |",
    ]
    assert len(lines) == start + 4  # the unit without a curve has no row
    csv_rows = pd.read_csv(tmp_path / "table_dev_curves.csv")
    assert list(csv_rows.columns) == ["row", "language", "seed", "epoch", "step", "dev_accuracy"]
    assert len(csv_rows) == 4 + 2 + 4
    assert csv_rows.iloc[0].tolist() == ["none / source", "myv", 1, 2.0, 26, 36.0]
    assert tables._shown_epochs({float(e) for e in range(2, 66, 2)}) == [2, 4, 6, 8, 12, 16, 24, 32, 48, 64]
    assert tables._shown_epochs({1.0, 2.0, 3.0, 5.0, 10.0}) == [1, 2, 3, 10]


def test_eta_extrapolates_lapt_per_mode_and_finetuning_per_unit():
    eta = run.Eta()
    assert eta.remaining([]) is None
    eta.add(grid.Unit("myv", "random", "full", 1), {"harness_wall_time_s": {"prepare": 100.0, "finetune": 10.0}})
    eta.add(grid.Unit("myv", "random", "full", 2), {"harness_wall_time_s": {"prepare": 0.1, "finetune": 20.0}})
    rest = [grid.Unit("myv", "ident", "full", s) for s in (1, 2)] + [grid.Unit("myv", "source", "none", 1)]
    assert eta.remaining(rest) == pytest.approx(100.0 + 3 * 15.0)


def test_a_lock_excludes_other_holders_and_dies_with_its_process(tmp_path):
    stage = tmp_path / "work" / "stage"
    with locks.exclusive(stage):
        with pytest.raises(locks.LockHeld, match="stage is being worked on by another process"):
            with locks.exclusive(stage, wait=False):
                pass
    with locks.exclusive(stage, wait=False):  # released on exit
        pass
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX);"
         " print('held', flush=True); time.sleep(60)", str(locks.lock_path(stage))],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        assert locks.is_held(stage)
        with pytest.raises(locks.LockHeld, match="is being worked on by another process"):
            with locks.exclusive(stage, wait=False):
                pass
    finally:
        holder.kill()
        holder.wait()
    assert not locks.is_held(stage)
    with locks.exclusive(stage, wait=False):  # a killed holder leaves no stale lock
        pass


def test_a_stage_being_built_elsewhere_is_waited_for_and_reused(tmp_path):
    output, builds = tmp_path / "tokenizer", []
    build = lambda: (builds.append("built"), output.mkdir())  # noqa: E731
    with locks.exclusive(output):  # "another process" is building the stage
        waiter = threading.Thread(target=stages.build_once, args=(output, Path.is_dir, build))
        waiter.start()
        time.sleep(0.3)
        assert waiter.is_alive()  # blocked on the lock, not building it a second time
        output.mkdir()
    waiter.join(10)
    assert not waiter.is_alive() and builds == []
    assert stages.build_once(tmp_path / "other", Path.is_dir, lambda: (tmp_path / "other").mkdir()).is_dir()


def test_units_claimed_by_another_process_are_left_to_it(tmp_path, monkeypatch):
    ran = []

    def fake_run_unit(budget, paths, unit, results_dir, source):
        ran.append(unit.name)
        record = fake_record(unit.language, unit.mode, unit.init, unit.seed, 0.5)
        record["harness_wall_time_s"] = {"prepare": 0.0, "finetune": 1.0}
        unit.results_path(results_dir).parent.mkdir(parents=True)
        unit.results_path(results_dir).write_text(json.dumps(record), encoding="utf-8")
        return record

    monkeypatch.setattr(run, "run_unit", fake_run_unit)
    monkeypatch.setattr(run, "resolve_source", lambda budget: "source")
    argv = ["--budget", "cpu", "--work_dir", str(tmp_path / "work"), "--results_dir", str(tmp_path / "res")]
    argv += ["--report_output", str(tmp_path / "table.md"), "--language", "myv", "--lapt_mode", "none"]
    argv += ["--replace_args", "random_distribution=unit"]  # a budget override: recorded in the table's command
    first, second, third = grid.enumerate_units(grid.load_budget("cpu"), ["myv"], ["none"])
    with locks.exclusive(grid.StagePaths(tmp_path / "work").unit_claim(first)):  # running elsewhere
        assert run.main(argv) == [first]
    assert ran == [second.name, third.name]
    assert run.main(argv) == [] and ran[-1] == first.name  # a later run picks it up
    header = (tmp_path / "table.md").read_text(encoding="utf-8")
    assert "run.py --budget cpu --replace_args random_distribution=unit --report_only` from 3 unit results" in header
    assert "random rows: `unit`" in header


def killed_lapt_stage(partial: Path, state: str) -> None:
    """What a harness process killed during a LAPT stage leaves in ``<dir>.partial``."""
    checkpoint = partial / "checkpoint-2"
    checkpoint.mkdir(parents=True)
    (checkpoint / "model.safetensors").write_bytes(b"weights")
    if state == "mid_first_save":  # trainer_state.json cut short: the checkpoint is not usable
        (checkpoint / "trainer_state.json").write_text('{"global_st')
        return
    (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": 2}))
    if state == "mid_second_save":  # checkpoint-4 has its weights but not its trainer_state.json yet
        (partial / "checkpoint-4").mkdir()
        (partial / "checkpoint-4" / "model.safetensors").write_bytes(b"weights")
    elif state == "while_tidying_up":  # the run had finished (lapt_results.json is its last write)
        (partial / "best").mkdir()
        (partial / ".best.x1.tmp").mkdir()
        (partial / LAPT_RESULTS_FILE).write_text("{}")


@pytest.mark.parametrize(
    "state, calls",
    [
        ("mid_first_save", [{"resume": False, "overwrite": True, "eval_on_start": True}]),
        ("mid_second_save", [{"resume": True, "overwrite": False, "eval_on_start": False}]),
        ("while_tidying_up", []),
    ],
)
def test_a_killed_lapt_stage_restarts_resumes_or_only_finishes(tmp_path, monkeypatch, state, calls):
    seen = []

    class FakeLaptRecipe:  # the real recipe's resume is tested in tests/test_lapt_resume.py
        @staticmethod
        def main(model_args, lapt_args, training_args):
            seen.append(
                {
                    "resume": lapt_args.resume,
                    "overwrite": lapt_args.overwrite,
                    "eval_on_start": training_args.eval_on_start,
                }
            )
            output_dir = Path(training_args.output_dir)
            if lapt_args.overwrite:
                shutil.rmtree(output_dir)
            (output_dir / "best").mkdir(parents=True)
            (output_dir / "checkpoint-8").mkdir()
            (output_dir / LAPT_RESULTS_FILE).write_text("{}")

    monkeypatch.setattr(stages, "recipe", lambda name: FakeLaptRecipe)
    paths = grid.StagePaths(tmp_path / "work")
    paths.source_mlm().mkdir(parents=True)  # the LAPT input is ready
    output = paths.lapt("myv", grid.SOURCE_VOCAB, "full")
    killed_lapt_stage(output.with_name(output.name + stages.PARTIAL), state)
    assert stages.ensure_lapt(grid.load_budget("cpu"), paths, "myv", grid.SOURCE_VOCAB, "full", "src") == output
    assert seen == calls
    assert sorted(p.name for p in output.iterdir()) == ["best", LAPT_RESULTS_FILE]
    assert not output.with_name(output.name + stages.PARTIAL).exists()


UPOS = ["NOUN", "VERB", "ADJ", "PUNCT"]


def write_conllu(path: Path, lines: list[str], seed: int) -> Path:
    """Sentences of the synthetic corpus with a made-up but learnable tagging (by word length)."""
    rng = random.Random(seed)
    blocks = []
    for n, line in enumerate(lines):
        words = line[:-1].split() + [line[-1]]
        rows = [f"# sent_id = s{n}", f"# text = {line}"]
        for i, word in enumerate(words, start=1):
            tag = "PUNCT" if i == len(words) else UPOS[len(word) % 3 if rng.random() < 0.9 else rng.randrange(3)]
            head, rel = (0, "root") if i == 1 else (1, "dep")
            rows.append(f"{i}\t{word}\t{word}\t{tag}\t_\t_\t{head}\t{rel}\t_\t_")
        blocks.append("\n".join(rows) + "\n")
    path.write_text("\n".join(blocks) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_tiny_end_to_end_units_then_resume(tmp_path, tiny_corpus_dir, source_model_dir):
    text = (tiny_corpus_dir / "myv.txt").read_text(encoding="utf-8").splitlines()
    train = write_conllu(tmp_path / "train.conllu", text[:40], seed=0)
    test = write_conllu(tmp_path / "test.conllu", text[40:60], seed=1)
    config = tmp_path / "tiny.yaml"
    config.write_text(
        "\n".join(
            [
                "name: tiny",
                "languages: [myv]",
                "init_methods: [script+posn+ident, focus]",
                "seeds: [1, 2]",
                f"source_model: {source_model_dir}",
                f"lapt_train: [myv={tiny_corpus_dir / 'myv.txt'}]",
                f"lapt_dev: [myv={tiny_corpus_dir / 'myv.txt'}]",
                f"ud_train: [myv={train}]",
                f"ud_test: [myv={test}]",
                "tokenizer_args: [vocab_size=300, num_sample_lines=2000, seed=42]",
                "replace_args: [seed=42, fasttext_threads=1]",
                "lapt_args: [max_steps=4, per_device_train_batch_size=4, per_device_eval_batch_size=4, max_seq_length=32,"
                " learning_rate=1.0e-3, eval_steps=2, save_steps=2, logging_steps=1, dev_draws=8, max_grad_norm=0.5,"
                " freeze_transformer_steps=0, seed=42]",
                "finetune_args: [num_train_epochs=1, eval_every_epochs=1, patience_epochs=1, learning_rate=1.0e-3,"
                " per_device_train_batch_size=8, per_device_eval_batch_size=8, max_length=64, dev_size=8]",
                "use_cpu: true",
            ]
        ),
        encoding="utf-8",
    )
    common = ["--budget", str(config), "--work_dir", str(tmp_path / "work"), "--results_dir", str(tmp_path / "res")]
    common += ["--report_output", str(tmp_path / "table.md")]
    select = ["--lapt_mode", "none", "full", "--init", "source", "focus", "--seeds", "1"]
    assert run.main(common + select) == []
    paths = grid.StagePaths(tmp_path / "work")
    assert (paths.tokenizer("myv") / "tokenizer.json").is_file()
    assert paths.fasttext("myv").is_file()
    assert (paths.lapt("myv", "focus", "full") / "best" / "config.json").is_file()
    assert not list(paths.lapt("myv", "focus", "full").glob("checkpoint-*"))
    unit = grid.Unit("myv", "focus", "full", 1)
    record = json.loads(unit.results_path(tmp_path / "res").read_text(encoding="utf-8"))
    assert record["init_method"] == "focus" and record["lapt_mode"] == "full" and record["seed"] == 1
    assert 0.0 <= record["metrics"]["accuracy"] <= 1.0
    assert record["lapt"]["steps"] == 4 and record["lapt"]["flops"] > 0 and record["lapt"]["vocab_size"] == 300
    assert record["n_dev"] == 8 and record["n_train"] == 32
    # the curve starts at step 0 (the LAPT input), which curves.initial_dev_loss measures alone, identically
    import curves

    curve = record["lapt"]["dev_loss_curve"]
    assert [p["step"] for p in curve] == [0, 2, 4]
    budget = grid.load_budget(str(config))
    assert curves.initial_dev_loss(budget, paths, "myv", "focus", str(source_model_dir)) == curve[0]["loss"]
    assert curves.step0_path(paths, "myv", "focus").is_file()
    # the source-vocabulary LAPT baseline and the off-the-shelf model
    assert json.loads(grid.Unit("myv", "source", "full", 1).results_path(tmp_path / "res").read_text())["lapt"]
    assert json.loads(grid.Unit("myv", "source", "none", 1).results_path(tmp_path / "res").read_text())["lapt"] is None
    table = (tmp_path / "table.md").read_text(encoding="utf-8")
    assert "| full / focus | myv 1 |" in table and "| none / source | myv 1 |" in table
    # a rerun skips every finished unit: nothing is recomputed
    stamp = unit.results_path(tmp_path / "res").stat().st_mtime_ns
    assert run.main(common + select) == []
    assert unit.results_path(tmp_path / "res").stat().st_mtime_ns == stamp
    # another fine-tuning recipe on the same LAPT model (stages_from, given as a path): LAPT is not trained again
    child = tmp_path / "tiny_ft.yaml"
    child.write_text(
        f"name: tiny_ft\nstages_from: {config}\nfinetune_args: [learning_rate=1.0e-4]\n", encoding="utf-8"
    )
    lapt_stamp = (paths.lapt("myv", "focus", "full") / LAPT_RESULTS_FILE).stat().st_mtime_ns
    child_args = ["--budget", str(child), "--work_dir", str(tmp_path / "tiny_ft"), "--results_dir", str(tmp_path / "ft")]  # fmt: skip
    child_args += [
        "--report_output",
        str(tmp_path / "ft.md"),
        "--lapt_mode",
        "full",
        "--init",
        "focus",
        "--seeds",
        "1",
    ]
    child_args += ["--stages_work_dir", str(tmp_path / "work")]  # the base ran with its own --work_dir
    assert run.main(child_args) == []
    child_record = json.loads(unit.results_path(tmp_path / "ft").read_text(encoding="utf-8"))
    assert child_record["lapt"]["dir"] == record["lapt"]["dir"] == str(paths.lapt("myv", "focus", "full"))
    assert (paths.lapt("myv", "focus", "full") / LAPT_RESULTS_FILE).stat().st_mtime_ns == lapt_stamp
    assert child_record["budget"] == "tiny_ft" and not (tmp_path / "tiny_ft" / "lapt").exists()


def test_a_budget_with_stages_from_inherits_its_base_and_refuses_changed_stages(tmp_path):
    esft, base = grid.load_budget("cpu_long_esft"), grid.load_budget("cpu_long")
    assert esft.stages_from == "cpu_long" and esft.name == "cpu_long_esft"
    records, base_records = grid.budget_record(esft), grid.budget_record(base)
    assert all(records["stages"][stage] == base_records["stages"][stage] for stage in ("tokenizer", "replace", "lapt"))
    assert all(records[k] == base_records[k] for k in grid.DATA_FIELDS)
    ft = lambda name: esft.setting("finetune", name)  # noqa: E731
    assert (ft("learning_rate"), ft("per_device_train_batch_size"), ft("num_train_epochs"), ft("patience_epochs")) == (
        5e-6,
        72,
        64,
        8,
    )
    assert esft.seeds == base.seeds and grid.load_budget("cpu_long_esft", ["--seeds", "1"]).seeds == [1]
    with pytest.raises(ConfigError, match=r"reuses the cached stages of 'cpu_long'.*lapt_args max_steps: 400 there, 800 here"):  # fmt: skip
        grid.load_budget("cpu_long_esft", ["--lapt_args", "max_steps=800"])
    path = tmp_path / "child.yaml"
    for text, error in [
        ("lapt_args: [learning_rate=1.0e-3]", r"lapt_args learning_rate: 0.0001 there, 0.001 here"),
        ("replace_args: [random_distribution=unit]", r"replace_args random_distribution: 'auto' there, 'unit' here"),
        ("tokenizer_args: [model_type=bpe]", r"tokenizer_args model_type: unset there, 'bpe' here"),
        ("use_cpu: false", r"use_cpu: True there, False here"),
        ("lapt_dev: [myv=other.txt]", r"lapt_dev: \[.*\] there, \['myv=other.txt'\] here"),
    ]:
        path.write_text(f"name: child\nstages_from: cpu_long\n{text}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"child.yaml: budget 'child' reuses .*" + error + ".*only finetune"):
            grid.load_budget(str(path))
    path.write_text("name: child\nstages_from: cpu_long\nfinetune_args: [num_train_epochs=3]\n", encoding="utf-8")
    child = grid.load_budget(str(path))  # what it does not set is the base's; its finetune_args merge into the base's
    assert child.setting("finetune", "num_train_epochs") == 3 and child.name == "child"
    assert child.setting("finetune", "learning_rate") == base.setting("finetune", "learning_rate") == 1e-4
    path.write_text("name: child\nstages_from: child\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="names the budget itself"):
        grid.load_budget(str(path))


def test_stages_from_shares_the_stages_and_keeps_finetuning_apart(tmp_path, monkeypatch):
    built = []

    def fake_run_unit(budget, paths, unit, results_dir, source):
        built.append((paths.lapt(*unit.model_key), paths.finetune()))
        record = fake_record(unit.language, unit.mode, unit.init, unit.seed, 0.5)
        record["harness_wall_time_s"] = {"prepare": 0.0, "finetune": 1.0}
        unit.results_path(results_dir).parent.mkdir(parents=True)
        unit.results_path(results_dir).write_text(json.dumps(record), encoding="utf-8")
        return record

    monkeypatch.setattr(run, "run_unit", fake_run_unit)
    monkeypatch.setattr(run, "resolve_source", lambda budget: "source")
    work = tmp_path / "runs" / "cpu_long_esft"
    argv = ["--budget", "cpu_long_esft", "--work_dir", str(work), "--results_dir", str(tmp_path / "res")]
    argv += ["--report_output", str(tmp_path / "table.md"), "--language", "myv", "--lapt_mode", "full"]
    assert run.main(argv + ["--init", "random", "--seeds", "1"]) == []
    (lapt_dir, finetune_dir) = built[0]
    assert lapt_dir == tmp_path / "runs" / "cpu_long" / "lapt" / "myv" / "random" / "full"  # the base's stage
    assert finetune_dir == work / "finetune"
    recorded = json.loads((tmp_path / "runs" / "cpu_long" / "budget.json").read_text())
    assert recorded["name"] == "cpu_long"  # the base's own record, its own fine-tuning included
    assert recorded["stages"]["finetune"]["learning_rate"] == 1e-4
    assert json.loads((work / "budget.json").read_text())["stages"]["finetune"]["learning_rate"] == 5e-6
    # a base work directory made with other LAPT settings is refused
    recorded["stages"]["lapt"]["max_steps"] = 800
    (tmp_path / "runs" / "cpu_long" / "budget.json").write_text(json.dumps(recorded))
    with pytest.raises(
        ConfigError, match=r"cpu_long/budget.json: budget 'cpu_long' differs .*lapt_args max_steps: 800"
    ):
        run.main(argv + ["--init", "ident", "--seeds", "1"])


def write_lapt_results(lapt_dir: Path, curve: list[tuple[int, float]]) -> None:
    lapt_dir.mkdir(parents=True)
    results = {
        "dev_loss_curve": [{"step": s, "loss": v} for s, v in curve],
        "best_step": min(curve, key=lambda p: p[1])[0],
    }
    (lapt_dir / LAPT_RESULTS_FILE).write_text(json.dumps(results), encoding="utf-8")


def test_lapt_curves_table_has_a_column_per_step_and_the_gaps_to_random(tmp_path):
    import curves

    budget = grid.load_budget("cpu_long")
    paths = grid.StagePaths(tmp_path / "work")
    write_lapt_results(paths.lapt("myv", "random", "full"), [(0, 9.8), (100, 7.0), (200, 6.5)])
    write_lapt_results(paths.lapt("myv", "script", "full"), [(0, 9.5), (100, 7.2), (200, 6.25)])
    write_lapt_results(paths.lapt("myv", "script", "emb"), [(0, 9.5), (100, 7.4)])
    step0 = curves.step0_path(paths, "myv", "ident")  # step 0 measured without a LAPT run
    step0.parent.mkdir(parents=True)
    step0.write_text(json.dumps({"loss": 9.1}), encoding="utf-8")
    results = tmp_path / "results"  # an earlier run's unit JSONs: the first run's best dev loss
    record = fake_record("myv", "full", "mean", 1, 0.8, "m")
    record["lapt"].update(best_step=400, best_dev_loss=6.978)
    for seed, loss in ((2, 6.970), (1, 6.978), (3, 6.970)):  # seeds 2–3 fine-tuned from a rebuild of the stage
        record.update(seed=seed)
        record["lapt"].update(best_dev_loss=loss)
        grid.Unit("myv", "mean", "full", seed).results_path(results).parent.mkdir(parents=True)
        grid.Unit("myv", "mean", "full", seed).results_path(results).write_text(json.dumps(record), encoding="utf-8")
    output = curves.write_curves_report(paths, budget, tmp_path / "curves.md", results)
    text = output.read_text(encoding="utf-8")
    assert "| LAPT model | step 0 | step 100 | step 200 | best step | vs FULL random: step 0 |" in text
    assert "| full / random | 9.800 | 7.000 | 6.500 | 200 | +0.000 | +0.000 (step 200) |  |" in text
    assert "| full / ident | 9.100 |  |  |  | -0.700 |  |  |" in text
    assert "| full / script | 9.500 | 7.200 | 6.250 | 200 | -0.300 | -0.250 (step 200) |  |" in text
    assert "| full / mean |  |  |  |  |  |  | 6.978 (400) |" in text
    assert "| emb / script | 9.500 | 7.400 |  | 100 | -0.300 | +0.400 (step 100) |  |" in text
    assert "emb / ident" not in text  # a step 0 alone is shown once, in the first LAPT mode
    assert text.index("full / random") < text.index("full / ident") < text.index("full / script")
    assert text.index("full / mean") < text.index("emb / script")
    # the figure beside the table: the runs with a curve (not ident's lone step 0), and their gaps to FULL random
    assert "![LAPT dev loss against the step, myv](curves_myv.png)" in text
    assert (tmp_path / "curves_myv.png").read_bytes().startswith(b"\x89PNG")
    plotted = pd.read_csv(tmp_path / "curves_myv.csv")
    assert sorted(set(plotted["model"])) == ["emb / script", "full / random", "full / script"]
    script = plotted[plotted["model"] == "full / script"].set_index("step")["minus_full_random"]
    assert script.to_dict() == pytest.approx({0: -0.3, 100: 0.2, 200: -0.25})
    empty = grid.StagePaths(tmp_path / "empty")
    assert curves.write_curves_report(empty, budget, tmp_path / "none.md", tmp_path / "nothing") is None


def test_embedding_structure_statistics_on_planted_groups():
    import embedding_structure as es

    rng = np.random.default_rng(0)
    labels = np.array(["Latin"] * 600 + ["Cyrillic"] * 300 + ["Greek"] * 100)
    centres = {"Latin": 0.0, "Cyrillic": 6.0, "Greek": -6.0}
    vectors = rng.normal(size=(1000, 8)).astype(np.float32)
    vectors[:, 0] += np.array([centres[label] for label in labels])
    # between-group variance 0.6·1.2² + 0.3·4.8² + 0.1·7.2² = 12.96 (overall mean 1.2) over 8 + 12.96
    assert 0.58 < es.eta_squared(vectors, labels) < 0.66
    assert es.eta_squared(vectors, rng.permutation(labels)) < 0.01
    separated = es.linear_probe(vectors, labels, iterations=50)
    assert separated.classes == 3 and separated.test_rows == 200 and separated.train_rows == 800
    assert separated.accuracy > 0.97 and separated.balanced_accuracy > 0.95
    assert abs(separated.majority_baseline - 0.6) < 0.1
    assert separated.shuffled_balanced_accuracy < 0.5  # chance is 1/3
    noise = es.linear_probe(rng.normal(size=(1000, 8)).astype(np.float32), labels, iterations=50)
    assert noise.balanced_accuracy < 0.45
    pcs, share = es.principal_components(vectors)
    assert pcs.shape == (1000, 2) and 0 < share < 1
    with pytest.raises(ValueError, match="at least 2 classes"):
        es.linear_probe(vectors, ["Latin"] * 1000)
    positions = np.array(["initial", "internal"] * 500)
    one_script = es.describe_model("one", es.Rows(vectors, np.array(["Cyrillic"] * 1000), positions), 100, 2)
    assert "| script | n/a: one script with ≥ 100 rows |" in "\n".join(one_script)
    assert any(line.startswith("| word-initial vs internal, Cyrillic rows | 2 |") for line in one_script)


def test_embedding_structure_report_of_a_tiny_model(source_model_dir, tmp_path):
    import embedding_structure as es

    rows = es.load_rows(source_model_dir)
    assert len(rows.vectors) == len(rows.scripts) == len(rows.positions) > 0
    report = es.main(["--no_source", "--models", str(source_model_dir), "--min_rows", "5",
                      "--output", str(tmp_path / "structure.md")])  # fmt: skip
    assert report == (tmp_path / "structure.md").read_text(encoding="utf-8")
    assert "| script (" in report and "| word-initial vs internal, all rows |" in report
    assert "| script × position (the same rows) |" in report


def test_lapt_only_builds_each_model_once_in_order_and_goes_on_after_a_failure(tmp_path, monkeypatch):
    built = []

    def fake_ensure_model(budget, paths, unit, source):
        built.append(unit.model_key)
        if unit.init == "ident":
            raise RuntimeError("broken stage")
        write_lapt_results(paths.lapt(*unit.model_key), [(0, 9.0), (100, 7.0)])
        return "model", paths.lapt(*unit.model_key)

    monkeypatch.setattr(run, "ensure_model", fake_ensure_model)
    monkeypatch.setattr(run, "resolve_source", lambda budget: "source")
    argv = ["--budget", "cpu_long", "--work_dir", str(tmp_path / "work"), "--results_dir", str(tmp_path / "res")]
    argv += ["--report_output", str(tmp_path / "replication_cpu_long.md"), "--language", "myv", "--lapt_only"]
    run.main(argv + ["--lapt_mode", "none", "full", "--init", "source", "random", "ident", "script"])
    assert built == [("myv", "source", "full"), ("myv", "random", "full"), ("myv", "ident", "full"),
                     ("myv", "script", "full")]  # fmt: skip
    assert not (tmp_path / "res").exists()  # nothing fine-tuned
    table = (tmp_path / "replication_cpu_long_lapt_curves.md").read_text(encoding="utf-8")
    assert "| full / random | 9.000 | 7.000 | 100 |" in table and "full / ident" not in table


def test_lapt_only_leaves_a_stage_another_process_builds_for_last(tmp_path, monkeypatch):
    from locks import exclusive

    built = []

    def fake_ensure_model(budget, paths, unit, source):
        built.append(unit.init)
        return "model", paths.lapt(*unit.model_key)

    monkeypatch.setattr(run, "ensure_model", fake_ensure_model)
    monkeypatch.setattr(run, "resolve_source", lambda budget: "source")
    work = tmp_path / "work"
    argv = ["--budget", "cpu_long", "--work_dir", str(work), "--results_dir", str(tmp_path / "res"), "--lapt_only",
            "--report_output", str(tmp_path / "r.md"), "--language", "myv", "--lapt_mode", "full",
            "--init", "random", "ident", "script"]  # fmt: skip
    with exclusive(grid.StagePaths(work).lapt("myv", "random", "full")):  # "another process" building random
        run.main(argv)
    assert built == ["ident", "script", "random"]


def test_lapt_noise_table_lists_each_run_and_the_spread_of_the_last_step(tmp_path):
    import lapt_noise

    budget = grid.load_budget("cpu_long")
    paths = grid.StagePaths(tmp_path / "work")
    write_lapt_results(paths.lapt("myv", "script", "full"), [(0, 11.0), (400, 7.46)])  # the budget's own stage
    for seed, packed, last in [(1, True, 7.50), (42, False, 7.40)]:
        write_lapt_results(lapt_noise.run_dir(paths, "myv", "script", "full", seed, packed), [(0, 11.0), (400, last)])
    write_lapt_results(paths.lapt("myv", "random", "full"), [(0, 9.8), (400, 7.52)])  # no variant: not listed
    output = lapt_noise.write_noise_report(paths, budget, tmp_path / "noise.md", "cmd")
    text = output.read_text(encoding="utf-8")
    assert "| full / script | stage | 11.000 | 7.460 |" in text
    assert "| full / script | seed1 | 11.000 | 7.500 |" in text
    assert "| full / script | seed42-unpacked | 11.000 | 7.400 |" in text
    assert "spread 0.100, std 0.050 over 3 runs" in text and "full / random" not in text
    assert lapt_noise.write_noise_report(grid.StagePaths(tmp_path / "none"), budget, tmp_path / "x.md", "c") is None
