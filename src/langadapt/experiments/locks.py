"""Cross-process locks, so that several sweep processes can share one work directory and one grid.

Each cached stage is built under an exclusive lock on ``<output>.lock`` (a process that needs a stage another
one is building waits for it, then reuses it), and each unit is claimed with a non-blocking lock (a process
skips a unit another one is running). ``flock`` locks die with their process, so a killed run leaves no stale
lock behind; the empty ``*.lock`` files stay in the work directory and are harmless.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: one process at a time
    fcntl = None

logger = logging.getLogger("langadapt.experiments")


class LockHeld(RuntimeError):
    """Another process holds the lock (raised by ``exclusive(..., wait=False)``)."""


def lock_path(output: Path) -> Path:
    return output.with_name(output.name + ".lock")


def is_held(output: Path) -> bool:
    """Whether another process holds the lock of ``output`` now (creates nothing: no lock file, no holder)."""
    path = lock_path(output)
    if fcntl is None or not path.is_file():
        return False
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


@contextlib.contextmanager
def exclusive(output: Path, wait: bool = True) -> Iterator[None]:
    """Hold the lock of ``output`` (a stage directory or file, or a unit's name) while the block runs.

    ``wait=True`` blocks until the lock is free; ``wait=False`` raises LockHeld if another process holds it.
    """
    if fcntl is None:
        yield
        return
    path = lock_path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise LockHeld(f"{output} is being worked on by another process") from None
            logger.info("waiting for another process to finish %s", output)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
