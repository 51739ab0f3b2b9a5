"""Reproduce [ES] Table 1 in miniature: init methods × LAPT modes × fine-tuning seeds, resumable.

Usage (from the repository root):
    # CPU budget (2 cores, a few hours): Erzya FULL rows first, then EMB, then North Sami
    nohup python benchmarks/replication/run.py --budget cpu > runs/replication.log 2>&1 &
    # the same grid at a larger budget on a GPU
    python benchmarks/replication/run.py --budget gpu
    # a slice, a listing, a budget override, the table
    python benchmarks/replication/run.py --budget cpu --language myv --lapt_mode full --seeds 1
    python benchmarks/replication/run.py --budget cpu --list
    python benchmarks/replication/run.py --budget cpu --lapt_args max_steps=50   # a stage setting (recipe field)
    python benchmarks/replication/run.py --budget cpu --num_threads 1             # any Budget field (grid.py)
    python benchmarks/replication/run.py --budget cpu --report_only
    # the LAPT stages alone (their dev-loss curves: benchmarks/results/replication_<budget>_lapt_curves.md)
    python benchmarks/replication/run.py --budget cpu_long --language myv --lapt_only
    # another fine-tuning recipe on the LAPT models of cpu_long (configs/cpu_long_esft.yaml: stages_from)
    python benchmarks/replication/run.py --budget cpu_long_esft --seeds 1

One results JSON per unit (language, init method, LAPT mode, fine-tuning seed) under
``results/<budget>/<lang>/<mode>/<init>/seed<N>/results.json``; a rerun skips finished units and reuses every
complete stage under ``--work_dir`` (default ``runs/replication/<budget>``). After each unit the table is
rewritten (``--report_output``). Several processes may run the same command on one work directory: each unit
is claimed by one of them and each stage built once (``locks.py``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from curves import write_curves_report  # noqa: E402
from grid import (  # noqa: E402
    HERE,
    NO_LAPT,
    Budget,
    StagePaths,
    Unit,
    check_work_dir_budget,
    enumerate_units,
    load_budget,
    pending_units,
)
from locks import LockHeld, exclusive  # noqa: E402
from stages import REPO, ensure_model, finetune_work_dir, resolve_source, run_unit  # noqa: E402
from tables import write_report  # noqa: E402

from langadapt import ConfigError, setup_logging  # noqa: E402
from langadapt.experiments.runner import unit_status_line  # noqa: E402

logger = logging.getLogger("langadapt.replication")


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, Budget]:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Other --options: Budget fields (grid.py); --X_args k=v ... changes those fields of the budget's X_args.",
    )
    parser.add_argument("--budget", default="cpu", help="configs/<name>.yaml or a YAML path (default: cpu).")
    parser.add_argument("--language", nargs="*", help="Only these languages.")
    parser.add_argument("--lapt_mode", nargs="*", help="Only these LAPT modes ('none' = off the shelf).")
    parser.add_argument("--init", nargs="*", help="Only these init methods ('source' = source vocabulary).")
    parser.add_argument("--seeds", nargs="*", type=int, help="Only these fine-tuning seeds.")
    parser.add_argument("--work_dir", help="Cached stages (default runs/replication/<budget>).")
    parser.add_argument("--results_dir", help="Unit JSONs (default benchmarks/replication/results/<budget>).")
    parser.add_argument(
        "--stages_work_dir",
        help="With stages_from: the base budget's work directory (default: beside --work_dir, under its name).",
    )
    parser.add_argument("--report_output", help="Table (default benchmarks/results/replication_<budget>.md).")
    parser.add_argument(
        "--list",
        action="store_true",
        help="List the units (done / todo / running; an interrupted one's last checkpoint) and exit.",
    )
    parser.add_argument("--report_only", action="store_true", help="Only rewrite the table.")
    parser.add_argument("--max_units", type=int, help="Stop after this many units (e.g. to time one).")
    parser.add_argument(
        "--lapt_only", action="store_true", help="Build the selected units' LAPT stages, fine-tune nothing."
    )
    args, overrides = parser.parse_known_args(argv)
    budget = load_budget(args.budget, overrides)
    args.budget_args = " ".join(["--budget", args.budget, *overrides])
    args.work_dir = Path(args.work_dir or REPO / "runs" / "replication" / budget.name)
    # A budget with stages_from reuses its base's stages, kept beside its own work directory (under the base's
    # name: stages_from may be a YAML path).
    args.base_budget = load_budget(budget.stages_from) if budget.stages_from else None
    args.shared_dir = None
    if args.base_budget is not None:
        args.shared_dir = Path(args.stages_work_dir or args.work_dir.parent / args.base_budget.name)
    elif args.stages_work_dir:
        raise ConfigError(f"--stages_work_dir: budget {budget.name!r} has no stages_from")
    args.results_dir = Path(args.results_dir or HERE / "results" / budget.name)
    args.report_output = Path(args.report_output or REPO / "benchmarks" / "results" / f"replication_{budget.name}.md")
    # The LAPT stages' table is named after the budget that made them.
    curves_name = f"replication_{(args.base_budget or budget).name}_lapt_curves.md"
    args.lapt_curves_output = args.report_output.with_name(curves_name)
    return args, budget


def held_elsewhere(output: Path) -> bool:
    """Whether another process holds ``output``'s stage lock right now."""
    try:
        with exclusive(output, wait=False):
            return False
    except LockHeld:
        return True


def build_lapt_stages(
    budget: Budget, paths: StagePaths, units: list[Unit], source: str, curves_output: Path, results_dir: Path
):
    """``--lapt_only``: build (or reuse) the LAPT stage of every selected model, in run order, and rewrite the
    dev-loss curve table after each; a model that fails is logged and the others go on. Returns the units."""
    first_unit: dict[tuple[str, str, str], Unit] = {}  # one unit per model (its seeds share the LAPT stage)
    for unit in units:
        if unit.mode != NO_LAPT:
            first_unit.setdefault(unit.model_key, unit)
    # A stage another harness process is building goes last: this one builds the free ones meanwhile, then waits
    # for (and reuses) the held ones instead of idling at the first.
    models = sorted(first_unit.values(), key=lambda unit: held_elsewhere(paths.lapt(*unit.model_key)))
    logger.info("budget %s: LAPT stages of %d models under %s", budget.name, len(models), paths.stage_root)
    for n, unit in enumerate(models, start=1):
        started = time.time()
        logger.info("=== LAPT %d/%d: %s", n, len(models), "/".join(unit.model_key))
        try:
            ensure_model(budget, paths, unit, source)
        except Exception:  # one broken stage must not stop the others
            logger.exception("=== LAPT of %s failed", "/".join(unit.model_key))
            continue
        logger.info("=== LAPT of %s ready after %.0f s", "/".join(unit.model_key), time.time() - started)
        write_curves_report(paths, budget, curves_output, results_dir)
    return units


class Eta:
    """Remaining time from the stage times measured so far: LAPT per mode (one run per model), FT per unit."""

    def __init__(self) -> None:
        self.lapt: dict[str, list[float]] = defaultdict(list)
        self.finetune: list[float] = []

    def add(self, unit: Unit, record: dict) -> None:
        times = record["harness_wall_time_s"]
        if unit.mode != NO_LAPT and times["prepare"] > 1.0:  # > 1 s: this unit built the model
            self.lapt[unit.mode].append(times["prepare"])
        self.finetune.append(times["finetune"])

    def remaining(self, units: list[Unit]) -> float | None:
        if not self.finetune:
            return None
        mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
        every = [t for ts in self.lapt.values() for t in ts]
        models = {u.model_key for u in units if u.mode != NO_LAPT}
        lapt = sum(mean(self.lapt.get(mode) or every or [0.0]) for _, _, mode in models)
        return lapt + mean(self.finetune) * len(units)


def unit_status(paths: StagePaths, unit: Unit, pending: bool) -> str:
    """``--list``'s line for a unit: done, todo or running, and how far an unfinished one got (`unit_status_line`)."""
    return unit_status_line(
        unit.name, done=not pending, claim=paths.unit_claim(unit), work_dir=finetune_work_dir(paths, unit)
    )


def main(argv: list[str] | None = None) -> list[Unit]:
    args, budget = parse_args(argv)
    setup_logging("INFO")
    units = enumerate_units(budget, args.language, args.lapt_mode, args.init, args.seeds)
    todo = pending_units(units, args.results_dir)
    if args.list:
        # The cached stages must still be those of this budget (an old budget.json is converted); nothing is created.
        check_work_dir_budget(budget, args.work_dir, create=False)
        if args.shared_dir is not None:
            check_work_dir_budget(args.base_budget, args.shared_dir, create=False)
        paths = StagePaths(args.work_dir, args.shared_dir)
        for unit in units:
            print(unit_status(paths, unit, unit in todo))
        print(f"{len(units) - len(todo)}/{len(units)} units done ({args.results_dir})")
        return todo
    if args.report_only:
        write_report(args.results_dir, args.report_output, budget, args.budget_args)
        return todo
    check_work_dir_budget(budget, args.work_dir)
    if args.shared_dir is not None:  # the base's stages must still be those of its config
        check_work_dir_budget(args.base_budget, args.shared_dir)
    if budget.num_threads:
        import torch

        torch.set_num_threads(budget.num_threads)
    paths, source = StagePaths(args.work_dir, args.shared_dir), resolve_source(budget)
    if args.lapt_only:
        return build_lapt_stages(budget, paths, units, source, args.lapt_curves_output, args.results_dir)
    logger.info("budget %s: %d units, %d to run; work dir %s", budget.name, len(units), len(todo), args.work_dir)
    eta = Eta()
    failed: dict[tuple[str, str, str], str] = {}
    for done, unit in enumerate(todo[: args.max_units], start=1):
        started = time.time()
        logger.info("=== unit %d/%d: %s", done, len(todo), unit.name)
        if unit.model_key in failed:  # its model could not be built: the other seeds would fail the same way
            logger.error("=== %s skipped: %s", unit.name, failed[unit.model_key])
            continue
        try:
            with exclusive(paths.unit_claim(unit), wait=False):
                if unit.results_path(args.results_dir).is_file():
                    logger.info("=== %s: finished by another process", unit.name)
                    continue
                record = run_unit(budget, paths, unit, args.results_dir, source)
        except LockHeld:
            logger.info("=== %s: running in another process; skipped", unit.name)
            continue
        except Exception as err:  # one broken stage must not stop the rest of a multi-hour grid
            logger.exception("=== %s failed", unit.name)
            failed[unit.model_key] = f"{type(err).__name__}: {err}"
            continue
        eta.add(unit, record)
        remaining = eta.remaining(todo[done:])
        logger.info(
            "=== %s: accuracy %.4f in %.0f s; ETA for the %d remaining units: %s",
            unit.name,
            record["metrics"]["accuracy"],
            time.time() - started,
            len(todo) - done,
            "unknown" if remaining is None else f"{remaining / 3600:.1f} h",
        )
        write_report(args.results_dir, args.report_output, budget, args.budget_args)
    for key, error in failed.items():
        logger.error("=== failed model %s: %s", "/".join(key), error)
    return pending_units(units, args.results_dir)


if __name__ == "__main__":
    main()
