"""FOCUS: our implementation against the reference `deepfocus` 1.0.1 — same output, faster combination step.

Setup (deepfocus lives only in its own venv; torch, transformers and fastText are the project's, reached by a
.pth file, so both sides use the same decode() for canonical forms; entmax/fastdist/numba are deepfocus's):

    /root/.pyenv/versions/3.11.7/bin/python3 -m venv /tmp/focus-venv
    /tmp/focus-venv/bin/pip install deepfocus==1.0.1 entmax==1.3 fastdist==1.1.7 --no-deps
    /tmp/focus-venv/bin/pip install numba==0.68.1 print-on-steroids==1.2.3 regex requests tqdm
    echo /work/main/.venv/lib/python3.11/site-packages > /tmp/focus-venv/lib/python3.11/site-packages/zz_project.pth

Run (source: multilingual-e5-small's real XLM-R vocabulary and embeddings; target: a 16k myv+sme tokenizer):

    python benchmarks/bench_focus.py --target_tokenizer runs/tok16k_myv_sme \
        --corpus ../shared/data/raw/myv/giellalt_corpus-myv.txt ../shared/data/raw/sme/giellalt_corpus-sme.txt

One fastText model (deepfocus defaults: CBOW, dim 100, 3 epochs, neg 10, min_count 10) is trained once and
given to both. Compared: copied rows (special + overlap) and FOCUS-combined rows (max abs difference), the
sets of overlapping / anchor / combined tokens, and the number of rows either side draws at random.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer

import langadapt.vocab.focus as focus_module
from langadapt.models import load_e5_small
from langadapt.vocab import InitContext, InitOptions, build_plan, train_fasttext

DEEPFOCUS_SCRIPT = r"""
import json, sys, time
import torch
from transformers import AutoTokenizer
import deepfocus.focus as df

source_dir, target_dir, embeddings_path, fasttext_path, out_dir = sys.argv[1:6]
source_tok, target_tok = AutoTokenizer.from_pretrained(source_dir), AutoTokenizer.from_pretrained(target_dir)
embeddings = torch.load(embeddings_path)
record = {}
original = df.focus_additional_token_initialization

def timed(overlapping, new_tokens, target_embeddings, device=None):
    record["anchor_ids"] = sorted(t.target.id for t in overlapping.values())
    record["combined_ids"] = sorted(t.target.id for t in new_tokens.values())
    start = time.perf_counter()
    result = original(overlapping, new_tokens, target_embeddings, device=device)
    record["combination_seconds"] = time.perf_counter() - start
    return result

df.focus_additional_token_initialization = timed
start = time.perf_counter()
rows = df.FOCUS(target_tokenizer=target_tok, source_tokenizer=source_tok, source_embeddings=embeddings,
                fasttext_model_path=fasttext_path, verbosity="silent")
record["total_seconds"] = time.perf_counter() - start
overlap, _ = df.get_overlapping_tokens(target_tok, source_tok, match_symbols=False, exact_match_all=True,
                                       fuzzy_match_all=False)
record["overlap"] = {str(t.target.id): t.source[0].id for t in overlap.values()}
torch.save(rows, out_dir + "/deepfocus_rows.pt")
json.dump(record, open(out_dir + "/deepfocus_record.json", "w"))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target_tokenizer", required=True)
    parser.add_argument("--corpus", nargs="+", required=True)
    parser.add_argument("--max_lines", type=int, default=60_000, help="lines per corpus file for fastText")
    parser.add_argument("--workdir", default="runs/bench_focus")
    parser.add_argument("--focus_python", default="/tmp/focus-venv/bin/python")
    args = parser.parse_args()
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)

    source_dir = load_e5_small()
    source_tokenizer = AutoTokenizer.from_pretrained(source_dir)
    target_tokenizer = AutoTokenizer.from_pretrained(args.target_tokenizer)
    weights = load_file(str(Path(source_dir) / "model.safetensors"))
    key = next(k for k in weights if k.endswith("word_embeddings.weight"))
    embeddings = weights[key][: len(source_tokenizer)].float().contiguous()  # the rows the tokenizer can reach
    torch.save(embeddings, workdir / "source_embeddings.pt")

    fasttext_path = workdir / "fasttext.bin"
    if not fasttext_path.exists():
        subset = []
        for number, path in enumerate(args.corpus):
            lines = Path(path).read_text(encoding="utf-8").splitlines()[: args.max_lines]
            subset.append(workdir / f"corpus{number}.txt")
            subset[-1].write_text("\n".join(lines) + "\n", encoding="utf-8")
        start = time.perf_counter()
        train_fasttext(subset, target_tokenizer, fasttext_path, dim=100, epochs=3, min_count=10, threads=2)
        print(f"fastText trained in {time.perf_counter() - start:.1f} s on {args.max_lines} lines per file")

    # ---- ours -------------------------------------------------------------------------------------------------
    timings: dict[str, float] = {}
    original_weights = focus_module.focus_weights

    def timed_weights(*a, **k):
        start = time.perf_counter()
        result = original_weights(*a, **k)
        timings["weights"] = time.perf_counter() - start
        return result

    focus_module.focus_weights = timed_weights
    start = time.perf_counter()
    options = InitOptions(init_spec="focus", fasttext_model=str(fasttext_path), random_distribution="source")
    context = InitContext(source_tokenizer, target_tokenizer, options, source_rows=len(embeddings))
    plan = build_plan(context, "focus")
    apply_start = time.perf_counter()
    ours = plan.apply(embeddings, torch.Generator().manual_seed(42))
    timings["apply"] = time.perf_counter() - apply_start
    timings["total"] = time.perf_counter() - start
    ours_combination = timings["weights"] + timings["apply"]

    # ---- deepfocus ----------------------------------------------------------------------------------------------
    script = workdir / "run_deepfocus.py"
    script.write_text(DEEPFOCUS_SCRIPT, encoding="utf-8")
    subprocess.run(
        [
            args.focus_python,
            str(script),
            str(source_dir),
            str(Path(args.target_tokenizer).resolve()),
            str(workdir / "source_embeddings.pt"),
            str(fasttext_path),
            str(workdir),
        ],
        check=True,
    )
    theirs = torch.load(workdir / "deepfocus_rows.pt")
    record = json.loads((workdir / "deepfocus_record.json").read_text())

    # ---- compare ------------------------------------------------------------------------------------------------
    methods = plan.methods
    copied = [i for i, m in enumerate(methods) if m in ("special", "focus_copy")]
    combined = [i for i, m in enumerate(methods) if m == "focus"]
    rare = [i for i, m in enumerate(methods) if m == "random"]
    their_overlap = {int(k): v for k, v in record["overlap"].items()}
    their_rare = len(methods) - len(their_overlap) - len(record["combined_ids"])
    result = {
        "source_vocab": len(source_tokenizer),
        "target_vocab": len(target_tokenizer),
        "copied": len(copied),
        "combined": len(combined),
        "rare_random_ours": len(rare),
        "rare_random_deepfocus": their_rare,
        "same_overlap_sets": set(copied) == set(their_overlap),
        "same_combined_sets": combined == record["combined_ids"],
        "max_abs_diff_copied": (ours[copied] - theirs[copied]).abs().max().item(),
        "max_abs_diff_combined": (ours[combined] - theirs[combined]).abs().max().item() if combined else 0.0,
        "ours_total_s": round(timings["total"], 2),
        "ours_combination_s": round(ours_combination, 3),
        "deepfocus_total_s": round(record["total_seconds"], 2),
        "deepfocus_combination_s": round(record["combination_seconds"], 2),
        "combination_speedup": round(record["combination_seconds"] / ours_combination, 1),
    }
    print(json.dumps(result, indent=2))
    (workdir / "result.json").write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
