"""Tabular text data with a header row: TSV (``.tsv``) or CSV (``.csv``), standard CSV quoting.

SIB-200's files are TSV with the header ``index_id<TAB>category<TAB>text`` and fields quoted where they hold a
quote character; sentiment sets usually come as CSV. Rows come back with the file line they start on, so that
errors and warnings can name it.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

DELIMITERS = {".tsv": "\t", ".csv": ","}


class TabularError(ValueError):
    """Malformed tabular input; the message names the file (and line or column)."""


def is_tabular(path: str | Path) -> bool:
    return Path(path).suffix.lower() in DELIMITERS


def read_tabular(path: str | Path, columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """``(line number, row)`` for every data row; ``columns`` must be in the header and filled in every row."""
    path = Path(path)
    if not path.is_file():
        raise TabularError(f"{path}: file not found")
    delimiter = DELIMITERS.get(path.suffix.lower())
    if delimiter is None:
        raise TabularError(f"{path}: not a .tsv or .csv file")
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise TabularError(f"{path}: file is empty (expected a header row)")
        header = [name.strip() for name in header]
        missing = [c for c in columns if c not in header]
        if missing:
            raise TabularError(f"{path}: no column(s) {missing} in the header {header}")
        line_number = reader.line_num + 1
        for fields in reader:
            if fields and len(fields) != len(header):
                raise TabularError(f"{path}:{line_number}: {len(fields)} fields, but the header has {len(header)}")
            if fields:
                rows.append((line_number, dict(zip(header, fields))))
            line_number = reader.line_num + 1
    return rows


def read_header(path: str | Path) -> list[str]:
    """The column names of a .tsv/.csv file."""
    path = Path(path)
    delimiter = DELIMITERS.get(path.suffix.lower())
    if delimiter is None:
        raise TabularError(f"{path}: not a .tsv or .csv file")
    if not path.is_file():
        raise TabularError(f"{path}: file not found")
    with open(path, encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle, delimiter=delimiter), None)
    if header is None:
        raise TabularError(f"{path}: file is empty (expected a header row)")
    return [name.strip() for name in header]
