"""Cross-process locks for the harness: the experiment layer's (`langadapt.experiments.locks`), so that several
harness processes can share one work directory and one grid."""

from langadapt.experiments.locks import LockHeld, exclusive, is_held, lock_path

__all__ = ["LockHeld", "exclusive", "is_held", "lock_path"]
