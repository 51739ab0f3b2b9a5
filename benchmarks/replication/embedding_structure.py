"""How much script and word-position structure a model's input embeddings have: the structure SCRIPT and
SCRIPT+POSN sample new rows from ([ES] §3), measured so that e5-small can be compared with what [ES] shows for
XLM-R (embeddings that cluster by script and by position in a PCA projection).

    python benchmarks/replication/embedding_structure.py                      # e5-small (budget cpu_long)
    python benchmarks/replication/embedding_structure.py --models runs/replication/cpu_long/lapt/myv/*/full/best

For each model (special tokens left out; token script and position as the SCRIPT heuristics define them,
``langadapt.vocab.categories``):

- **linear probes** (multinomial logistic regression on the standardised rows, trained on a random split,
  scored on held-out rows) for the script (scripts with at least ``--min_rows`` rows) and for word-initial vs
  word-internal (all rows, and within the largest scripts); accuracy and balanced accuracy (mean recall per
  class) with their chance baselines (majority class; 1 / classes) and the same probe trained on shuffled labels;
- **share of variance between groups** (η²: between-group over total sum of squares over all dimensions) for
  script, position and script × position, on the rows and on their first two principal components.

Prints a Markdown report (``--output`` writes it too).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from grid import load_budget  # noqa: E402

from langadapt import atomic_file  # noqa: E402
from langadapt.vocab.categories import INITIAL, categorize, detect_convention  # noqa: E402


@dataclass
class Rows:
    """The non-special rows of an input-embedding matrix with each token's script and position."""

    vectors: np.ndarray  # (n, dim) float32
    scripts: np.ndarray  # (n,) str
    positions: np.ndarray  # (n,) str


def load_rows(model_dir: str | Path) -> Rows:
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    weights = AutoModel.from_pretrained(str(model_dir)).get_input_embeddings().weight.detach().float().numpy()
    tokens = tokenizer.convert_ids_to_tokens(list(range(weights.shape[0])))
    keep = [i for i, t in enumerate(tokens) if t is not None and i not in set(tokenizer.all_special_ids)]
    kept_tokens = [tokens[i] for i in keep]
    scripts, positions = categorize(kept_tokens, detect_convention(kept_tokens))
    return Rows(weights[keep], np.array(scripts), np.array(positions))


def eta_squared(vectors: np.ndarray, labels: np.ndarray) -> float:
    """Between-group sum of squares over the total (summed over dimensions): the share of the rows' variance
    that the group means explain (0: no structure, 1: every row at its group's mean)."""
    centred = vectors - vectors.mean(axis=0)
    total = float((centred**2).sum())
    between = 0.0
    for label in np.unique(labels):
        members = centred[labels == label]
        between += len(members) * float((members.mean(axis=0) ** 2).sum())
    return between / total


def principal_components(vectors: np.ndarray, k: int = 2) -> tuple[np.ndarray, float]:
    """The rows projected on their first ``k`` principal components and the share of variance those explain."""
    centred = vectors - vectors.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:k].T, float((singular[:k] ** 2).sum() / (singular**2).sum())


@dataclass
class ProbeResult:
    classes: int
    train_rows: int
    test_rows: int
    accuracy: float
    balanced_accuracy: float
    majority_baseline: float  # accuracy of always answering the most frequent training class
    shuffled_accuracy: float  # the same probe trained on shuffled labels
    shuffled_balanced_accuracy: float


def _fit_logistic(x: torch.Tensor, y: torch.Tensor, classes: int, l2: float, iterations: int) -> torch.nn.Linear:
    torch.manual_seed(0)
    model = torch.nn.Linear(x.shape[1], classes)
    optimizer = torch.optim.LBFGS(model.parameters(), max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y) + l2 * model.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return model


def _scores(predicted: np.ndarray, truth: np.ndarray, classes: int) -> tuple[float, float]:
    recalls = [float((predicted[truth == c] == c).mean()) for c in range(classes) if (truth == c).any()]
    return float((predicted == truth).mean()), float(np.mean(recalls))


def linear_probe(
    vectors: np.ndarray,
    labels: Sequence[str],
    *,
    test_fraction: float = 0.2,
    max_train_rows: int = 50_000,
    l2: float = 1e-4,
    iterations: int = 200,
    seed: int = 0,
) -> ProbeResult:
    """Logistic regression from the (standardised) rows to ``labels``, scored on a held-out random split."""
    names, y = np.unique(np.asarray(labels), return_inverse=True)
    if len(names) < 2:
        raise ValueError(f"a probe needs at least 2 classes, got {list(names)}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    n_test = max(1, round(len(y) * test_fraction))
    test, train = order[:n_test], order[n_test:][:max_train_rows]
    mean, std = vectors[train].mean(axis=0), vectors[train].std(axis=0) + 1e-8
    x = lambda idx: torch.from_numpy(((vectors[idx] - mean) / std).astype(np.float32))  # noqa: E731
    x_train, x_test = x(train), x(test)

    def fit_and_score(train_labels: np.ndarray) -> tuple[float, float]:
        model = _fit_logistic(x_train, torch.from_numpy(train_labels), len(names), l2, iterations)
        with torch.no_grad():
            predicted = model(x_test).argmax(dim=1).numpy()
        return _scores(predicted, y[test], len(names))

    accuracy, balanced = fit_and_score(y[train])
    shuffled, shuffled_balanced = fit_and_score(rng.permutation(y[train]))
    majority = Counter(y[train].tolist()).most_common(1)[0][0]
    return ProbeResult(
        classes=len(names),
        train_rows=len(train),
        test_rows=len(test),
        accuracy=accuracy,
        balanced_accuracy=balanced,
        majority_baseline=float((y[test] == majority).mean()),
        shuffled_accuracy=shuffled,
        shuffled_balanced_accuracy=shuffled_balanced,
    )


def probe_row(name: str, result: ProbeResult) -> str:
    pct = lambda v: f"{100 * v:.1f}"  # noqa: E731
    return (
        f"| {name} | {result.classes} | {result.train_rows:,} / {result.test_rows:,} | {pct(result.accuracy)} | "
        f"{pct(result.majority_baseline)} | {pct(result.balanced_accuracy)} | {pct(1 / result.classes)} | "
        f"{pct(result.shuffled_accuracy)} / {pct(result.shuffled_balanced_accuracy)} |"
    )


def describe_model(label: str, rows: Rows, min_rows: int, position_scripts: int, **probe_args) -> list[str]:
    """The Markdown section of one model: group sizes, probes, shares of variance."""
    counts = Counter(rows.scripts.tolist())
    major = [s for s, n in counts.most_common() if n >= min_rows]
    in_major = np.isin(rows.scripts, major)
    lines = [
        f"### {label}",
        "",
        f"{len(rows.scripts):,} non-special rows of dimension {rows.vectors.shape[1]}; {len(counts)} scripts, "
        f"{len(major)} with ≥ {min_rows} rows ({100 * in_major.mean():.1f}% of the rows): "
        + ", ".join(f"{s} {counts[s]:,}" for s in major)
        + f"; word-initial {100 * (rows.positions == INITIAL).mean():.1f}%.",
        "",
        "| probe (held-out rows) | classes | train / test rows | accuracy | majority class | balanced acc. | "
        "chance (1/classes) | shuffled labels: acc. / balanced |",
        "|---|---|---|---|---|---|---|---|",
        probe_row("word-initial vs internal, all rows", linear_probe(rows.vectors, rows.positions, **probe_args)),
    ]  # fmt: skip
    if len(major) >= 2:
        script_probe = linear_probe(rows.vectors[in_major], rows.scripts[in_major], **probe_args)
        lines.insert(-1, probe_row(f"script ({len(major)} scripts)", script_probe))
    else:
        lines.insert(-1, f"| script | n/a: one script with ≥ {min_rows} rows | | | | | | |")
    for script in major[:position_scripts]:
        members = rows.scripts == script
        if len(set(rows.positions[members].tolist())) == 2:
            result = linear_probe(rows.vectors[members], rows.positions[members], **probe_args)
            lines.append(probe_row(f"word-initial vs internal, {script} rows", result))
    combined = np.char.add(np.char.add(rows.scripts, " "), rows.positions)
    pcs, pc_share = principal_components(rows.vectors[in_major])
    lines += [
        "",
        "| share of variance between groups (η²) | all dimensions | first 2 principal components |",
        "|---|---|---|",
        f"| script (the {len(major)} scripts' rows) | {eta_squared(rows.vectors[in_major], rows.scripts[in_major]):.3f}"
        f" | {eta_squared(pcs, rows.scripts[in_major]):.3f} |",
        f"| position (the same rows) | {eta_squared(rows.vectors[in_major], rows.positions[in_major]):.3f} | "
        f"{eta_squared(pcs, rows.positions[in_major]):.3f} |",
        f"| script × position (the same rows) | {eta_squared(rows.vectors[in_major], combined[in_major]):.3f} | "
        f"{eta_squared(pcs, combined[in_major]):.3f} |",
        "",
        f"The first two principal components explain {100 * pc_share:.1f}% of the variance of these rows.",
    ]
    return lines


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", default="cpu_long", help="Budget whose source model to describe.")
    parser.add_argument("--models", nargs="*", default=[], help="Other model directories to describe as well.")
    parser.add_argument("--no_source", action="store_true", help="Leave the budget's source model out.")
    parser.add_argument("--min_rows", type=int, default=500, help="Scripts with fewer rows are left out.")
    parser.add_argument("--position_scripts", type=int, default=2, help="Position probes within the N largest.")
    parser.add_argument("--max_train_rows", type=int, default=50_000, help="Probe training rows (at most).")
    parser.add_argument("--output", type=Path, help="Also write the report here.")
    args = parser.parse_args(argv)
    models = [] if args.no_source else [("source", _source(args.budget))]
    models += [(str(path), path) for path in args.models]
    lines = []
    for label, path in models:
        name = f"{label}: {path}" if label == "source" else label
        section = describe_model(name, load_rows(path), args.min_rows, args.position_scripts,
                                 max_train_rows=args.max_train_rows)  # fmt: skip
        print("\n".join(section), flush=True)  # each model as it is done: a long run keeps what it finished
        lines += [*section, ""]
    report = "\n".join(lines)
    if args.output is not None:
        with atomic_file(args.output) as out:
            out.write(report)
    return report


def _source(budget: str) -> str:
    from stages import resolve_source

    return resolve_source(load_budget(budget))


if __name__ == "__main__":
    main()
