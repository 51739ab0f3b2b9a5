#!/usr/bin/env bash
# The issue-13 diagnosis queue (BENCHMARKS.md, "Replication"): one process, one thread, every step resumable.
# Kill it at any time and start it again with the same command; finished units and stages are skipped and an
# interrupted LAPT run resumes from its last checkpoint, an interrupted fine-tuning unit from its last dev
# evaluation. Two copies can run side by side (one per core): each skips the units the other holds.
#   OMP_NUM_THREADS=1 nohup bash benchmarks/replication/issue13_queue.sh >> runs/replication/issue13.log 2>&1 &
set -u
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
RUN="$PY benchmarks/replication/run.py --language myv --num_threads 1"
export OMP_NUM_THREADS=1
step() { echo "### $(date -u +%FT%TZ) $*"; "$@" || echo "### step failed (rc $?): $*"; }

# LAPT text (the same as every earlier cpu_long run)
[ -f runs/uralic/data/myv/train.txt ] || step "$PY" recipes/prepare_data.py recipes/configs/uralic/prepare_data.yaml
# 1. the LAPT stages the first fine-tuning rows need
step $RUN --budget cpu_long --lapt_mode full --init random script+posn+ident --lapt_only
# 2. [ES]'s fine-tuning, seed 1: off the shelf and FULL random (each unit 832 steps of 72 sentences at most:
#    ≈ 1 h 45 min on a free core; a killed unit continues from its last dev evaluation)
step $RUN --budget cpu_long_esft --lapt_mode none --seeds 1
step $RUN --budget cpu_long_esft --lapt_mode full --init random --seeds 1
# 3. every other LAPT stage, FULL then EMB, for the loss-vs-step table (5–10 min each; the EMB rows' seeds reuse them)
step $RUN --budget cpu_long --lapt_mode full --init script script+posn ident focus mean --lapt_only
step $RUN --budget cpu_long --lapt_mode emb --lapt_only
# 4. [ES]'s fine-tuning, seed 1, of FULL script+posn+ident and FOCUS
step $RUN --budget cpu_long_esft --lapt_mode full --init script+posn+ident focus --seeds 1
# 5. full-vocabulary LAPT (250k vocabulary, ≈ 27 min) and its [ES] fine-tuning, seed 1 (disagreement 2)
step $RUN --budget cpu_long_esft --lapt_mode full --init source --seeds 1
# 6. the table: the EMB rows' missing units (seeds 2–3, EMB mean) with cpu_long's fine-tuning (≈ 13 min each),
#    (North Sami, the same rows, follows in step 8.)
step $RUN --budget cpu_long --lapt_mode emb --init mean   # the EMB row that has no seed yet, first
step $RUN --budget cpu_long --lapt_mode emb
# 7. [ES]'s fine-tuning of SCRIPT, SCRIPT+POSN and IDENT, seed 1 (disagreement 1: does script+posn+ident's lead over
#    random under [ES]'s recipe come from its script rows or from its copied rows?); ≈ 1.5 h per unit with both cores
#    busy. They come before North Sami because they finish within a session and answer an open question.
step $RUN --budget cpu_long_esft --lapt_mode full --init script script+posn ident --seeds 1
# 8. North Sami (≈ 48 units, ≈ 12 h with two workers): seed 1 of every row first (≈ 4–5 h), so that a one-seed
#    ordering of all sixteen rows exists before the seeds that narrow it; then [ES]'s fine-tuning of the three EMB
#    rows [ES] reports (disagreement 3: does EMB fall below FULL under [ES]'s recipe?); then North Sami's seeds 2–3;
#    then seeds 2–3 of the [ES]-fine-tuning rows
step "$PY" benchmarks/replication/run.py --budget cpu_long --language sme --num_threads 1 --seeds 1
step $RUN --budget cpu_long_esft --lapt_mode emb --init random script+posn+ident focus --seeds 1
step "$PY" benchmarks/replication/run.py --budget cpu_long --language sme --num_threads 1
step $RUN --budget cpu_long_esft --lapt_mode none full --init source random ident script script+posn script+posn+ident \
    focus --seeds 2 3
echo "### $(date -u +%FT%TZ) queue finished"
