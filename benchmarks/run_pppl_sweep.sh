#!/usr/bin/env bash
# Pseudo-perplexity (both PLL variants) on held-out Erzya dev lines for two LAPT outputs of the CPU family sweep
# (recipes/configs/uralic/sweep_cpu.yaml) that differ only in vocabulary: e5-small's own 250k vocabulary vs a 16k
# SCRIPT+POSN+IDENT replacement, both α 0.1 and 200 LAPT steps on the same Erzya + North Sami + Finnish text.
# Needs the sweep's two models (`python recipes/sweep.py recipes/configs/uralic/sweep_cpu.yaml --alpha 0.1
# --vocab_size source 16384`, or the whole sweep). Resumable: pppl.py skips finished (model, language, variant) units.
#   bash benchmarks/run_pppl_sweep.sh          # from the repository root; MAX_SENTENCES (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
MAX_SENTENCES=${MAX_SENTENCES:-100}
W=runs/sweeps/uralic_cpu/work/lapt
for M in "$W/vocab_source/alpha_0.1/source/full/steps_200/best=sweep_source_a0.1_s200" \
         "$W/vocab_16k/alpha_0.1/script+posn+ident/full/steps_200/best=sweep_16k_a0.1_s200"; do
  $PY recipes/pppl.py recipes/configs/kg/pppl.yaml --model_name_or_path "${M%%=*}" --model_label "${M##*=}" \
    --texts myv=runs/sweeps/uralic_cpu/work/data/myv/dev.txt --max_sentences "$MAX_SENTENCES" --device cpu \
    --output_dir runs/kg/pppl_sweep
done
$PY recipes/report.py --results_dirs runs/kg/pppl_sweep --output_prefix runs/kg/report_pppl_sweep --figures none
