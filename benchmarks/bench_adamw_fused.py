"""AdamW step time on CPU: PyTorch's default for-loop implementation vs ``fused=True`` (the Trainer's
``adamw_torch_fused``, its default optimizer with torch ≥ 2.8), and how far their results drift apart.

The parameters of an XLM-R-base-shaped masked LM (12 layers, hidden 768, tied 250k embedding/decoder: 278M
parameters, the model is built but never run) get random gradients; two optimizers, each with its own state, step
them in alternation (order reversed every round) so both see the same machine load. Reports the median step time of
each, the median per-round ratio, and, from two identical copies of a 10M-parameter slice stepped `--drift_steps`
times by each optimizer with the same gradients, the largest difference between their parameters.

    python benchmarks/bench_adamw_fused.py --steps 5 --warmup 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM


def step_time(optimizer: torch.optim.Optimizer) -> float:
    start = time.perf_counter()
    optimizer.step()
    return time.perf_counter() - start


def drift(steps: int, numel: int = 10_000_000) -> tuple[float, float]:
    """(max |fused − for-loop|, max |update|) after ``steps`` steps from the same start with the same gradients."""
    generator = torch.Generator().manual_seed(0)
    start = torch.randn(numel // 768, 768, generator=generator) * 0.02
    params = {name: torch.nn.Parameter(start.clone()) for name in ("for-loop", "fused")}
    optimizers = {
        "for-loop": torch.optim.AdamW([params["for-loop"]], lr=1e-4, weight_decay=0.01, foreach=False),
        "fused": torch.optim.AdamW([params["fused"]], lr=1e-4, weight_decay=0.01, fused=True),
    }
    for _ in range(steps):
        grad = torch.randn(start.shape, generator=generator) * 1e-3
        for name in params:
            params[name].grad = grad.clone()
            optimizers[name].step()
    difference = (params["fused"] - params["for-loop"]).abs().max().item()
    return difference, (params["for-loop"] - start).abs().max().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocab_size", type=int, default=250_002)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--drift_steps", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# torch {torch.__version__}, threads {args.threads}, load average before: {os.getloadavg()}")
    config = XLMRobertaConfig(
        vocab_size=args.vocab_size, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1,
    )  # fmt: skip
    params = list(XLMRobertaForMaskedLM(config).parameters())
    for param in params:
        param.grad = torch.randn_like(param) * 1e-3
    optimizers = {
        "for-loop": torch.optim.AdamW(params, lr=1e-5, foreach=False),
        "fused": torch.optim.AdamW(params, lr=1e-5, fused=True),
    }
    times: dict[str, list[float]] = {name: [] for name in optimizers}
    for i in range(args.warmup + args.steps):
        for name in optimizers if i % 2 == 0 else list(optimizers)[::-1]:
            elapsed = step_time(optimizers[name])
            if i >= args.warmup:
                times[name].append(elapsed)
    print(f"# load average after: {os.getloadavg()}; {sum(p.numel() for p in params) / 1e6:.0f}M parameters")
    paired = statistics.median(a / b for a, b in zip(times["for-loop"], times["fused"]))
    for name, values in times.items():
        print(f"{name:>8}: median {statistics.median(values):.2f} s/step, steps {[round(t, 2) for t in values]}")
    print(f"fused is {paired:.2f}× faster per optimizer step (median of per-round ratios)")
    difference, update = drift(args.drift_steps)
    print(f"after {args.drift_steps} steps: max |fused − for-loop| = {difference:.2e} (max update {update:.2e})")


if __name__ == "__main__":
    main()
