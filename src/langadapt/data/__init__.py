"""The data layer: corpus specs and readers, cleaning filters, dev splits, α-sampling, ConceptNet sentences."""

from .args import DataPreparationArguments
from .conceptnet import (
    ConceptNetArguments,
    ConceptNetConverter,
    ConceptNetError,
    convert_conceptnet,
    load_templates,
    parse_concept,
)
from .corpus import (
    CorpusError,
    CorpusSpec,
    LineReader,
    TextSource,
    count_lines,
    iter_corpus_lines,
    parse_corpus_specs,
)
from .filters import (
    AlphabeticRatioFilter,
    ExactDuplicateFilter,
    FilterPipeline,
    FilterReport,
    LanguageIdFilter,
    LineFilter,
    MaxAverageWordLengthFilter,
    MaxWordLengthFilter,
    MinWordsFilter,
    NormalizedDuplicateFilter,
    normalize_for_dedup,
)
from .prepare import REPORT_FILE_NAME, build_filters, clean_corpus, split_corpus
from .sampling import AlphaSampler, LinePool, alpha_probabilities, build_sampler, parse_caps
from .splits import choose_dev_indices

__all__ = [
    "REPORT_FILE_NAME",
    "DataPreparationArguments",
    "build_filters",
    "clean_corpus",
    "split_corpus",
    "AlphaSampler",
    "ConceptNetArguments",
    "ConceptNetConverter",
    "ConceptNetError",
    "AlphabeticRatioFilter",
    "CorpusError",
    "CorpusSpec",
    "ExactDuplicateFilter",
    "FilterPipeline",
    "FilterReport",
    "LanguageIdFilter",
    "LineFilter",
    "LinePool",
    "LineReader",
    "MaxAverageWordLengthFilter",
    "MaxWordLengthFilter",
    "MinWordsFilter",
    "NormalizedDuplicateFilter",
    "TextSource",
    "alpha_probabilities",
    "build_sampler",
    "choose_dev_indices",
    "convert_conceptnet",
    "count_lines",
    "iter_corpus_lines",
    "load_templates",
    "normalize_for_dedup",
    "parse_caps",
    "parse_concept",
    "parse_corpus_specs",
]
