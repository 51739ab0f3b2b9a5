"""Run a family experiment ([TX]): a grid of vocabulary size × α × LAPT steps × init × LAPT mode, every model
evaluated on a task list, each shared stage built once; resumable, several processes may share a work directory.

Usage:
    python recipes/sweep.py recipes/configs/uralic/sweep_cpu.yaml --list_units
    OMP_NUM_THREADS=1 nohup python recipes/sweep.py recipes/configs/uralic/sweep_cpu.yaml > runs/sweep_cpu.log 2>&1 &
    # [TX]'s grid, one sweep process per GPU on one work directory; the zero-shot treebanks come from a UD
    # release given on the command line
    for gpu in 0 1; do CUDA_VISIBLE_DEVICES=$gpu nohup python recipes/sweep.py recipes/configs/uralic/sweep_tx.yaml \
        --data_dirs ../shared/data/ud /data/ud-treebanks-v2.14 > runs/sweep_tx_$gpu.log 2>&1 & done
    # a slice, the stages alone, the report alone
    python recipes/sweep.py CONFIG --only "vocab_size=16384 alpha=0.1" --max_units 1
    python recipes/sweep.py CONFIG --lapt_only
    python recipes/sweep.py CONFIG --report_only

Writes one results JSON per unit and test language under ``--results_dir`` (default
``runs/sweeps/<name>/results/<model>/<task>/<regime>/<lang>/seed<N>/results.json``) with the grid factors as
fields, the cached stages under ``--work_dir`` (default ``runs/sweeps/<name>/work``), and at the end
``<results_dir>/report.md`` (recipes/report.py: a row per model, zero-shot columns beside the others). Kill it and
rerun the same command to continue. Each stage runs in this process (not under ``accelerate launch``): give
several GPUs one sweep process each. See docs/experiments.md.
"""

from __future__ import annotations

import logging

from langadapt import LangadaptParser, setup_logging
from langadapt.experiments import Sweep, SweepConfig, SweepRunArguments

logger = logging.getLogger("langadapt")


def main(config: SweepConfig, run_args: SweepRunArguments) -> list:
    """Run (or list, or report) the sweep; returns the units still pending."""
    setup_logging(logging.INFO)
    if run_args.num_threads:
        import torch

        torch.set_num_threads(run_args.num_threads)
    sweep = Sweep(config, run_args)
    if run_args.list_units:
        print("\n".join(sweep.list_units()))
        return sweep.pending()
    if run_args.report_only:
        sweep.write_report()
        return sweep.pending()
    if run_args.lapt_only:
        sweep.build_models()
        return sweep.pending()
    pending = sweep.run()
    if run_args.report:
        try:
            written = sweep.write_report()
            logger.info("report: %s", written[0])
        except Exception:  # the units are done; the report can be rewritten with --report_only
            logger.exception("the report could not be written")
    if pending:
        logger.warning("%d units still pending (failed, or running in another process): rerun to finish", len(pending))
    return pending


def make_parser() -> LangadaptParser:
    return LangadaptParser((SweepConfig, SweepRunArguments))


if __name__ == "__main__":
    main(*make_parser().parse())
