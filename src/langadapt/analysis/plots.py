"""The figures drawn from results: score against LAPT FLOPs ([ES] Fig. 4), LAPT dev loss curves, and a bar
chart of each report table (mean with std error bars)."""

from __future__ import annotations

import pandas as pd

from .figures import FIGURES, FigureContext, FigureOutput, NoFigureData, new_figure, slug

# 9 markers against 10 colours: every (colour, marker) pair is distinct for up to 90 rows.
MARKERS = "osD^v<>p*"
HATCHES = ("", "//", "..", "xx")  # bars: colours repeat after 10 rows, hatching tells them apart


def _style(k: int) -> dict[str, str]:
    return {"color": f"C{k % 10}", "marker": MARKERS[k % len(MARKERS)]}


def _legend_outside(figure, axes) -> None:
    """One legend for every panel, to the right of the plots (a long row list would hide the data)."""
    handles = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    if handles:
        figure.legend(handles.values(), handles.keys(), loc="outside right upper", fontsize="small")


@FIGURES.register("score_vs_flops")
def score_vs_flops(context: FigureContext) -> list[FigureOutput]:
    """Per (task, regime, metric): mean ± std score against total LAPT FLOPs (log scale), a line per series (the
    table row without its step/FLOPs fields) through its runs, a panel per language. Models without LAPT (no
    FLOPs) are left out."""
    frame = context.frame
    if frame is None or frame.empty:
        raise NoFigureData("no results records")
    data = frame.dropna(subset=["lapt_flops"])
    data = data[data["lapt_flops"].astype(float) > 0]
    if data.empty:
        raise NoFigureData("no results record has LAPT FLOPs (lapt_flops, lapt.flops.total or lapt.flops)")
    outputs = []
    for (task, regime, metric), part in data.groupby(["task", "regime", "metric"], sort=True):
        summary = (
            part.assign(lapt_flops=part["lapt_flops"].astype(float))
            .groupby(["series", "language", "lapt_flops"], sort=True)["score"]
            .agg(mean="mean", std="std", n="count")
            .reset_index()
        )
        summary["std"] = summary["std"].fillna(0.0)
        languages = sorted(summary["language"].unique())
        figure = new_figure(3.8 * len(languages) + 3.0, 4.2)  # + the legend beside the panels
        axes = figure.subplots(1, len(languages), sharey=True, squeeze=False)[0]
        rows = sorted(summary["series"].unique())
        for ax, language in zip(axes, languages):
            for k, row in enumerate(rows):
                points = summary[(summary["language"] == language) & (summary["series"] == row)]
                if points.empty:
                    continue
                ax.errorbar(points["lapt_flops"], points["mean"], yerr=points["std"], capsize=3, label=row,
                            **_style(k))  # fmt: skip
            ax.set_xscale("log")
            ax.tick_params(axis="x", which="both", labelrotation=30)  # labelled minor ticks on a short range
            ax.set_title(f"{task} ({regime}), {language}")  # no suptitle: the legend beside would overlap it
            ax.set_xlabel("total LAPT FLOPs")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel(f"{metric} (mean ± std over seeds)")
        _legend_outside(figure, axes)
        outputs.append(FigureOutput(f"score_vs_flops_{task}_{regime}_{metric}", figure, summary))
    return outputs


@FIGURES.register("lapt_loss_curves")
def lapt_loss_curves(context: FigureContext) -> list[FigureOutput]:
    """Dev MLM loss against the optimizer step, one line per LAPT run, the best step marked."""
    runs = [run for run in context.lapt_runs if run.curve]
    if not runs:
        raise NoFigureData("no LAPT run with a dev loss curve (lapt_dirs: lapt_results.json or trainer_state.json)")
    figure = new_figure()
    ax = figure.subplots()
    rows = []
    for k, run in enumerate(runs):
        steps, losses = zip(*run.curve)
        (line,) = ax.plot(steps, losses, label=run.name, markersize=4, **_style(k))
        if run.best_step is not None and run.best_step in steps:
            ax.plot([run.best_step], [losses[steps.index(run.best_step)]], marker="*", markersize=12,
                    color=line.get_color(), linestyle="none")  # fmt: skip
        rows += [{"run": run.name, "step": s, "dev_loss": v, "best": s == run.best_step} for s, v in run.curve]
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("dev MLM loss")
    ax.set_title("LAPT dev loss (★ = best checkpoint)")
    ax.grid(alpha=0.3)
    _legend_outside(figure, [ax])
    return [FigureOutput("lapt_dev_loss", figure, pd.DataFrame(rows))]


@FIGURES.register("table_bars")
def table_bars(context: FigureContext) -> list[FigureOutput]:
    """Each report table as grouped bars: a group per column (language, avg), a bar per row, std error bars."""
    tables = [t for t in context.tables if t.cells]
    if not tables:
        raise NoFigureData("no report table with results")
    outputs = []
    for table in tables:
        rows = []
        for row in table.rows:
            for column in table.columns:
                cell = table.cells.get((row, column))
                if cell is not None:
                    rows.append({"row": row, "column": column, "mean": cell.mean, "std": cell.std,
                                 "n": len(cell.values)})  # fmt: skip
        data = pd.DataFrame(rows)
        columns = [c for c in table.columns if c in set(data["column"])]
        figure = new_figure(max(5.0, 0.3 * len(table.rows) * len(columns) + 3.5), 4.4)
        ax = figure.subplots()
        width = 0.8 / len(table.rows)
        for k, row in enumerate(table.rows):
            mine = data[data["row"] == row].set_index("column")
            xs = [i + (k - (len(table.rows) - 1) / 2) * width for i, c in enumerate(columns) if c in mine.index]
            present = [c for c in columns if c in mine.index]
            if present:
                ax.bar(xs, mine.loc[present, "mean"], width, yerr=mine.loc[present, "std"], capsize=2, label=row,
                       color=f"C{k % 10}", hatch=HATCHES[(k // 10) % len(HATCHES)], edgecolor="white")  # fmt: skip
        ax.set_xticks(range(len(columns)), columns)
        ax.set_ylabel("mean ± std over seeds")
        ax.set_title(table.title or "results")
        _legend_outside(figure, [ax])
        ax.grid(axis="y", alpha=0.3)
        outputs.append(FigureOutput(f"bars_{slug(table.title or 'results')}", figure, data))
    return outputs
