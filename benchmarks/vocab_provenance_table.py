"""Render the provenance summaries of replaced-vocabulary models as a Markdown table.

python benchmarks/vocab_provenance_table.py runs/e5_myv_sme_spi runs/e5_myv_sme_focus
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from langadapt.layout import PROVENANCE_FILE
from langadapt.models import known_hub_id, portable_reference


def render(model_dirs: list[str]) -> str:
    records = [json.loads((Path(d) / PROVENANCE_FILE).read_text(encoding="utf-8")) for d in model_dirs]
    lines = []
    for record in records:
        summary = record["summary"]
        # Named by Hub id (or a relative path), never by the machine's local path of the conversion.
        source = (record.get("source_hub_id") or known_hub_id(record["source_model"])
                  or portable_reference(record["source_model"]))  # fmt: skip
        lines += [
            f"### `{record['init_spec']}` — {source} → {portable_reference(record['target_tokenizer'])} "
            f"({record['source_vocab_size']} → {record['vocab_size']} tokens, seed {record['seed']}, "
            f"source MLM head: {record['source_had_mlm_head']})",
            "",
            f"Exact-string overlap (non-special target tokens found in the source vocabulary): "
            f"{summary['overlap_count']} = {summary['overlap_rate']:.1%}"
            + (
                f"; FOCUS canonical overlap: {summary['focus_overlap_count']}"
                if "focus_overlap_count" in summary
                else ""
            ),
            "",
            "| method | rows | share | mean L2 norm | std of norm |",
            "|---|---|---|---|---|",
        ]
        norms = summary["norms"]
        for method, count in summary["counts_per_method"].items():
            stats = norms.get(method, {})
            lines.append(
                f"| {method} | {count} | {count / record['vocab_size']:.1%} | {stats.get('mean', 0):.4f} | "
                f"{stats.get('std', 0):.4f} |"
            )
        source = norms["source"]
        lines.append(f"| *(source rows)* | {source['count']} | | {source['mean']:.4f} | {source['std']:.4f} |")
        lines += ["", "| script | rows | by method |", "|---|---|---|"]
        for script, count in list(summary["counts_per_script"].items())[:8]:
            methods = ", ".join(f"{m} {n}" for m, n in summary["counts_per_script_and_method"][script].items())
            lines.append(f"| {script} | {count} | {methods} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(sys.argv[1:]))
