#!/usr/bin/env bash
# multilingual-e5-small on SIB-200 topic classification (est_Latn, fin_Latn, rus_Cyrl; 3 seeds each), the [KG]
# settings of recipes/configs/kg/finetune_classify.yaml except the epochs: EPOCHS (default 4, for a CPU budget;
# [KG]: 20). Resumable: finetune.py skips finished (language, seed) units. Results: runs/kg/finetune_sib_e5, then
#   python recipes/report.py --results_dirs runs/kg/finetune_sib_e5 --output_prefix runs/kg/report_sib_e5
#
#   bash benchmarks/run_sib_e5.sh            # from the repository root; ≈ 10–30 min per seed on one loaded core
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
EPOCHS=${EPOCHS:-4}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
E5=$($PY -c "from langadapt.models import load_e5_small; print(load_e5_small())")
for L in est_Latn fin_Latn rus_Cyrl; do
  $PY recipes/finetune.py recipes/configs/kg/finetune_classify.yaml --model_name_or_path "$E5" --model_label e5-small \
    --train_data "$L=../shared/data/sib200/$L/train.tsv" --dev_data "$L=../shared/data/sib200/$L/dev.tsv" \
    --test_data "$L=../shared/data/sib200/$L/test.tsv" --output_dir runs/kg/finetune_sib_e5 --disable_tqdm true \
    --num_train_epochs "$EPOCHS" --patience_epochs "$EPOCHS"
done
