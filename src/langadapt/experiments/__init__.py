"""The experiment layer: a family experiment ([TX]) as one config, expanded into the existing stages.

`SweepConfig` declares corpora, a grid (vocabulary size × α × LAPT steps × init × LAPT mode), fixed stage settings
and a task list; `Sweep` expands it into models and units, builds each shared stage once (`SweepStages`, cached
and locked in a work directory) and writes one results JSON per unit and test language. ``recipes/sweep.py`` is
its command line; docs/experiments.md describes it.
"""

from .config import SweepConfig, SweepRunArguments
from .runner import Sweep

__all__ = [
    "Sweep",
    "SweepConfig",
    "SweepRunArguments",
]
