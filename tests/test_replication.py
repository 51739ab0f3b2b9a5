"""The replication harness (benchmarks/replication): grid order, resuming, tables, a tiny end-to-end unit."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from langadapt import ConfigError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "replication"))

import grid  # noqa: E402
import locks  # noqa: E402
import run  # noqa: E402
import stages  # noqa: E402
import tables  # noqa: E402


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
    assert gpu.lapt_steps * gpu.lapt_batch_size > budget.lapt_steps * budget.lapt_batch_size
    assert budget.freeze_steps == round(budget.lapt_steps * 0.1)
    assert grid.load_budget("cpu", ["--lapt_steps", "7"]).lapt_steps == 7


def test_unknown_budget_key_names_the_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nlapt_stpes: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="lapt_stpes"):
        grid.load_budget(str(path))
    with pytest.raises(KeyError, match="ud_test.*xx"):
        grid.load_budget("cpu").spec("ud_test", "xx")


def test_a_work_dir_refuses_a_changed_budget_under_the_same_name(tmp_path):
    budget = grid.load_budget("cpu")
    grid.check_work_dir_budget(budget, tmp_path / "work")  # first use: recorded
    assert json.loads((tmp_path / "work" / "budget.json").read_text())["lapt_steps"] == budget.lapt_steps
    grid.check_work_dir_budget(grid.load_budget("cpu", ["--seeds", "1", "--num_threads", "1"]), tmp_path / "work")
    changed = grid.load_budget("cpu", ["--lapt_steps", "7", "--random_distribution", "unit"])
    expected = (
        r"budget.json: budget 'cpu' differs .*random_distribution: 'auto' there, 'unit' now; lapt_steps: 60 there"
    )
    with pytest.raises(ConfigError, match=expected + r", 7 now\).*own --name"):
        grid.check_work_dir_budget(changed, tmp_path / "work")
    renamed = grid.load_budget("cpu", ["--name", "cpu_unit", "--random_distribution", "unit"])
    grid.check_work_dir_budget(renamed, tmp_path / "work_unit")  # its own work directory: fine


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
    assert "done myv/none/source/seed1" in out and "todo myv/full/random/seed1" in out and "4/27 units done" in out


def fake_record(language, mode, init, seed, accuracy, lapt_dir=None):
    lapt = {"dir": lapt_dir, "flops": 2.0e12, "wall_time_s": 120.0} if lapt_dir else None
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
    tau, n = tables.rank_agreement(table)
    assert n == 5 and tau == pytest.approx(1.0)  # same order as [ES]: 56.3 / 53.3 / 71.5 / 79.0 / 48.6 → ours
    assert "| full / random | myv 2 |" in table.to_markdown()


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
        with pytest.raises(locks.LockHeld):
            with locks.exclusive(stage, wait=False):
                pass
    finally:
        holder.kill()
        holder.wait()
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
    argv += ["--random_distribution", "unit"]  # a budget override: recorded in the table's command
    first, second, third = grid.enumerate_units(grid.load_budget("cpu"), ["myv"], ["none"])
    with locks.exclusive(grid.StagePaths(tmp_path / "work").unit_claim(first)):  # running elsewhere
        assert run.main(argv) == [first]
    assert ran == [second.name, third.name]
    assert run.main(argv) == [] and ran[-1] == first.name  # a later run picks it up
    header = (tmp_path / "table.md").read_text(encoding="utf-8")
    assert "run.py --budget cpu --random_distribution unit --report_only` from 3 unit results" in header
    assert "random rows: `unit`" in header


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
                "vocab_size: 300",
                "tokenizer_sample_lines: 2000",
                "lapt_steps: 4",
                "lapt_batch_size: 4",
                "lapt_max_seq_length: 32",
                "lapt_learning_rate: 1.0e-3",
                "lapt_eval_steps: 2",
                "lapt_dev_draws: 8",
                "ft_epochs: 1",
                "ft_eval_every_epochs: 1",
                "ft_patience_epochs: 1",
                "ft_learning_rate: 1.0e-3",
                "ft_batch_size: 8",
                "ft_max_length: 64",
                "ft_dev_size: 8",
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
    # the source-vocabulary LAPT baseline and the off-the-shelf model
    assert json.loads(grid.Unit("myv", "source", "full", 1).results_path(tmp_path / "res").read_text())["lapt"]
    assert json.loads(grid.Unit("myv", "source", "none", 1).results_path(tmp_path / "res").read_text())["lapt"] is None
    table = (tmp_path / "table.md").read_text(encoding="utf-8")
    assert "| full / focus | myv 1 |" in table and "| none / source | myv 1 |" in table
    # a rerun skips every finished unit: nothing is recomputed
    stamp = unit.results_path(tmp_path / "res").stat().st_mtime_ns
    assert run.main(common + select) == []
    assert unit.results_path(tmp_path / "res").stat().st_mtime_ns == stamp
