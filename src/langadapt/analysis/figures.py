"""The figure registry and writer: each figure is a PNG with the plotted data as a CSV beside it.

A figure is a function ``(FigureContext) -> list[FigureOutput]`` registered in `FIGURES` by name; outside code
registers its own with ``@FIGURES.register("name")`` or is named as ``package.module:function``. A function with
nothing to draw raises `NoFigureData` naming the input it lacked. Figures are drawn on `matplotlib.figure.Figure`
with the Agg canvas: no pyplot state, no display.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..io_utils import atomic_file
from ..registry import Registry

logger = logging.getLogger(__name__)
AUTO = "auto"  # every registered figure whose inputs are there
NONE = "none"


class NoFigureData(ValueError):
    """A figure was asked for but its input is empty; the message names the missing input."""


@dataclasses.dataclass
class FigureContext:
    """What figures are drawn from; every part is optional and a figure says which one it needs."""

    frame: pd.DataFrame | None = None  # `results_frame` of the results records
    tables: Sequence[Any] = ()  # report tables: .title, .rows, .columns, .cells[(row, col)] with .mean/.std/.values
    lapt_runs: Sequence[Any] = ()  # `LaptRun`s (dev loss curves)
    embedding_models: Sequence[tuple[str, Path]] = ()  # (name, model dir); the first is the PCA basis (the source)
    max_pca_points: int = 4000
    seed: int = 0


@dataclasses.dataclass
class FigureOutput:
    """One drawn figure: its file stem (``name``), the matplotlib figure and the data plotted."""

    name: str
    figure: Figure
    data: pd.DataFrame


FigureFunction = Callable[[FigureContext], list[FigureOutput]]
FIGURES: Registry[FigureFunction] = Registry("figure")


def new_figure(width: float = 6.4, height: float = 4.4) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def figure_stem(prefix: str | Path, name: str) -> Path:
    """Where a report's figure goes: ``PREFIX_fig_NAME`` (+ ``.png`` / ``.csv``)."""
    prefix = Path(prefix)
    return prefix.parent / f"{prefix.name}_fig_{slug(name)}"


def save_figure(output: FigureOutput, stem: str | Path, dpi: int = 120) -> list[Path]:
    """``STEM.png`` and the plotted data as ``STEM.csv``, each written atomically."""
    stem = Path(stem)
    png, csv = stem.parent / f"{stem.name}.png", stem.parent / f"{stem.name}.csv"
    with atomic_file(png, "wb") as handle:
        output.figure.savefig(handle, format="png", dpi=dpi)
    with atomic_file(csv) as handle:
        output.data.to_csv(handle, index=False)
    return [png, csv]


def draw_figures(names: Sequence[str], context: FigureContext) -> list[FigureOutput]:
    """The named figures (``auto``: every registered one whose input is there; ``none``: nothing). A figure named
    explicitly with no data is an error."""
    names = list(names)
    if NONE in names:
        if len(names) > 1:
            raise ValueError(f"figures: 'none' cannot be combined with other names ({names})")
        return []
    wanted = [*(n for n in names if n != AUTO), *(FIGURES.names() if AUTO in names else [])]
    outputs: list[FigureOutput] = []
    for name in dict.fromkeys(wanted):
        function = FIGURES.get(name)
        try:
            outputs += function(context)
        except NoFigureData as err:
            if name in names:
                raise NoFigureData(f"figure {name!r}: {err}") from err
            logger.info("figure %s skipped: %s", name, err)
    return outputs


def write_figures(names: Sequence[str], context: FigureContext, prefix: str | Path) -> list[Path]:
    written = []
    for output in draw_figures(names, context):
        written += save_figure(output, figure_stem(prefix, output.name))
    return written
