"""Entity-level precision/recall/F1 (seqeval), as an `evaluate` metric (wraps langadapt's `entity_scores`)."""

import datasets
import evaluate

from langadapt.evaluation.metrics.scores import entity_scores

_DESCRIPTION = """Entity-level micro precision, recall and F1 of IOB2 tag sequences with seqeval, in its default
(conlleval-compatible) mode as XTREME and the Hub's "seqeval" metric report, or with strict_iob2=True only
well-formed IOB2 spans; plus word accuracy."""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of sentences, each a list of predicted IOB2 tags.
    references: list of sentences, each a list of gold IOB2 tags, the same lengths.
    strict_iob2: seqeval's strict mode with the IOB2 scheme (default False).
Returns:
    precision, recall, f1 (entity level, micro average), accuracy (word level).
Example:
    >>> metric = evaluate.load("src/langadapt/evaluation/metrics/entity_f1")
    >>> metric.compute(predictions=[["B-PER", "I-PER", "O"]], references=[["B-PER", "I-PER", "O"]])
    {'precision': 1.0, 'recall': 1.0, 'f1': 1.0, 'accuracy': 1.0}
"""

_CITATION = """@misc{seqeval,
  title={{seqeval}: A Python framework for sequence labeling evaluation},
  url={https://github.com/chakki-works/seqeval},
  author={Hiroki Nakayama},
  year={2018},
}"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class EntityF1(evaluate.Metric):
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

    def _compute(self, predictions, references, strict_iob2=False):
        return entity_scores(references, predictions, strict_iob2=strict_iob2)
