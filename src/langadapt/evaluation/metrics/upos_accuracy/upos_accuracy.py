"""UPOS accuracy over syntactic words, as an `evaluate` metric (wraps langadapt's `tag_accuracy`)."""

import datasets
import evaluate

from langadapt.evaluation.metrics.scores import tag_accuracy

_DESCRIPTION = """Word-level tag accuracy (UD UPOS accuracy over syntactic words, multiword tokens expanded).
A gold tag never seen in training counts as an error."""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of sentences, each a list of predicted tags (strings).
    references: list of sentences, each a list of gold tags, the same lengths.
Returns:
    accuracy: correct words / words; words: the number of words.
Example:
    >>> metric = evaluate.load("src/langadapt/evaluation/metrics/upos_accuracy")
    >>> metric.compute(predictions=[["NOUN", "VERB"]], references=[["NOUN", "ADJ"]])
    {'accuracy': 0.5, 'words': 2}
"""

_CITATION = ""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class UposAccuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("string")),
                    "references": datasets.Sequence(datasets.Value("string")),
                }
            ),
        )

    def _compute(self, predictions, references):
        return tag_accuracy(references, predictions)
