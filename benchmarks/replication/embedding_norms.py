"""Row norms of the re-initialised embedding matrices against the source's: the scale each init method starts at.

    python benchmarks/replication/embedding_norms.py runs/replication/cpu_long runs/replication/cpu_long_unit

Prints a Markdown table: for each replaced model under ``<work_dir>/replaced/<lang>/<init>``, the mean and
median L2 norm of its word-embedding rows, and the source model's for comparison.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from transformers import AutoModel

sys.path.insert(0, str(Path(__file__).resolve().parent))

from grid import INIT_METHODS, load_budget  # noqa: E402
from stages import resolve_source  # noqa: E402


def row_norms(model_dir: str | Path) -> torch.Tensor:
    model = AutoModel.from_pretrained(str(model_dir))
    return model.get_input_embeddings().weight.detach().float().norm(dim=1)


def describe(label: str, norms: torch.Tensor) -> str:
    return f"| {label} | {len(norms):,} | {norms.mean():.3f} | {norms.median():.3f} |"


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "work_dirs", nargs="+", type=Path, help="Harness work directories (runs/replication/<budget>)."
    )
    parser.add_argument("--budget", default="cpu_long", help="Budget whose source model to compare with.")
    args = parser.parse_args(argv)
    paper_order = lambda init: INIT_METHODS.index(init) if init in INIT_METHODS else len(INIT_METHODS)  # noqa: E731
    lines = ["| embeddings | rows | mean row norm | median row norm |", "|---|---|---|---|"]
    lines.append(describe("source (multilingual-e5-small)", row_norms(resolve_source(load_budget(args.budget)))))
    for work_dir in args.work_dirs:
        for language_dir in sorted((work_dir / "replaced").glob("*")):
            for init in sorted((p.name for p in language_dir.iterdir() if p.is_dir()), key=paper_order):
                label = f"{work_dir.name} / {language_dir.name} / {init}"
                lines.append(describe(label, row_norms(language_dir / init)))
    table = "\n".join(lines)
    print(table)
    return table


if __name__ == "__main__":
    main()
