"""The experiment layer: a family experiment ([TX]) as one config, expanded into the existing stages.

`SweepConfig` declares corpora, a grid (vocabulary size × α × LAPT steps × init × LAPT mode), fixed stage settings
and a task list; `Sweep` expands it into models and units, builds each shared stage once (`SweepStages`, cached
and locked in a work directory) and writes one results JSON per unit and test language. ``recipes/sweep.py`` is
its command line; docs/experiments.md describes it.
"""

from .cache import StaleStageError, build_once, check_settings, differences, record_settings, settings_path
from .catalog import DataCatalog, Dataset, DatasetNotFound, split_file
from .config import (
    FACTORS,
    NO_LAPT,
    SOURCE_VOCAB,
    DatasetEntry,
    Pattern,
    SweepConfig,
    SweepConfigError,
    SweepRunArguments,
    TaskEntry,
    vocabulary_label,
)
from .grid import Model, Unit, expand_models, expand_units, lapt_predecessor, task_runs
from .locks import LockHeld, exclusive, lock_path
from .recipes import DEFAULT_RECIPES_DIR, STAGES, StageArguments
from .runner import ROW_FIELDS, Sweep, lapt_summary
from .stages import SweepStages, Workspace, check_lapt_settings, lapt_wall_time, link_tree

__all__ = [
    "DEFAULT_RECIPES_DIR",
    "FACTORS",
    "NO_LAPT",
    "ROW_FIELDS",
    "SOURCE_VOCAB",
    "STAGES",
    "DataCatalog",
    "Dataset",
    "DatasetEntry",
    "DatasetNotFound",
    "LockHeld",
    "Model",
    "Pattern",
    "StageArguments",
    "StaleStageError",
    "Sweep",
    "SweepConfig",
    "SweepConfigError",
    "SweepRunArguments",
    "SweepStages",
    "TaskEntry",
    "Unit",
    "Workspace",
    "build_once",
    "check_lapt_settings",
    "check_settings",
    "differences",
    "exclusive",
    "expand_models",
    "expand_units",
    "lapt_predecessor",
    "lapt_summary",
    "lapt_wall_time",
    "link_tree",
    "lock_path",
    "record_settings",
    "settings_path",
    "split_file",
    "task_runs",
    "vocabulary_label",
]
