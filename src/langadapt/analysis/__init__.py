"""Analysis of results files: the long results table, the mixed-effects regression, figures, model cards.

Reads results JSONs, LAPT output files and saved models; never imports the training code. Figures live in the
open registry `FIGURES` (a name, or a ``module:function`` path).
"""

from . import embeddings as _embeddings  # noqa: F401  (registers embedding_pca)
from . import plots as _plots  # noqa: F401  (registers score_vs_flops, lapt_loss_curves, table_bars)
from .args import HIGH_RESOURCE, AnalysisArguments
from .curves import LaptRun, find_lapt_runs, read_lapt_run
from .embeddings import load_input_embeddings, pca_axes
from .figures import FIGURES, FigureContext, FigureOutput, NoFigureData, draw_figures, save_figure, write_figures
from .frame import FACTOR_FIELDS, field_value, results_frame
from .model_card import card_with_results, summarize_results, update_model_card
from .pipeline import AnalysisOutputs, run_analysis, update_model_cards
from .regression import (
    DEFAULT_FACTORS,
    FACTORS,
    MixedEffectsResult,
    RegressionOutcome,
    fit_mixed_effects,
    regressions_by_group,
)

__all__ = [
    "DEFAULT_FACTORS",
    "FACTORS",
    "FACTOR_FIELDS",
    "FIGURES",
    "HIGH_RESOURCE",
    "AnalysisArguments",
    "AnalysisOutputs",
    "FigureContext",
    "FigureOutput",
    "LaptRun",
    "MixedEffectsResult",
    "NoFigureData",
    "RegressionOutcome",
    "card_with_results",
    "draw_figures",
    "field_value",
    "find_lapt_runs",
    "fit_mixed_effects",
    "load_input_embeddings",
    "pca_axes",
    "read_lapt_run",
    "regressions_by_group",
    "results_frame",
    "run_analysis",
    "save_figure",
    "summarize_results",
    "update_model_card",
    "update_model_cards",
    "write_figures",
]
