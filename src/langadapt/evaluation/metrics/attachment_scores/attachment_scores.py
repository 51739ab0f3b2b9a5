"""UAS and LAS like the CoNLL 2018 evaluator, as an `evaluate` metric (wraps langadapt's `attachment_scores`)."""

import datasets
import evaluate

from langadapt.evaluation.metrics.scores import attachment_scores

_DESCRIPTION = """Unlabelled and labelled attachment scores over syntactic words (multiword tokens expanded, no
empty nodes, punctuation counted), as the CoNLL 2018 shared-task evaluator computes them with gold tokenization
(every word aligned, so its F1 equals accuracy). LAS compares universal relations (nmod:poss = nmod) unless
ignore_subtypes=False."""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of sentences, each {"heads": [int, ...], "deprels": [str, ...]} (head 0 = root).
    references: list of sentences in the same form (gold trees).
    ignore_subtypes: compare only the universal part of relations (default True, as CoNLL 2018).
Returns:
    uas, las: fractions of words; words: the number of words.
Example:
    >>> metric = evaluate.load("src/langadapt/evaluation/metrics/attachment_scores")
    >>> metric.compute(predictions=[{"heads": [2, 0], "deprels": ["nmod", "root"]}],
    ...                references=[{"heads": [2, 0], "deprels": ["nmod:poss", "root"]}])
    {'uas': 1.0, 'las': 1.0, 'words': 2}
"""

_CITATION = """@inproceedings{zeman-etal-2018-conll,
    title = "{C}o{NLL} 2018 Shared Task: Multilingual Parsing from Raw Text to {U}niversal {D}ependencies",
    author = "Zeman, Daniel and others",
    booktitle = "Proceedings of the {C}o{NLL} 2018 Shared Task",
    year = "2018",
}"""

_TREE = {"heads": datasets.Sequence(datasets.Value("int32")), "deprels": datasets.Sequence(datasets.Value("string"))}


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class AttachmentScores(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": _TREE, "references": _TREE}),
        )

    def _compute(self, predictions, references, ignore_subtypes=True):
        return attachment_scores(
            [r["heads"] for r in references],
            [r["deprels"] for r in references],
            [p["heads"] for p in predictions],
            [p["deprels"] for p in predictions],
            ignore_subtypes,
        )
