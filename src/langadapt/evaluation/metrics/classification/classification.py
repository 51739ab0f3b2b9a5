"""Accuracy and macro-F1 of one label per text, as an `evaluate` metric (wraps langadapt's
`classification_scores`)."""

import datasets
import evaluate

from langadapt.evaluation.metrics.scores import classification_scores

_DESCRIPTION = """Accuracy and macro-F1 for sequence classification (SIB-200 topics, sentiment). Macro-F1 averages
the per-class F1 over the classes present in the gold or predicted labels, as scikit-learn's
f1_score(average="macro") does."""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of predicted labels (strings).
    references: list of gold labels (strings).
Returns:
    accuracy, macro_f1; examples: the number of texts.
Example:
    >>> metric = evaluate.load("src/langadapt/evaluation/metrics/classification")
    >>> metric.compute(predictions=["sports", "travel"], references=["sports", "health"])
    {'accuracy': 0.5, 'macro_f1': 0.3333333333333333, 'examples': 2}
"""

_CITATION = ""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Classification(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

    def _compute(self, predictions, references):
        return classification_scores(references, predictions)
