"""The data layer: corpus specs and readers, cleaning filters, dev splits, α-sampling, ConceptNet sentences."""

from .args import DataPreparationArguments
from .conceptnet import ConceptNetArguments, convert_conceptnet
from .corpus import parse_corpus_specs
from .prepare import build_filters, clean_corpus, split_corpus
from .sampling import build_sampler

__all__ = [
    "DataPreparationArguments",
    "build_filters",
    "clean_corpus",
    "split_corpus",
    "ConceptNetArguments",
    "convert_conceptnet",
    "parse_corpus_specs",
    "build_sampler",
]
