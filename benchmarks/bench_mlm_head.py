"""Training-step throughput: stock Hugging Face MLM head vs masked-positions-only head, at two vocabulary sizes.

XLM-R-base-shaped model (12 layers, hidden 768, FFN 3072, random weights), batch 8 × 128 tokens, 15% of the
positions labelled; one step = forward + backward + AdamW. For each vocabulary one model and one optimizer are
built and the variants alternate step by step (`disable_masked_only_head` / `enable_masked_only_head`), so all
of them see the same machine load (the benchmark machine is shared). Reports the median over `--steps` paired
steps after `--warmup` warm-up steps of each, with the analytic FLOPs per step, and the median over rounds of the
per-round ratio stock / variant (steps of one round run back to back, so this ratio shrugs off slow load drifts),
in wall time and in the process's CPU time (less sensitive to other jobs taking the cores).

Variants: `stock` (Hugging Face head on every position), `masked-only` (what LAPT runs: head on the labelled rows,
last layer on the labelled rows, one in-place tied-weight gradient), and for measuring each saving on its own
`gather-only` (head on the labelled rows, nothing else), `no-last-layer`, `no-tied-gradient`.
`--optimizer fused` uses `torch.optim.AdamW(fused=True)` (the Trainer's `adamw_torch_fused`) instead of the
default for-loop AdamW.

    python benchmarks/bench_mlm_head.py --steps 3 --warmup 1
    python benchmarks/bench_mlm_head.py --vocab_sizes 250002 --variants stock masked-only gather-only
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
from langadapt.lapt.masked_head import last_layer_work

# variant → enable_masked_only_head options (None: the stock head)
VARIANTS: dict[str, dict[str, bool] | None] = {
    "stock": None,
    "masked-only": {"last_layer": True, "tied_gradient": True},
    "gather-only": {"last_layer": False, "tied_gradient": False},
    "no-last-layer": {"last_layer": False, "tied_gradient": True},
    "no-tied-gradient": {"last_layer": True, "tied_gradient": False},
}


def make_batch(vocab: int, batch: int, length: int, mlm_probability: float, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(4, vocab - 1, (batch, length), generator=g)
    labels = torch.full_like(input_ids, -100)
    chosen = torch.rand(batch, length, generator=g) < mlm_probability
    labels[chosen] = input_ids[chosen]
    return input_ids, torch.ones_like(input_ids), labels


def one_step(model, optimizer, batch) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process: all its threads, user + system) of one training step."""
    input_ids, attention_mask, labels = batch
    start, start_cpu = time.perf_counter(), time.process_time()
    loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - start, time.process_time() - start_cpu


def switch_to(model, variant: str) -> None:
    disable_masked_only_head(model)
    if VARIANTS[variant] is not None:
        enable_masked_only_head(model, **VARIANTS[variant])


def paired_times(model, batch, variants: list[str], steps: int, warmup: int, fused: bool) -> dict[str, list]:
    """Alternate the variants' steps on the same model (order reversed every round): variant → [(wall, CPU)]."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=fused or None)
    times: dict[str, list[tuple[float, float]]] = {variant: [] for variant in variants}
    for i in range(warmup + steps):
        for variant in variants if i % 2 == 0 else variants[::-1]:
            switch_to(model, variant)
            elapsed = one_step(model, optimizer, batch)
            if i >= warmup:
                times[variant].append(elapsed)
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
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["stock", "masked-only"])
    parser.add_argument("--optimizer", choices=["adamw", "fused"], default="adamw")
    args = parser.parse_args()
    if "stock" not in args.variants:
        parser.error("--variants must include stock (the reference of the speed-up column)")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"# torch {torch.__version__}, {platform.processor() or platform.machine()}, threads {args.threads}, "
          f"optimizer {args.optimizer}")  # fmt: skip
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
        times = paired_times(model, batch, args.variants, args.steps, args.warmup, args.optimizer == "fused")
        for head in args.variants:
            switch_to(model, head)
            rows_and_slots = last_layer_work(model, batch[2]) if VARIANTS[head] else None
            counter = FlopCounter.from_config(config)
            counter.add_batch(args.batch, args.length, masked if VARIANTS[head] else tokens, body_trains=True,
                              last_layer_rows_and_slots=rows_and_slots)  # fmt: skip
            counter.add_optimizer_step(sum(p.numel() for p in model.parameters()))
            wall, cpu = ([step[k] for step in times[head]] for k in (0, 1))
            stock_wall, stock_cpu = ([step[k] for step in times["stock"]] for k in (0, 1))
            median = statistics.median(wall)
            paired = statistics.median(s / t for s, t in zip(stock_wall, wall))
            paired_cpu = statistics.median(s / t for s, t in zip(stock_cpu, cpu))
            rows.append(
                (vocab, head, median, tokens / median, counter.total, paired, statistics.median(cpu), paired_cpu)
            )
            print(f"vocab {vocab:>7} {head:>16}: median {median:.2f} s/step, {tokens / median:.0f} tokens/s, "
                  f"{counter.total / 1e12:.2f} TFLOP/step, wall {[round(t, 2) for t in wall]}, "
                  f"CPU {[round(t, 2) for t in cpu]}", flush=True)  # fmt: skip
        del model
        gc.collect()
    print(f"# load average after: {os.getloadavg()}")
    print("\n| vocab | head | median s/step | tokens/s | analytic TFLOP/step | speed-up vs stock | paired speed-up "
          "| median CPU s/step | paired CPU speed-up |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    stock = {v: t for v, h, t, *_ in rows if h == "stock"}
    for vocab, head, median, tps, flops, paired, cpu, paired_cpu in rows:
        print(f"| {vocab} | {head} | {median:.2f} | {tps:.0f} | {flops / 1e12:.3f} | {stock[vocab] / median:.2f}× "
              f"| {paired:.2f}× | {cpu:.2f} | {paired_cpu:.2f}× |")  # fmt: skip


if __name__ == "__main__":
    main()
