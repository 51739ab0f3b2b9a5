"""Wall time of the heuristic vocabulary replacement from an XLM-R-base-shaped source (250,002 × 768).

The source's token strings are the real XLM-R vocabulary (from multilingual-e5-small via
``langadapt.models.load_e5_small()``); its weights are random (XLM-R base shape: 12 layers, hidden 768), which
does not change the timing. Model construction and loading are excluded; timed: planning (categorising both
vocabularies, IDENT, SCRIPT+POSN groups), model surgery (embeddings, tied decoder, MLM bias) and provenance.

    python benchmarks/bench_init_speed.py --target_tokenizer runs/tok32k_myv_sme --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaForMaskedLM

from langadapt.models import load_e5_small
from langadapt.vocab import InitOptions, replace_vocabulary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target_tokenizer", required=True)
    parser.add_argument("--init_spec", default="script+posn+ident")
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(2)

    source_tokenizer = AutoTokenizer.from_pretrained(load_e5_small())
    target_tokenizer = AutoTokenizer.from_pretrained(args.target_tokenizer)
    config = XLMRobertaConfig(
        vocab_size=len(source_tokenizer),
        hidden_size=768,
        num_hidden_layers=args.layers,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=514,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        type_vocab_size=1,
    )
    torch.manual_seed(0)
    start = time.perf_counter()
    source = XLMRobertaForMaskedLM(config).eval()
    print(f"source model built in {time.perf_counter() - start:.1f} s (not timed): {len(source_tokenizer)} × 768")

    times = []
    for run in range(args.runs):
        start = time.perf_counter()
        model, provenance = replace_vocabulary(
            source, source_tokenizer, target_tokenizer, InitOptions(init_spec=args.init_spec, seed=run)
        )
        times.append(time.perf_counter() - start)
        print(f"run {run}: {times[-1]:.2f} s  {provenance['summary']['counts_per_method']}")
        del model, provenance
    print(
        f"{args.init_spec}: {len(source_tokenizer)} → {len(target_tokenizer)} tokens, "
        f"median {statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s over {args.runs} runs"
    )


if __name__ == "__main__":
    main()
