"""Options of the analysis that ``recipes/report.py`` runs beside its tables: figures, regression, model cards."""

from __future__ import annotations

import dataclasses
from dataclasses import field

from .frame import parse_field_overrides
from .regression import DEFAULT_FACTORS, FACTORS

# [TX]'s high-resource Uralic languages (well covered in XLM-R's pre-training data), ISO 639-1 and 639-3.
HIGH_RESOURCE = ["fi", "fin", "et", "est", "hu", "hun"]


@dataclasses.dataclass
class AnalysisArguments:
    figures: list[str] = field(
        default_factory=lambda: ["auto"],
        metadata={
            "help": "Figures to write beside the tables (PNG + CSV): 'auto' = every registered figure whose input "
            "is there, 'none', or names (score_vs_flops, lapt_loss_curves, table_bars, embedding_pca, or a "
            "'module:function'); a figure named explicitly without its input is an error."
        },
    )
    lapt_dirs: list[str] = field(
        default_factory=list,
        metadata={"help": "Directories searched for LAPT runs (lapt_results.json / trainer_state.json) to plot."},
    )
    embedding_models: list[str] = field(
        default_factory=list,
        metadata={"help": "NAME=MODEL_DIR models for the embedding PCA; the first (the source) gives the axes."},
    )
    max_pca_points: int = field(default=4000, metadata={"help": "Tokens sampled per model in the PCA figure."})
    regression: bool = field(
        default=False,
        metadata={"help": "Fit the mixed-effects regression of scores on the grid factors (per task and group)."},
    )
    regression_factors: list[str] = field(
        default_factory=lambda: list(DEFAULT_FACTORS),
        metadata={"help": f"Fixed effects of the regression; valid: {', '.join(FACTORS)}."},
    )
    high_resource_languages: list[str] = field(
        default_factory=lambda: list(HIGH_RESOURCE),
        metadata={"help": "Languages fitted as the high-resource group; all others form the low-resource group."},
    )
    factor_fields: list[str] = field(
        default_factory=list,
        metadata={
            "help": "NAME=dotted.path: where a grid factor is read in the results JSONs (e.g. alpha=lapt.alpha)."
        },
    )
    model_cards: bool = field(
        default=False,
        metadata={"help": "Add each evaluated local model's results (and LAPT curve) to its README.md model card."},
    )

    def __post_init__(self):
        unknown = [name for name in self.regression_factors if name not in FACTORS]
        if unknown:
            raise ValueError(f"regression_factors: unknown factor(s) {unknown}; valid: {', '.join(FACTORS)}")
        parse_field_overrides(self.factor_fields)
        for spec in self.embedding_models:
            name, sep, path = spec.partition("=")
            if not sep or not name or not path:
                raise ValueError(f"embedding_models: expected NAME=MODEL_DIR, got {spec!r}")
        if self.max_pca_points < 1:
            raise ValueError(f"max_pca_points must be ≥ 1, got {self.max_pca_points}")
