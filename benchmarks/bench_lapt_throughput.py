"""LAPT throughput side by side: the transformers MLM example, langadapt padded, langadapt packed.

Part 1 — the data path on one core: lines/s and tokens/s of turning α-sampled lines into masked MLM examples,
per line (one tokenizer call per line) and batched (one call per micro-batch), plus packing; set beside what a
CPU training step consumes and what a GPU would need (FLOPs per real token at XLM-R base from the project's
FLOP counter, divided into a stated accelerator throughput).

Part 2 — training, the same model, the same α-mixed Erzya + North Sami lines (the first steps × batch draws of
one sampler), the same number of optimizer steps:
  (a) ``hf``: what the transformers MLM example does: stock ``AutoModelForMaskedLM`` (every position through the
      head), lines tokenized up front with ``Dataset.map``, ``DataCollatorForLanguageModeling`` (padded to the
      longest line), ``Trainer``;
  (b) ``padded``: langadapt before packing: per-line tokenization streamed from the sampler, ``MLMCollator``
      (padded), masked-positions-only head, ``LaptTrainer``;
  (c) ``packed``: langadapt now: batched tokenization, ``PackedMLMCollator`` (several lines per row, no
      attention across lines), masked-positions-only head, ``LaptTrainer``.
Each is timed from the end of its first (warm-up) step to the end of its last; the three alternate in order
(a b c, then c b a, …) over ``--repeats`` so that all see the same machine load. Reported: lines/s, real
(non-padding) tokens/s, positions computed per real token, and the dev MLM loss after the run (same fixed dev
lines and masks for all three).

    OMP_NUM_THREADS=2 python benchmarks/bench_lapt_throughput.py --models e5-250k e5-16k xlmr-base-250k \
        --batch 16 --steps 4 --repeats 1
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
from datasets import Dataset
from transformers import (
    AutoModelForMaskedLM,
    AutoTokenizer,
    DataCollatorForLanguageModeling,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
)

from langadapt.data import build_sampler, parse_corpus_specs
from langadapt.lapt import (
    FixedMLMDataset,
    FlopCounter,
    LaptTrainer,
    MLMCollator,
    MLMExampleMaker,
    StreamingMLMDataset,
    enable_masked_only_head,
)
from langadapt.lapt.masked_head import mlm_loss
from langadapt.lapt.packing import PackedMLMCollator, position_offset

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "raw"
WORK = REPO / "runs" / "bench_lapt_throughput"
CORPORA = [f"myv={DATA / 'myv' / 'giellalt_corpus-myv.txt'}", f"sme={DATA / 'sme' / 'giellalt_corpus-sme.txt'}"]
ALPHA = 0.2
# Stated accelerator throughput for the GPU estimate: sustained bf16 training FLOP/s of one H100/H200-class GPU
# at ~40% of its ~990 TFLOP/s dense peak. An assumption, not a measurement.
GPU_SUSTAINED_FLOPS = 400e12


# --- models ---------------------------------------------------------------------------------------------------
def e5_dir() -> str:
    from langadapt.models import load_e5_small

    return str(load_e5_small())


def e5_16k_dir() -> str:
    """e5-small with a 16k vocabulary trained on the α-mixed lines (MEAN init), built once under runs/."""
    from langadapt.recipes_loader import load_recipe

    output = WORK / "e5_16k_mean"
    if output.is_dir():
        return str(output)

    from langadapt.tokenization import TokenizerTrainingArguments
    from langadapt.vocab import InitOptions, VocabReplacementArguments

    tokenizer_dir = WORK / "tok16k"
    if not tokenizer_dir.is_dir():
        load_recipe("train_tokenizer").main(
            TokenizerTrainingArguments(
                corpora=CORPORA,
                tokenizer_name_or_path=e5_dir(),
                output_dir=str(tokenizer_dir),
                vocab_size=16384,
                alpha=ALPHA,
                num_sample_lines=100_000,
                stats_lines=200,
            )  # fmt: skip
        )
    load_recipe("replace_vocab").main(
        VocabReplacementArguments(
            model_name_or_path=e5_dir(), target_tokenizer=str(tokenizer_dir), output_dir=str(output)
        ),
        InitOptions(init_spec="mean", seed=42),
    )
    return str(output)


def load_model(name: str):
    """(model, tokenizer) for a named model; the XLM-R-base shape has random weights and e5's 250k tokenizer."""
    if name == "e5-250k":
        path = e5_dir()
    elif name == "e5-16k":
        path = e5_16k_dir()
    elif name == "xlmr-base-250k":
        tokenizer = AutoTokenizer.from_pretrained(e5_dir())
        torch.manual_seed(0)
        config = XLMRobertaConfig(
            vocab_size=len(tokenizer), hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
            intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1, pad_token_id=tokenizer.pad_token_id,
        )  # fmt: skip
        return XLMRobertaForMaskedLM(config), tokenizer
    else:
        raise ValueError(f"unknown model {name!r}")
    torch.manual_seed(0)  # a fresh MLM head for e5 (a sentence encoder), the same for every configuration
    return AutoModelForMaskedLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)


# --- part 1: the data path ------------------------------------------------------------------------------------
def data_path_rates(
    tokenizer, lines: list[str], max_length: int, micro_batch: int, repeats: int = 3
) -> dict[str, float]:
    """Lines/s and tokens/s of the per-line and the batched path, each timed ``repeats`` times in rotation (median),
    so that both see the same machine load."""
    maker = MLMExampleMaker(tokenizer, max_length, 0.15, seed=0)
    draws = list(range(len(lines)))
    corpora = ["x"] * len(lines)

    def per_line():
        return [maker(line, draw, "x") for draw, line in zip(draws, lines)]

    def batched():
        out = []
        for i in range(0, len(lines), micro_batch):
            out.extend(
                maker.make_batch(lines[i : i + micro_batch], draws[i : i + micro_batch], corpora[i : i + micro_batch])
            )
        return out

    paths = {"per_line": per_line, "batched": batched}
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    examples = {}
    for repeat in range(repeats):
        for name in paths if repeat % 2 == 0 else reversed(paths):
            start = time.perf_counter()
            examples[name] = paths[name]()
            seconds[name].append(time.perf_counter() - start)
    assert examples["batched"] == examples["per_line"], "the batched path differs from the per-line path"
    collate = PackedMLMCollator(tokenizer.pad_token_id, max_length)
    start = time.perf_counter()
    for i in range(0, len(lines), micro_batch):
        collate(examples["batched"][i : i + micro_batch])
    pack_s = time.perf_counter() - start
    tokens = sum(len(e["input_ids"]) for e in examples["per_line"])
    rates: dict[str, float] = {"lines": len(lines), "tokens": tokens, "repeats": repeats}
    for name, times in seconds.items():
        median = statistics.median(times)
        rates[f"{name}_tokens_per_s"] = tokens / median
        rates[f"{name}_lines_per_s"] = len(lines) / median
    rates["batched_and_packed_tokens_per_s"] = tokens / (statistics.median(seconds["batched"]) + pack_s)
    return rates


# --- part 2: training -----------------------------------------------------------------------------------------
class StepClock(TrainerCallback):
    """Wall time from the end of the first optimizer step to the end of the last."""

    def __init__(self):
        self.ends: list[float] = []

    def on_step_end(self, args, state, control, **kwargs):
        self.ends.append(time.perf_counter())

    @property
    def seconds(self) -> float:
        return self.ends[-1] - self.ends[0]


def training_args(output_dir: str, steps: int, micro_batch: int, accumulation: int, **extra) -> TrainingArguments:
    return TrainingArguments(
        output_dir=output_dir, max_steps=steps, per_device_train_batch_size=micro_batch,
        gradient_accumulation_steps=accumulation, learning_rate=1e-4, lr_scheduler_type="constant",
        logging_strategy="no", save_strategy="no", eval_strategy="no", report_to=[], dataloader_num_workers=0,
        disable_tqdm=True, seed=0, **extra,
    )  # fmt: skip


def dev_loss(model, dev: FixedMLMDataset, pad_token_id: int) -> float:
    """Mean MLM loss over the fixed dev lines (padded batches, stock forward)."""
    model.eval()
    collate = MLMCollator(pad_token_id)
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(dev), 32):
            batch = collate([dev[j] for j in range(i, min(i + 32, len(dev)))])
            batch.pop("draw_index", None)
            logits = (
                type(model).forward(model, input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            )
            n = int((batch["labels"] != -100).sum())
            total += float(mlm_loss(logits.view(-1, logits.shape[-1]), batch["labels"].view(-1))) * n
            count += n
    return total / count


def run_configuration(kind: str, model_name: str, train_lines: list[str], draws_sampler, dev, args) -> dict:
    model, tokenizer = load_model(model_name)
    steps = args.steps + 1  # + the warm-up step
    micro, accumulation = args.micro_batch, args.batch // args.micro_batch
    clock = StepClock()
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "hf":
            dataset = Dataset.from_dict({"text": train_lines}).map(
                lambda b: tokenizer(b["text"], truncation=True, max_length=args.max_length, return_special_tokens_mask=True),
                batched=True, remove_columns=["text"],
            )  # fmt: skip
            collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, pad_to_multiple_of=8)
            trainer = Trainer(
                model=model, args=training_args(tmp, steps, micro, accumulation), train_dataset=dataset,
                data_collator=collator, callbacks=[clock],
            )  # fmt: skip
            positions = {"computed": 0}

            original = collator.__call__

            def counting(examples):
                batch = original(examples)
                positions["computed"] += batch["input_ids"].numel()
                return batch

            trainer.data_collator = counting
        else:
            maker = MLMExampleMaker(tokenizer, args.max_length, 0.15, seed=0)
            dataset = StreamingMLMDataset(draws_sampler, maker, encode_batch_size=1 if kind == "padded" else None)
            if kind == "padded":
                collator = MLMCollator(tokenizer.pad_token_id)
            else:
                collator = PackedMLMCollator(tokenizer.pad_token_id, args.max_length, position_offset(model.config))
            positions = {"computed": 0}

            def counting(examples, collator=collator):
                batch = collator(examples)
                positions["computed"] += batch["input_ids"].numel()
                return batch

            enable_masked_only_head(model)
            trainer = LaptTrainer(
                model=model, args=training_args(tmp, steps, micro, accumulation), train_dataset=dataset,
                data_collator=counting, callbacks=[clock],
            )  # fmt: skip
        trainer.train()
    # All the run's lines are tokens of the same kind; the timed steps saw steps / (steps + 1) of them on average.
    all_tokens = sum(
        len(ids) for ids in tokenizer(train_lines, truncation=True, max_length=args.max_length)["input_ids"]
    )
    timed_share = args.steps / (args.steps + 1)
    result = {
        "seconds": clock.seconds,
        "lines_per_s": len(train_lines) * timed_share / clock.seconds,
        "real_tokens_per_s": all_tokens * timed_share / clock.seconds,
        "positions_per_real_token": positions["computed"] / all_tokens,
        "dev_loss": dev_loss(model, dev(tokenizer), tokenizer.pad_token_id),
    }
    del model, trainer
    gc.collect()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=["e5-250k", "e5-16k", "xlmr-base-250k"])
    parser.add_argument("--kinds", nargs="+", default=["hf", "padded", "packed"])
    parser.add_argument("--batch", type=int, default=16, help="lines per optimizer step (global batch)")
    parser.add_argument("--micro_batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=4, help="timed optimizer steps (after one warm-up step)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--max_length", type=int, default=256)
    parser.add_argument("--data_lines", type=int, default=4096, help="lines for part 1")
    parser.add_argument("--dev_lines", type=int, default=256)
    parser.add_argument("--skip_data_path", action="store_true")
    args = parser.parse_args()
    if args.batch % args.micro_batch:
        parser.error("--batch must be a multiple of --micro_batch")
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, torch {torch.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} cores, threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()}")  # fmt: skip
    specs = parse_corpus_specs(CORPORA)
    sampler = build_sampler(specs, ALPHA, seed=0)
    dev_sampler = build_sampler(specs, ALPHA, seed=1)
    draws = (args.steps + 1) * args.batch
    train_lines = [line for _, line in sampler.iter_lines(0, draws)]

    if not args.skip_data_path:
        torch.set_num_threads(1)
        os.environ["RAYON_NUM_THREADS"] = "1"  # before the tokenizers library starts its pool
        tokenizer = AutoTokenizer.from_pretrained(e5_dir())
        probe = [line for _, line in sampler.iter_lines(10**6, 10**6 + args.data_lines)]
        rates = data_path_rates(tokenizer, probe, args.max_length, args.micro_batch)
        counter = FlopCounter(768, 3072, 12, len(tokenizer))
        counter.add_batch(1, args.max_length, round(0.15 * args.max_length), body_trains=True)
        flops_per_token = counter.total / args.max_length
        print(
            f"\n## Data path, one core (e5's 250k tokenizer, α-mixed myv + sme lines; median of {rates['repeats']})\n"
        )
        print("| path | lines/s | tokens/s |\n|---|---|---|")
        print(f"| per line (before) | {rates['per_line_lines_per_s']:.0f} | {rates['per_line_tokens_per_s']:.0f} |")
        print(f"| batched | {rates['batched_lines_per_s']:.0f} | {rates['batched_tokens_per_s']:.0f} |")
        print(f"| batched + packing | – | {rates['batched_and_packed_tokens_per_s']:.0f} |")
        print(f"\nXLM-R base, masked-only head, rows of {args.max_length}: {flops_per_token / 1e9:.2f} GFLOP per token; "
              f"at {GPU_SUSTAINED_FLOPS / 1e12:.0f} TFLOP/s sustained a GPU consumes "
              f"{GPU_SUSTAINED_FLOPS / flops_per_token:,.0f} tokens/s")  # fmt: skip
        torch.set_num_threads(os.cpu_count() or 1)

    def dev(tokenizer):
        return FixedMLMDataset(dev_sampler, MLMExampleMaker(tokenizer, args.max_length, 0.15, seed=1), args.dev_lines)

    print(f"\n## Training: batch {args.batch} lines (micro-batch {args.micro_batch}), {args.steps} timed steps "
          f"after 1 warm-up, max length {args.max_length}, {args.repeats} repeat(s), order alternating\n")  # fmt: skip
    print(
        "| model | configuration | lines/s | real tokens/s | positions per real token | dev loss | vs hf | vs padded |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for model_name in args.models:
        results: dict[str, list[dict]] = {kind: [] for kind in args.kinds}
        for repeat in range(args.repeats):
            order = args.kinds if repeat % 2 == 0 else list(reversed(args.kinds))
            for kind in order:
                results[kind].append(run_configuration(kind, model_name, train_lines, sampler, dev, args))
        median = {k: statistics.median(r["real_tokens_per_s"] for r in v) for k, v in results.items()}
        for kind, runs in results.items():
            vs = {ref: (f"{median[kind] / median[ref]:.2f}×" if ref in median else "–") for ref in ("hf", "padded")}
            print(f"| {model_name} | {kind} | {statistics.median(r['lines_per_s'] for r in runs):.2f} | "
                  f"{median[kind]:.0f} | {statistics.median(r['positions_per_real_token'] for r in runs):.2f} | "
                  f"{statistics.median(r['dev_loss'] for r in runs):.3f} | {vs['hf']} | {vs['padded']} |", flush=True)  # fmt: skip
    print(f"\n# load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
