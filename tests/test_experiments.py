"""The experiment layer (langadapt.experiments, recipes/sweep.py): config checks, grid expansion, data lookup,
stage settings, and a tiny 2 × 2 sweep that runs, resumes after one unit is deleted, and reports."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from langadapt import ConfigError, LangadaptParser
from langadapt.evaluation import seed_work_dir
from langadapt.experiments import Sweep, SweepConfig, SweepRunArguments
from langadapt.experiments.cache import StaleStageError, build_once
from langadapt.experiments.catalog import DataCatalog, DatasetNotFound
from langadapt.experiments.config import SweepConfigError
from langadapt.experiments.grid import Model, expand_models, expand_units, lapt_predecessor
from langadapt.experiments.locks import exclusive
from langadapt.experiments.recipes import StageArguments
from langadapt.layout import LAPT_RESULTS_FILE, UNIT_RESULTS_FILE
from langadapt.recipes_loader import RECIPES_DIR, load_recipe

UPOS = ["NOUN", "VERB", "ADJ", "PUNCT"]


def write_conllu(path: Path, lines: list[str], seed: int) -> Path:
    """Sentences with a made-up but learnable tagging (by word length)."""
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
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(blocks) + "\n", encoding="utf-8")
    return path


def fake_treebanks(root: Path, names: dict[str, tuple[str, ...]]) -> Path:
    """UD-like folders (``UD_X/xx_x-ud-<split>.conllu``) with one sentence per split file."""
    for name, splits in names.items():
        for split in splits:
            write_conllu(root / name / f"xx_{name.lower()}-ud-{split}.conllu", ["Aa bb."], seed=0)
    return root


def sweep_config(tmp_path: Path, **fields) -> SweepConfig:
    data = fake_treebanks(tmp_path / "ud", {"UD_A": ("train", "test"), "UD_B": ("train", "test"), "UD_C": ("test",)})
    values = dict(
        name="t",
        source_model="src",
        corpora=["myv=a.txt", "sme=b.txt"],
        datasets=["myv=UD_A", "sme=UD_B", "kpv=UD_C"],
        data_dirs=[str(data)],
        tasks=["task=pos regime=few_shot languages=myv,sme seeds=1,2", "task=pos regime=zero_shot seeds=1"],
    )
    return SweepConfig(**{**values, **fields})


def test_grid_expansion_collapses_factors_that_do_not_change_a_model(tmp_path):
    config = sweep_config(
        tmp_path,
        vocab_size=["source", "300"],
        alpha=[0.1, 0.3],
        lapt_steps=[4, 0, 2],
        init=["ident", "script"],
        lapt_mode=["full", "emb"],
        exclude=["vocab_size=source lapt_mode=emb"],
    )
    models = expand_models(config)
    names = [m.name for m in models]
    assert len(names) == len(set(names))
    # source: off the shelf once (α, init, mode collapse), LAPT per α × full × {2, 4} (emb excluded): 1 + 4
    source = [m for m in models if m.vocab_size is None]
    assert source[0] == Model("family", None, None, "source", "none", 0)
    assert {(m.alpha, m.lapt_mode, m.lapt_steps) for m in source[1:]} == {
        (a, "full", s) for a in (0.1, 0.3) for s in (2, 4)
    }
    # 300: per α × init, one model without LAPT (mode "none") and per mode {2, 4}: 2 × 2 × (1 + 2 × 2)
    new = [m for m in models if m.vocab_size == 300]
    assert len(new) == 20 and {m.lapt_mode for m in new if m.lapt_steps == 0} == {"none"}
    assert len(models) == 25
    # steps increase within a model's chain, and each longer run continues the next shorter one
    chain = [m for m in new if (m.alpha, m.init) == (0.1, "ident") and m.lapt_mode in ("none", "full")]
    assert [m.lapt_steps for m in chain] == [0, 2, 4]
    assert lapt_predecessor(config, chain[2]) == chain[1] and lapt_predecessor(config, chain[1]) is None
    assert new[0].vocabulary == "300" and Model("family", 16384, 0.1, "x", "full", 1).vocabulary == "16k"
    # a slice: only the models matching a pattern
    only = config.patterns("only", ["vocab_size=300 alpha=0.3 lapt_steps=4"])
    assert {(m.alpha, m.lapt_steps) for m in expand_models(config, only)} == {(0.3, 4)}


def test_units_of_each_regime_and_zero_shot_defaults(tmp_path):
    config = sweep_config(tmp_path, vocab_size=["source"], lapt_steps=[2])
    catalog = DataCatalog(config.dataset_entries(), config.data_dirs)
    units = expand_units(config, catalog)
    few = [(u.train_languages, u.seed) for u in units if u.regime == "few_shot"]
    assert few == [(("myv",), 1), (("myv",), 2), (("sme",), 1), (("sme",), 2)]
    (zero,) = [u for u in units if u.regime == "zero_shot"]
    # trained on the datasets with a training split, tested on the one without
    assert zero.train_languages == ("myv", "sme") and zero.test_languages == ("kpv",)
    assert zero.results_path("res", "kpv") == Path(
        "res/vocab_source/alpha_0.2/source/full/steps_2/pos/zero_shot/kpv/seed1/results.json"
    )


def test_missing_treebank_names_it_and_the_dirs_searched(tmp_path):
    config = sweep_config(tmp_path, datasets=["myv=UD_A", "sme=UD_B", "kpv=UD_Komi_Zyrian-IKDP"])
    catalog = DataCatalog(config.dataset_entries(), config.data_dirs)
    with pytest.raises(DatasetNotFound, match=r"kpv=UD_Komi_Zyrian-IKDP is in none of the data_dirs .*--data_dirs"):
        expand_units(config, catalog)
    config = sweep_config(tmp_path, tasks=["task=pos regime=few_shot languages=kpv"])
    with pytest.raises(DatasetNotFound, match=r"dataset kpv .*UD_C\) has no train split"):
        expand_units(config, DataCatalog(config.dataset_entries(), config.data_dirs))


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"vocab_size": ["source", "sorce"]}, r"vocab_size: 'sorce' is neither 'source' nor a positive number"),
        ({"alpha": [0.0]}, r"alpha: 0.0 is not > 0"),
        ({"lapt_steps": [2, 2]}, r"lapt_steps: a value is given twice"),
        ({"lapt_mode": ["fulll"]}, r"lapt_mode: unknown LAPT mode 'fulll'"),
        ({"init": ["scirpt"]}, r"init: 'scirpt': unknown init method"),
        ({"exclude": ["vocab=300"]}, r"exclude: entry 'vocab=300' names unknown factor 'vocab'"),
        ({"exclude": ["lapt_mode=emb"]}, r"exclude: entry 'lapt_mode=emb': lapt_mode=emb is not in the grid"),
        ({"tasks": ["task=pos regime=fewshot languages=myv"]}, r"unknown regime 'fewshot'"),
        ({"tasks": ["task=pos regime=zero_shot languages=myv"]}, r"zero_shot takes train= and test="),
        ({"tasks": ["task=pos regime=full languages=fi"]}, r"no datasets entry for language 'fi'"),
        ({"tasks": ["task=tagging regime=full languages=myv"]}, r"unknown evaluation task 'tagging'"),
        ({"lapt_args": ["learning_rate"]}, r"lapt_args: expected KEY=VALUE"),
    ],
)
def test_bad_sweep_configs_name_the_field(tmp_path, fields, message):
    with pytest.raises(SweepConfigError, match=message):
        sweep_config(tmp_path, **fields)


def test_unknown_key_in_a_sweep_yaml_names_it(tmp_path):
    path = tmp_path / "sweep_bad.yaml"
    path.write_text("name: t\nsource_model: s\nvocab_sizes: [source]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key 'vocab_sizes' \(did you mean vocab_size"):
        LangadaptParser((SweepConfig, SweepRunArguments)).parse([str(path)])


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"lapt_args": ["max_steps=5"]}, r"lapt_args: max_steps is set by the sweep \(grid factor lapt_steps\)"),
        ({"lapt_args": ["learning_rte=1e-4"]}, r"'learning_rte' is not an option of recipes/lapt.py"),
        ({"lapt_args": ["learning_rate=fast"]}, r"key 'learning_rate' has an invalid value 'fast'"),
        ({"lapt_args": ["freeze_transformer_steps=4"]}, r"freeze_transformer_steps=4 is not below the shortest"),
        ({"lapt_args": ["freeze_transformer_steps=1"]}, r"lr_scheduler_type=linear does"),
        (
            {"lapt_args": ["freeze_transformer_steps=1", "lr_scheduler_type=constant", "eval_steps=3"]},
            r"lapt_steps \[4, 8\] are not multiples of eval_steps=3",
        ),
        ({"finetune_args": ["seeds=[1]"]}, r"finetune_args: seeds is set by the sweep \(the tasks entry\)"),
        (
            {
                "tasks": ["task=pos regime=few_shot languages=myv few_shot_sise=8"],
                "lapt_args": [
                    "freeze_transformer_steps=1",
                    "lr_scheduler_type=constant",
                    "eval_steps=4",
                    "save_steps=4",
                ],
            },
            r"tasks entry .*: 'few_shot_sise' is not an option of recipes/finetune.py",
        ),
    ],
)
def test_stage_settings_are_checked_before_anything_runs(tmp_path, fields, message):
    config = sweep_config(tmp_path, lapt_steps=[4, 8], **fields)
    with pytest.raises(SweepConfigError, match=message):
        Sweep(config, SweepRunArguments(work_dir=str(tmp_path / "w"), results_dir=str(tmp_path / "r")))


def test_stage_arguments_take_the_recipe_yaml_then_overrides_then_the_grid(tmp_path):
    config = sweep_config(
        tmp_path,
        lapt_config=str(RECIPES_DIR / "configs" / "uralic" / "lapt_full.yaml"),
        lapt_args=["learning_rate=2e-4", "max_seq_length=64"],
    )
    lapt = StageArguments(config, "lapt", RECIPES_DIR)
    assert lapt.fixed["learning_rate"] == pytest.approx(2e-4) and lapt.fixed["max_seq_length"] == 64
    assert lapt.fixed["freeze_transformer_steps"] == 10000  # from the YAML
    assert "max_steps" not in lapt.fixed and "train_corpora" not in lapt.fixed  # the sweep sets those
    model_args, lapt_args, training_args = lapt.build(
        {"model_name_or_path": "m", "max_steps": 7, "alpha": 0.1, "lapt_mode": "emb", "output_dir": str(tmp_path)}
    )
    assert (model_args.model_name_or_path, training_args.max_steps, lapt_args.alpha) == ("m", 7, 0.1)
    assert (lapt_args.lapt_mode, lapt_args.max_seq_length, training_args.learning_rate) == ("emb", 64, 2e-4)
    record = lapt.record({"max_steps": 7, "output_dir": "x"})
    assert record["max_steps"] == 7 and "output_dir" not in record and record["lr_scheduler_type"] == "linear"


def test_renamed_fields_keep_their_old_names_in_overrides_and_settings_records(tmp_path):
    config = sweep_config(tmp_path, tokenizer_args=["caps=[myv=5]"])
    with pytest.warns(FutureWarning, match="tokenizer_args: 'caps' is deprecated .* use 'corpus_caps'"):
        tokenizer = StageArguments(config, "tokenizer", RECIPES_DIR)
    assert tokenizer.fixed["corpus_caps"] == ["myv=5"]
    # Recorded under the names of work directories built before the rename, so those stay valid.
    record = tokenizer.record({"tokenizer_name_or_path": "src", "vocab_size": 300})
    assert record["source_tokenizer"] == "src" and record["caps"] == ["myv=5"] and "corpus_caps" not in record
    both = sweep_config(tmp_path, tokenizer_args=["caps=[myv=5]", "corpus_caps=[sme=3]"])
    with pytest.warns(FutureWarning), pytest.raises(SweepConfigError, match="'caps' is the deprecated name of"):
        StageArguments(both, "tokenizer", RECIPES_DIR)


def test_a_stage_built_with_other_settings_is_refused(tmp_path):
    built = []
    output = tmp_path / "stage"
    build = lambda: built.append(output.mkdir())  # noqa: E731
    build_once(output, {"lapt": {"learning_rate": 1e-4}}, Path.is_dir, build)
    build_once(output, {"lapt": {"learning_rate": 1e-4}}, Path.is_dir, build)
    assert len(built) == 1
    with pytest.raises(StaleStageError, match=r"stage: this stage was made with other settings \(lapt.learning_rate"):
        build_once(output, {"lapt": {"learning_rate": 2e-4}}, Path.is_dir, build)
    # an unfinished build with other settings (a crashed run) starts over instead
    unfinished = tmp_path / "lapt"
    build_once(unfinished, {"lr": 1}, Path.is_dir, lambda: unfinished.with_name("lapt.partial").mkdir())
    assert (tmp_path / "lapt.partial").is_dir() and not unfinished.exists()
    build_once(unfinished, {"lr": 2}, Path.is_dir, lambda: built.append(sorted(p.name for p in tmp_path.iterdir())))
    assert built[-1] == ["lapt.lock", "lapt.settings.json", "stage", "stage.lock", "stage.settings.json"]
    assert json.loads((tmp_path / "lapt.settings.json").read_text()) == {"lr": 2}


def test_uralic_sweep_configs_expand(tmp_path):
    recipe = load_recipe("sweep")
    ud = {
        "UD_Erzya-JR": ("train", "test"),
        "UD_North_Sami-Giella": ("train", "test"),
        "UD_Estonian-EWT": ("dev", "test"),
        "UD_Estonian-EWT_r2.10": ("train", "dev", "test"),
        "UD_Komi_Zyrian-IKDP": ("test",),
        "UD_Karelian-KKPP": ("test",),
        "UD_Moksha-JR": ("train", "test"),
        "UD_Livvi-KKPP": ("train", "test"),
        "UD_Skolt_Sami-Giellagas": ("train", "test"),
    }
    data = fake_treebanks(tmp_path / "ud", ud)
    where = ["--data_dirs", str(data), "--work_dir", str(tmp_path / "w"), "--results_dir", str(tmp_path / "r")]
    config, run_args = recipe.make_parser().parse([str(RECIPES_DIR / "configs/uralic/sweep_cpu.yaml"), *where])
    sweep = Sweep(config, run_args)
    models = {u.model for u in sweep.units}
    # vocabulary × α at one step budget; per model 2 few-shot languages + 1 zero-shot run, one seed
    assert len(models) == 3 * 2 and len(sweep.units) == 6 * 3
    assert {m.vocabulary for m in models} == {"source", "8k", "16k"} and {m.alpha for m in models} == {0.1, 0.3}
    zero = [u for u in sweep.units if u.regime == "zero_shot"]
    assert {(u.train_languages, u.test_languages) for u in zero} == {(("myv", "sme"), ("et",))}
    settings = sweep.unit_settings(zero[0])
    assert settings["finetune"]["max_train_sentences"] == 512 and settings["lapt"]["max_steps"] == 200
    config, run_args = recipe.make_parser().parse([str(RECIPES_DIR / "configs/uralic/sweep_tx.yaml"), *where])
    tx = Sweep(config, run_args)
    assert len({u.model for u in tx.units}) == 4 * 3 * 3  # the source vocabulary mixes α too (its LAPT text)
    (zero,) = {(u.train_languages, u.test_languages) for u in tx.units if u.regime == "zero_shot"}
    assert zero == (("myv", "sme", "et"), ("kpv", "krl", "mdf", "olo", "sms"))


def test_a_unit_claimed_by_another_process_is_skipped(tmp_path, monkeypatch):
    config = sweep_config(tmp_path, vocab_size=["source"], lapt_steps=[0])
    sweep = Sweep(config, SweepRunArguments(work_dir=str(tmp_path / "w"), results_dir=str(tmp_path / "r")))
    ran = []

    def fake_run_unit(unit):
        ran.append(unit.name)
        for path in unit.results_paths(sweep.results_dir):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"language": "x", "metric": "accuracy", "metrics": {"accuracy": 1.0}}))
        return [{"language": "x", "metric": "accuracy", "metrics": {"accuracy": 1.0}}]

    monkeypatch.setattr(sweep, "run_unit", fake_run_unit)
    claimed, interrupted = sweep.units[1], sweep.units[0]
    # a checkpoint of an interrupted fine-tuning run of units[0]: the listing says how far it got
    finetune_dir = sweep.stages.work.finetune(config.name)
    work_dir = seed_work_dir(finetune_dir, interrupted.model.label, interrupted.task, interrupted.regime,
                             interrupted.test_languages[0], interrupted.seed)  # fmt: skip
    (work_dir / "checkpoint-30").mkdir(parents=True)
    (work_dir / "checkpoint-30" / "model.safetensors").write_bytes(b"")
    state = {"global_step": 30, "max_steps": 60, "epoch": 5.0, "num_train_epochs": 10, "best_metric": 0.25}
    (work_dir / "checkpoint-30" / "trainer_state.json").write_text(json.dumps(state))
    with exclusive(claimed.claim_path(sweep.results_dir), wait=False):  # held as another process would
        lines = sweep.list_units()
        assert lines[0] == f"todo    {interrupted.name}  (checkpoint at epoch 5 of 10, step 30 of 60; best dev 0.2500)"
        assert lines[1] == f"running {claimed.name}"
        assert sweep.run() == [claimed]
    assert claimed.name not in ran and len(ran) == len(sweep.units) - 1
    assert sweep.run() == [] and ran[-1] == claimed.name


def killed_lapt_stage(partial: Path, state: str) -> None:
    """What a sweep process killed during a LAPT stage leaves in ``<dir>.partial``."""
    checkpoint = partial / "checkpoint-2"
    checkpoint.mkdir(parents=True)
    (checkpoint / "model.safetensors").write_bytes(b"weights")
    if state == "mid_first_save":  # trainer_state.json cut short: the checkpoint is not usable
        (checkpoint / "trainer_state.json").write_text('{"global_st')
        return
    (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": 2}))
    if state == "while_tidying_up":  # the run had finished (lapt_results.json is its last write)
        (partial / "best").mkdir()
        (partial / LAPT_RESULTS_FILE).write_text("{}")


@pytest.mark.parametrize(
    "state, calls",
    [("mid_first_save", [(False, True)]), ("mid_second_save", [(True, False)]), ("while_tidying_up", [])],
)
def test_a_killed_lapt_stage_restarts_resumes_or_only_finishes(tmp_path, monkeypatch, state, calls):
    seen = []

    class FakeLaptRecipe:  # the real recipe's resume is tested in tests/test_lapt_resume.py
        @staticmethod
        def main(model_args, lapt_args, training_args):
            seen.append((lapt_args.resume, training_args.eval_on_start))
            output_dir = Path(training_args.output_dir)
            if lapt_args.overwrite:
                shutil.rmtree(output_dir)
            (output_dir / "best").mkdir(parents=True, exist_ok=True)
            (output_dir / "checkpoint-4").mkdir(exist_ok=True)
            (output_dir / LAPT_RESULTS_FILE).write_text("{}")

    config = sweep_config(tmp_path, vocab_size=["source"], lapt_steps=[4], lapt_args=["freeze_transformer_steps=1"],
                          prepare_data=False, dev_corpora=["myv=a.txt", "sme=b.txt"])  # fmt: skip
    stages = Sweep(config, SweepRunArguments(work_dir=str(tmp_path / "w"), results_dir=str(tmp_path / "r"))).stages
    monkeypatch.setattr(stages.args["lapt"], "recipe", FakeLaptRecipe)
    stages.work.source_mlm.mkdir(parents=True)  # the LAPT input is ready
    model = Model("family", None, 0.2, "source", "full", 4)
    output = stages.work.lapt(model)
    killed_lapt_stage(output.with_name(output.name + ".partial"), state)
    assert stages.ensure_lapt(model) == output
    assert seen == calls
    assert sorted(p.name for p in output.iterdir()) == ["best", LAPT_RESULTS_FILE]


def test_report_shows_zero_shot_columns_beside_the_trained_regime():
    from langadapt.evaluation import tables_by_task

    def record(model, language, regime, seed, accuracy):
        return {"task": "pos", "language": language, "regime": regime, "seed": seed, "model": model,
                "metric": "accuracy", "metrics": {"accuracy": accuracy}}  # fmt: skip

    records = [record(m, lang, "few_shot", s, 0.5 + 0.1 * s) for m in "ab" for lang in ("myv", "sme") for s in (1, 2)]
    records += [record("a", "et", "zero_shot", s, 0.2 * s) for s in (1, 2)]
    (table,) = tables_by_task(records)
    assert table.title == "pos (few_shot) — accuracy"
    assert table.columns == ["myv", "sme", "avg", "et (zero-shot)"]  # the average leaves the zero-shot column out
    assert table.cells["a", "avg"].values == pytest.approx([60.0, 70.0])
    assert (
        table.cells["a", "et (zero-shot)"].values == pytest.approx([20.0, 40.0])
        and ("b", "et (zero-shot)") not in table.cells
    )
    # a task with zero-shot results only keeps its own table
    (alone,) = tables_by_task([r for r in records if r["regime"] == "zero_shot"])
    assert alone.title == "pos (zero_shot) — accuracy" and alone.columns == ["et"]


# --- a tiny sweep, end to end ---------------------------------------------------------------------------------------


def tiny_sweep_yaml(tmp_path: Path, corpus_dir: Path, source: Path, **extra: str) -> Path:
    text = (corpus_dir / "myv.txt").read_text(encoding="utf-8").splitlines()
    sme = (corpus_dir / "sme.txt").read_text(encoding="utf-8").splitlines()
    write_conllu(tmp_path / "ud" / "UD_Tiny_Myv" / "myv_t-ud-train.conllu", text[:40], seed=0)
    write_conllu(tmp_path / "ud" / "UD_Tiny_Myv" / "myv_t-ud-test.conllu", text[40:60], seed=1)
    write_conllu(tmp_path / "ud" / "UD_Tiny_Sme" / "sme_t-ud-test.conllu", sme[:20], seed=2)
    lines = {
        "name": "tiny",
        "source_model": str(source),
        "corpora": f"[myv={corpus_dir / 'myv.txt'}, sme={corpus_dir / 'sme.txt'}]",
        "dev_corpora": f"[myv={corpus_dir / 'myv.txt'}, sme={corpus_dir / 'sme.txt'}]",
        "prepare_data": "false",
        "vocab_size": "[source, 300]",
        "alpha": "[0.3]",
        "lapt_steps": "[2, 4]",
        "init": "[script+posn+ident]",
        "lapt_mode": "[full]",
        "tokenizer_args": "[num_sample_lines=2000, stats_lines=50, num_threads=1]",
        "lapt_args": "[learning_rate=1.0e-3, lr_scheduler_type=constant, per_device_train_batch_size=4, "
        "per_device_eval_batch_size=4, max_seq_length=32, freeze_transformer_steps=1, eval_steps=2, save_steps=2, "
        "logging_steps=1, dev_draws=8, use_cpu=true, report_to=none, disable_tqdm=true]",
        "finetune_args": "[learning_rate=1.0e-3, per_device_train_batch_size=8, num_train_epochs=1, "
        "eval_every_epochs=1, patience_epochs=1, max_length=64, dev_size=8, use_cpu=true, report_to=none, "
        "disable_tqdm=true]",
        "datasets": "[myv=UD_Tiny_Myv, sme=UD_Tiny_Sme]",
        "data_dirs": f"[{tmp_path / 'ud'}]",
        "tasks": '["task=pos regime=few_shot languages=myv seeds=1 few_shot_size=16", '
        '"task=pos regime=zero_shot train=myv test=sme seeds=1"]',
        **extra,
    }
    path = tmp_path / "sweep_tiny.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in lines.items()), encoding="utf-8")
    return path


def weights(directory: Path) -> dict[str, torch.Tensor]:
    return load_file(str(directory / "model.safetensors"))


@pytest.mark.slow
def test_tiny_sweep_runs_resumes_one_deleted_unit_and_reports(tmp_path, tiny_corpus_dir, source_model_dir, capsys):
    recipe = load_recipe("sweep")
    config_path = tiny_sweep_yaml(tmp_path, tiny_corpus_dir, source_model_dir)
    where = ["--work_dir", str(tmp_path / "work"), "--results_dir", str(tmp_path / "res"), "--no_report"]
    config, run_args = recipe.make_parser().parse([str(config_path), *where])
    assert recipe.main(config, run_args) == []
    sweep = Sweep(config, run_args)
    assert len(sweep.units) == 2 * 2 * 2  # 2 vocabularies × 2 step counts × (few-shot + zero-shot)
    results = sorted((tmp_path / "res").rglob(UNIT_RESULTS_FILE))
    assert len(results) == 8
    # the grid factors are fields of every record; zero-shot records name their test treebank
    zero = json.loads(sweep.units[1].results_path(tmp_path / "res", "sme").read_text(encoding="utf-8"))
    assert (zero["regime"], zero["language"], zero["test_dataset"]) == ("zero_shot", "sme", "UD_Tiny_Sme")
    assert zero["train_languages"] == ["myv"] and zero["train_datasets"] == ["UD_Tiny_Myv"]
    assert (zero["vocabulary"], zero["alpha"], zero["lapt_steps"], zero["init_method"]) == ("source", 0.3, 2, "source")
    # stages: one tokenizer, the 4-step LAPT runs continue the 2-step ones (FLOPs and dev curve go on)
    work = sweep.stages.work
    assert [p.name for p in (work.root / "tokenizer" / "family").iterdir() if p.is_dir()] == ["v300_a0.3"]
    for vocab, init in ((None, "source"), (300, "script+posn+ident")):
        short, long = (work.lapt(Model("family", vocab, 0.3, init, "full", s)) for s in (2, 4))
        assert json.loads((long / "sweep_continuation.json").read_text())["continued_from"] == str(short)
        assert (short / "checkpoint-2").is_dir() and not list(long.glob("checkpoint-*"))
        r2, r4 = (json.loads((d / LAPT_RESULTS_FILE).read_text()) for d in (short, long))
        assert [p["step"] for p in r4["dev_loss_curve"]] == [0, 2, 4]
        assert r4["dev_loss_curve"][:2] == r2["dev_loss_curve"] and r4["flops"]["total"] > r2["flops"]["total"]
    # delete one unit's result: only that unit reruns, no stage is rebuilt
    deleted = sweep.units[2].results_paths(tmp_path / "res")[0]
    stamps = {p: p.stat().st_mtime_ns for p in results if p != deleted}
    lapt_stamps = {p: p.stat().st_mtime_ns for p in (work.root / "lapt").rglob(LAPT_RESULTS_FILE)}
    deleted.unlink()
    recipe.main(config, SweepRunArguments(**{**vars(run_args), "list_units": True}))
    listing = capsys.readouterr().out
    assert (
        listing.count("todo ") == 1 and f"todo    {sweep.units[2].name}\n" in listing and "7/8 units done" in listing
    )
    assert recipe.main(config, run_args) == []
    assert deleted.is_file() and all(p.stat().st_mtime_ns == t for p, t in stamps.items())
    assert all(p.stat().st_mtime_ns == t for p, t in lapt_stamps.items())
    # a rerun with other fine-tuning settings under the same results directory is refused
    changed_args = [a.replace("max_length=64", "max_length=32") for a in config.finetune_args]
    changed = SweepConfig(**{**vars(config), "finetune_args": changed_args})
    with pytest.raises(StaleStageError, match=r"finetune.max_length: 64 there, 32 now"):
        Sweep(changed, run_args).pending()
    # the analysis reads the grid factors from the records
    from langadapt.analysis.frame import results_frame
    from langadapt.evaluation import collect_results

    frame = results_frame(collect_results([tmp_path / "res"]))
    assert sorted(frame["vocabulary"].unique()) == ["300", "source"] and set(frame["lapt_steps"]) == {2, 4}
    assert set(frame["alpha"]) == {0.3} and (frame["lapt_flops"] > 0).all()
    # the report: a row per model, the zero-shot column beside the few-shot one
    written = Sweep(config, run_args).write_report()
    report = written[0].read_text(encoding="utf-8")
    assert "### pos (few_shot) — accuracy" in report and "sme (zero-shot)" in report
    assert "| 300 / 0.3 / 4 / script+posn+ident / full |" in report
    # continuing a run is training it from step 0: the same weights and curve as a 4-step run trained alone
    alone = SweepConfig(**{**vars(config), "lapt_continue": False})
    only = SweepRunArguments(work_dir=str(tmp_path / "alone"), results_dir=str(tmp_path / "res_alone"),
                             only=["vocab_size=300 lapt_steps=4"], lapt_only=True)  # fmt: skip
    assert recipe.main(alone, only)
    model = Model("family", 300, 0.3, "script+posn+ident", "full", 4)
    separate, continued = Path(only.work_dir) / "lapt" / model.path, work.lapt(model)
    assert not (separate / "sweep_continuation.json").exists()
    a, b = weights(separate / "best"), weights(continued / "best")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    curve = lambda d: json.loads((d / LAPT_RESULTS_FILE).read_text())["dev_loss_curve"]  # noqa: E731
    assert curve(separate) == curve(continued)
