"""Fine-tuning step time with the full 250k-row embedding matrix vs the compact one (`--compact_vocabulary`).

multilingual-e5-small (the local conversion) with a POS tagging head; real batches: the first training sentences
of a UD treebank, encoded exactly as `recipes/finetune.py` does. The embedding rows kept are those of the ids in
the whole treebank file (train; the runner also adds dev and test). One step = forward + backward + AdamW
(lr 1e-4, no weight decay, as the fine-tuning recipe). The two models alternate step by step so that both see the
same machine load; the median over `--steps` steps after `--warmup` of each is reported.

    python benchmarks/bench_compact_vocab.py --threads 1 --steps 10
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import time

import torch

from langadapt.evaluation import (
    TaskOptions,
    WordCollator,
    WordLevelModel,
    compact_input_embeddings,
    encode_sentences,
    get_task,
    load_encoder,
    read_conllu,
)
from langadapt.models import load_e5_small


def one_step(model, optimizer, batch) -> float:
    start = time.perf_counter()
    loss = model(**batch)["loss"]
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--treebank", default="../shared/data/ud/UD_Erzya-JR/myv_jr-ud-train.conllu")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"# torch {torch.__version__}, {platform.processor() or platform.machine()}, threads {args.threads}")
    print(f"# load average before: {os.getloadavg()}")
    sentences = read_conllu(args.treebank)
    task = get_task("pos")
    label_sets = task.label_sets(sentences)
    tag_map = {t: i for i, t in enumerate(label_sets["labels"])}
    encoder, tokenizer = load_encoder(str(load_e5_small()))
    encoded, _ = encode_sentences(sentences, tokenizer, 128, tag_map)
    head = task.build_head(encoder.config.hidden_size, label_sets, TaskOptions())
    models = {"full": WordLevelModel(encoder, head).train()}
    models["compact"] = copy.deepcopy(models["full"])
    compact = compact_input_embeddings(models["compact"].encoder, [encoded], tokenizer.pad_token_id)
    rows, total = len(compact.used_ids), compact.full_weight.shape[0]
    collate = WordCollator(tokenizer.pad_token_id)
    data = {"full": encoded, "compact": compact.remap(encoded)}
    optimizers = {k: torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.0) for k, m in models.items()}
    times: dict[str, list[float]] = {"full": [], "compact": []}
    for i in range(args.warmup + args.steps):
        window = slice((i * args.batch) % (len(encoded) - args.batch), None)
        for name in ("full", "compact") if i % 2 == 0 else ("compact", "full"):
            batch = collate(data[name][window][: args.batch])
            elapsed = one_step(models[name], optimizers[name], batch)
            if i >= args.warmup:
                times[name].append(elapsed)
    print(f"# load average after: {os.getloadavg()}")
    params = {k: sum(p.numel() for p in m.parameters()) for k, m in models.items()}
    print(f"\n{len(sentences)} sentences of {args.treebank}; embedding rows kept: {rows:,} of {total:,}\n")
    print("| embeddings | parameters | median s/step | steps (s) | speed-up |")
    print("|---|---|---|---|---|")
    full = statistics.median(times["full"])
    for name in ("full", "compact"):
        median = statistics.median(times[name])
        steps = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"| {name} | {params[name] / 1e6:.1f}M | {median:.2f} | {steps} | {full / median:.2f}× |")


if __name__ == "__main__":
    main()
