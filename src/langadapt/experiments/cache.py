"""Cached stages: built once under a lock, reused when complete, refused when made with other settings.

Each stage output (a directory or file in the work directory) has a settings record beside it,
``<output>.settings.json``: what the stage was (or is being) built with. Reusing or resuming the stage with
other settings is a `StaleStageError` naming the fields that differ, instead of results silently mixing two
configurations; likewise a finished unit whose results were made with other settings (`check_settings`). An
unfinished stage made with other settings (a crashed run) is started over instead.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..configs import ConfigError
from ..io_utils import write_json
from .locks import exclusive

logger = logging.getLogger("langadapt.experiments")
PARTIAL = ".partial"  # where an unfinished LAPT stage trains


class StaleStageError(ConfigError):
    """A cached output was made with other settings than the ones asked for now."""


def settings_path(output: Path) -> Path:
    return output.with_name(output.name + ".settings.json")


def differences(saved: dict[str, Any], current: dict[str, Any], prefix: str = "") -> list[str]:
    """``key: old there, new now`` for every (nested) key whose value differs."""
    found = []
    for key in sorted(set(saved) | set(current)):
        old, new = saved.get(key, "<unset>"), current.get(key, "<unset>")
        if isinstance(old, dict) and isinstance(new, dict):
            found += differences(old, new, f"{prefix}{key}.")
        elif old != new:
            found.append(f"{prefix}{key}: {old!r} there, {new!r} now")
    return found


def check_settings(saved: dict[str, Any], current: dict[str, Any], where: Path, what: str) -> None:
    changed = differences(saved, current)
    if changed:
        shown = "; ".join(changed[:8]) + (f"; … ({len(changed)} fields)" if len(changed) > 8 else "")
        raise StaleStageError(
            f"{where}: {what} was made with other settings ({shown}). Use another work_dir/results_dir (or sweep "
            "name) for the new settings, or delete it to rebuild."
        )


def record_settings(output: Path, settings: dict[str, Any]) -> None:
    """Write the settings record of ``output``, or check it against an existing one."""
    path = settings_path(output)
    if path.is_file():
        check_settings(json.loads(path.read_text(encoding="utf-8")), settings, output, "this stage")
    else:
        write_json(path, settings)


def build_once(
    output: Path, settings: dict[str, Any], is_complete: Callable[[Path], bool], build: Callable[[], object]
) -> Path:
    """``output`` built by ``build()`` unless complete; under its lock, so that of several processes sharing the
    work directory one builds it and the others wait and reuse it. A stage's build may need earlier stages
    (LAPT → replaced model → tokenizer → data), so locks are always taken in that order: no deadlock."""
    if is_complete(output):
        if settings_path(output).is_file():
            record_settings(output, settings)
        return output
    with exclusive(output):
        if not is_complete(output):  # another process may have built it while this one waited
            forget_unfinished(output, settings)
            record_settings(output, settings)
            build()
        else:
            record_settings(output, settings)
    return output


def forget_unfinished(output: Path, settings: dict[str, Any]) -> None:
    """An unfinished build (a LAPT run's ``<output>.partial``) made with other settings cannot be resumed: drop it
    and its record, so that the stage starts over (nothing finished is lost)."""
    path = settings_path(output)
    if not path.is_file():
        return
    changed = differences(json.loads(path.read_text(encoding="utf-8")), settings)
    if changed:
        logger.warning("%s: settings changed since its unfinished build (%s): starting over", output, changed[0])
        shutil.rmtree(output.with_name(output.name + PARTIAL), ignore_errors=True)
        path.unlink()
