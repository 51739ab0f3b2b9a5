#!/bin/bash
# multilingual-e5-small, no LAPT, fine-tuned on the real data in ../shared/data: UD POS (Erzya, North Sami; full
# and few-shot), UD parsing (Estonian EWT r2.10, UAS/LAS) and WikiAnn NER (Estonian); 3 seeds each.
#
# CPU budget (2 cores; the 18 runs took 3.0 hours of run time in all, two at a time, one thread each): [ES]'s
# up to 64 epochs at lr 5e-6 do not fit on this machine, so every run uses lr 1e-4 (constant), batch 16, windows
# of 128 subwords, the best dev checkpoint restored before testing, a seeded 300-sentence dev sample, and whole
# test sets. Epochs (dev evaluation every 2 epochs, patience 4, unless said): POS few-shot (512 sentences) 10;
# NER few-shot (512 sentences) 10; POS full 6 for Erzya (917 sentences), 2 for North Sami (1,957; every epoch,
# patience 2); parsing full (4,579 sentences) 1 (287 steps; dev evaluated once, at the end).
#
# Resumable: a unit whose results.json exists is skipped. Tables: python recipes/report.py --results_dirs
# benchmarks/e5_baseline/results --output_prefix benchmarks/results/e5_baseline; per run:
# python benchmarks/e5_baseline/details.py.
# Usage: [SEEDS="1 2 3"] bash benchmarks/e5_baseline/run.sh [CONFIG ...]   (default: all, in the order below)
#   CONFIG: pos_myv_few_shot pos_sme_few_shot ner_et_few_shot pos_myv_full parse_et_full pos_sme_full
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
E5=$($PY -c "from langadapt.models import load_e5_small; print(load_e5_small())")
C=recipes/configs/uralic
D=../shared/data
COMMON=(--model_name_or_path "$E5" --model_label e5-small --output_dir benchmarks/e5_baseline/results
  --learning_rate 1e-4 --per_device_train_batch_size 16 --per_device_eval_batch_size 64 --max_length 128
  --eval_every_epochs 2 --patience_epochs 4 --max_dev_sentences 300 --seeds ${SEEDS:-1 2 3}
  --use_cpu true --disable_tqdm true --logging_steps 20)
MYV=(--train_data "myv=$D/ud/UD_Erzya-JR/myv_jr-ud-train.conllu" --test_data "myv=$D/ud/UD_Erzya-JR/myv_jr-ud-test.conllu")
SME=(--train_data "sme=$D/ud/UD_North_Sami-Giella/sme_giella-ud-train.conllu"
  --test_data "sme=$D/ud/UD_North_Sami-Giella/sme_giella-ud-test.conllu")
EVERY_EPOCH=(--eval_every_epochs 1 --patience_epochs 2)

run() {
  case "$1" in
    pos_myv_few_shot) $PY recipes/finetune.py $C/finetune_pos.yaml "${COMMON[@]}" "${MYV[@]}" --regime few_shot --num_train_epochs 10 ;;
    pos_sme_few_shot) $PY recipes/finetune.py $C/finetune_pos.yaml "${COMMON[@]}" "${SME[@]}" --regime few_shot --num_train_epochs 10 ;;
    ner_et_few_shot) $PY recipes/finetune.py $C/finetune_ner.yaml "${COMMON[@]}" --regime few_shot --num_train_epochs 10 ;;
    pos_myv_full) $PY recipes/finetune.py $C/finetune_pos.yaml "${COMMON[@]}" "${MYV[@]}" --regime full --num_train_epochs 6 ;;
    parse_et_full) $PY recipes/finetune.py $C/finetune_parse.yaml "${COMMON[@]}" --regime full --num_train_epochs 1 "${EVERY_EPOCH[@]}" ;;
    pos_sme_full) $PY recipes/finetune.py $C/finetune_pos.yaml "${COMMON[@]}" "${SME[@]}" --regime full --num_train_epochs 2 "${EVERY_EPOCH[@]}" ;;
    *) echo "unknown config $1" >&2; exit 2 ;;
  esac
}

for config in ${@:-pos_myv_few_shot pos_sme_few_shot ner_et_few_shot pos_myv_full parse_et_full pos_sme_full}; do
  echo "=== $config"
  run "$config"
done
