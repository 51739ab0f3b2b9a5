"""The data layer: corpus specs and readers, cleaning filters, dev splits and α-sampling."""

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
from .prepare import REPORT_FILE_NAME, DataPreparationArguments, build_filters, prepare_corpora
from .sampling import AlphaSampler, LinePool, alpha_probabilities, build_sampler, parse_caps
from .splits import choose_dev_indices

__all__ = [
    "REPORT_FILE_NAME",
    "DataPreparationArguments",
    "build_filters",
    "prepare_corpora",
    "AlphaSampler",
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
    "count_lines",
    "iter_corpus_lines",
    "normalize_for_dedup",
    "parse_caps",
    "parse_corpus_specs",
]
