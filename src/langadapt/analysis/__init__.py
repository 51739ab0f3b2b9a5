"""Analysis of results files: the long results table, the mixed-effects regression, figures, model cards.

Reads results JSONs, LAPT output files and saved models; never imports the training code. Figures live in the
open registry `FIGURES` (a name, or a ``module:function`` path).
"""

from . import embeddings as _embeddings  # noqa: F401  (registers embedding_pca)
from . import plots as _plots  # noqa: F401  (registers score_vs_flops, lapt_loss_curves, table_bars)
from .args import AnalysisArguments
from .figures import FIGURES, FigureContext, FigureOutput, NoFigureData
from .pipeline import run_analysis

__all__ = [
    "AnalysisArguments",
    "run_analysis",
    "FIGURES",
    "FigureContext",
    "FigureOutput",
    "NoFigureData",
]
