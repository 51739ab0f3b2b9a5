"""PCA of input-embedding matrices coloured by token script and word position ([ES] Fig. 2 and 5).

The principal axes are those of the first model (the source); every model's rows are projected onto them, so a
re-initialized vocabulary is seen in the source's own coordinates (copied rows land on the source's clusters,
random rows in a blob at the centre). Token categories are those the SCRIPT / SCRIPT+POSN methods use
(`langadapt.vocab.categories`); special tokens are left out; a random sample of rows keeps large vocabularies
readable.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from .figures import FIGURES, FigureContext, FigureOutput, NoFigureData, new_figure

# Where input embeddings are stored: BERT-style encoders; a tied MLM decoder when the encoder's copy is not saved.
EMBEDDING_SUFFIXES = ("embeddings.word_embeddings.weight", "embed_tokens.weight", "wte.weight", "decoder.weight")
TOP_SCRIPTS = 8


def load_input_embeddings(model_dir: str | Path) -> np.ndarray:
    """The input-embedding matrix of a saved model (``model.safetensors``, sharded or not) as float32."""
    from safetensors import safe_open

    model_dir = Path(model_dir)
    index = model_dir / "model.safetensors.index.json"
    if index.is_file():
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
    elif (model_dir / "model.safetensors").is_file():
        with safe_open(str(model_dir / "model.safetensors"), framework="pt") as handle:
            weight_map = {key: "model.safetensors" for key in handle.keys()}  # noqa: SIM118 (not a dict)
    else:
        raise FileNotFoundError(f"embedding_models: {model_dir} has no model.safetensors")
    for suffix in EMBEDDING_SUFFIXES:
        keys = sorted(k for k in weight_map if k.endswith(suffix))
        if keys:
            with safe_open(str(model_dir / weight_map[keys[0]]), framework="pt") as handle:
                return handle.get_tensor(keys[0]).float().numpy()
    raise KeyError(f"embedding_models: no input-embedding tensor (…{EMBEDDING_SUFFIXES[0]}) in {model_dir}")


def token_categories(model_dir: str | Path, rows: int) -> pd.DataFrame:
    """Per non-special token id below ``rows``: its string, script and word position."""
    from transformers import AutoTokenizer

    from ..vocab.categories import categorize, detect_convention

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    count = min(rows, len(tokenizer))
    tokens = tokenizer.convert_ids_to_tokens(list(range(count)))
    special = set(tokenizer.all_special_ids)
    ids = [i for i in range(count) if i not in special and tokens[i] is not None]
    kept = [tokens[i] for i in ids]
    model_type = getattr(getattr(tokenizer, "backend_tokenizer", None), "model", None)
    convention = detect_convention(kept, type(model_type).__name__ if model_type is not None else None)
    scripts, positions = categorize(kept, convention)
    return pd.DataFrame({"token_id": ids, "token": kept, "script": scripts, "position": positions})


def pca_axes(matrix: np.ndarray, components: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, the top principal axes (rows) and their share of the variance, from the covariance matrix."""
    mean = matrix.mean(axis=0)
    centred = matrix - mean
    covariance = centred.T @ centred / max(len(matrix) - 1, 1)
    values, vectors = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1][:components]
    share = values[order] / max(values.sum(), 1e-30)
    axes = vectors[:, order].T
    axes *= np.where(axes[:, :1] < 0, -1.0, 1.0)  # fix each axis's sign so reruns draw the same picture
    return mean, axes, share


@FIGURES.register("embedding_pca")
def embedding_pca(context: FigureContext) -> list[FigureOutput]:
    """Source and each re-initialized model in the source's first two principal components: top row coloured by
    script, bottom row by word-initial / word-internal position."""
    models = list(context.embedding_models)
    if not models:
        raise NoFigureData("no embedding_models given (NAME=MODEL_DIR, the source first)")
    matrices = {name: load_input_embeddings(path) for name, path in models}
    basis_name = models[0][0]
    dims = {name: m.shape[1] for name, m in matrices.items()}
    if len(set(dims.values())) > 1:
        raise ValueError(f"embedding_models: hidden sizes differ ({dims}); PCA needs one embedding space")
    rng = np.random.default_rng(context.seed)
    mean, axes, share = pca_axes(matrices[basis_name])
    frames = []
    for name, path in models:
        categories = token_categories(path, len(matrices[name]))
        if len(categories) > context.max_pca_points:
            pick = np.sort(rng.choice(len(categories), context.max_pca_points, replace=False))
            categories = categories.iloc[pick]
        projected = (matrices[name][categories["token_id"].to_numpy()] - mean) @ axes.T
        frames.append(categories.assign(model=name, pc1=projected[:, 0], pc2=projected[:, 1]))
    data = pd.concat(frames, ignore_index=True)[["model", "token_id", "token", "script", "position", "pc1", "pc2"]]
    common = [s for s, _ in Counter(data["script"]).most_common(TOP_SCRIPTS)]
    colour_scripts = data["script"].where(data["script"].isin(common), "other")
    figure = new_figure(3.2 * len(models), 6.4)
    grid = figure.subplots(2, len(models), sharex=True, sharey=True, squeeze=False)
    palette = {s: f"C{k}" for k, s in enumerate([*common, "other"])}
    for column, (name, _) in enumerate(models):
        mine = data["model"] == name
        for script in palette:
            chosen = mine & (colour_scripts == script)
            if chosen.any():
                grid[0, column].scatter(data.loc[chosen, "pc1"], data.loc[chosen, "pc2"], s=2, alpha=0.5,
                                        color=palette[script], label=script, rasterized=True)  # fmt: skip
        for position, colour in (("initial", "C0"), ("internal", "C3")):
            chosen = mine & (data["position"] == position)
            if chosen.any():
                grid[1, column].scatter(data.loc[chosen, "pc1"], data.loc[chosen, "pc2"], s=2, alpha=0.5,
                                        color=colour, label=f"word-{position}", rasterized=True)  # fmt: skip
        grid[0, column].set_title(name)
        grid[1, column].set_xlabel(f"PC1 of {basis_name} ({share[0]:.0%})")
    grid[0, 0].set_ylabel(f"PC2 ({share[1]:.0%}); by script")
    grid[1, 0].set_ylabel("PC2; by position")
    present = set(colour_scripts)
    grid[0, -1].legend(handles=[_dot(c, s) for s, c in palette.items() if s in present], fontsize="x-small")
    grid[1, -1].legend(handles=[_dot("C0", "word-initial"), _dot("C3", "word-internal")], fontsize="x-small")
    figure.suptitle("Input embeddings in the source's principal components")
    return [FigureOutput("embedding_pca", figure, data)]


def _dot(colour: str, label: str) -> Line2D:
    """A legend entry for a scatter colour (the same in every panel, whichever panels hold the category)."""
    return Line2D([], [], marker="o", linestyle="none", markersize=4, color=colour, label=label)
