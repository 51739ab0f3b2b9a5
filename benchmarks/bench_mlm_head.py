"""Training-step throughput: stock Hugging Face MLM head vs masked-positions-only head, at two vocabulary sizes.

XLM-R-base-shaped model (12 layers, hidden 768, FFN 3072, random weights), batch 8 × 128 tokens, 15% of the
positions labelled; one step = forward + backward + AdamW. For each vocabulary one model and one optimizer are
built and the two heads alternate step by step (`disable_masked_only_head` / `enable_masked_only_head`), so both
sides see the same machine load (the benchmark machine is shared). Reports the median over `--steps` paired
steps after `--warmup` warm-up steps of each, with the analytic FLOPs per step.

    python benchmarks/bench_mlm_head.py --steps 3 --warmup 1
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import time

import torch
from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

from langadapt.lapt import FlopCounter, disable_masked_only_head, enable_masked_only_head


def make_batch(vocab: int, batch: int, length: int, mlm_probability: float, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(4, vocab - 1, (batch, length), generator=g)
    labels = torch.full_like(input_ids, -100)
    chosen = torch.rand(batch, length, generator=g) < mlm_probability
    labels[chosen] = input_ids[chosen]
    return input_ids, torch.ones_like(input_ids), labels


def one_step(model, optimizer, batch) -> float:
    input_ids, attention_mask, labels = batch
    start = time.perf_counter()
    loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def paired_times(model, batch, steps: int, warmup: int) -> dict[str, list[float]]:
    """Alternate stock and masked-only steps on the same model (order flipped every pair)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    switch = {"stock": disable_masked_only_head, "masked-only": enable_masked_only_head}
    times: dict[str, list[float]] = {"stock": [], "masked-only": []}
    for i in range(warmup + steps):
        order = ["stock", "masked-only"] if i % 2 == 0 else ["masked-only", "stock"]
        for head in order:
            switch[head](model)
            elapsed = one_step(model, optimizer, batch)
            if i >= warmup:
                times[head].append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocab_sizes", type=int, nargs="+", default=[250_002, 32_770])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"# torch {torch.__version__}, {platform.processor() or platform.machine()}, threads {args.threads}")
    print(f"# load average before: {os.getloadavg()}")
    tokens = args.batch * args.length
    rows = []
    for vocab in args.vocab_sizes:
        config = XLMRobertaConfig(
            vocab_size=vocab, hidden_size=768, num_hidden_layers=args.layers, num_attention_heads=12,
            intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1,
        )  # fmt: skip
        batch = make_batch(vocab, args.batch, args.length, 0.15)
        masked = int((batch[2] != -100).sum())
        model = XLMRobertaForMaskedLM(config).train()
        times = paired_times(model, batch, args.steps, args.warmup)
        for head in ("stock", "masked-only"):
            counter = FlopCounter.from_config(config)
            counter.add_batch(args.batch, args.length, masked if head == "masked-only" else tokens, body_trains=True)
            counter.add_optimizer_step(sum(p.numel() for p in model.parameters()))
            median = statistics.median(times[head])
            rows.append((vocab, head, median, tokens / median, counter.total, times[head]))
            print(f"vocab {vocab:>7} {head:>11}: median {median:.2f} s/step, {tokens / median:.0f} tokens/s, "
                  f"{counter.total / 1e12:.2f} TFLOP/step, steps {[round(t, 2) for t in times[head]]}", flush=True)  # fmt: skip
        del model
        gc.collect()
    print(f"# load average after: {os.getloadavg()}")
    print("\n| vocab | head | median s/step | tokens/s | analytic TFLOP/step | speed-up vs stock |")
    print("|---|---|---|---|---|---|")
    stock = {v: t for v, h, t, *_ in rows if h == "stock"}
    for vocab, head, median, tps, flops, _ in rows:
        print(f"| {vocab} | {head} | {median:.2f} | {tps:.0f} | {flops / 1e12:.3f} | {stock[vocab] / median:.2f}× |")


if __name__ == "__main__":
    main()
