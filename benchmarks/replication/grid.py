"""The replication grid: budgets, units (language, init method, LAPT mode, seed) in run order, and stage paths.

A unit is one fine-tuning seed of one adapted model. Work shared between units is cached per stage under the
work directory (tokenizer and fastText per language, replaced model per (language, init), LAPT model per
(language, init, mode)); the unit's own output is one results JSON under the results directory.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import field
from pathlib import Path

from langadapt import ConfigError, LangadaptParser, write_json
from langadapt.layout import UNIT_RESULTS_FILE

HERE = Path(__file__).resolve().parent
CONFIG_DIR = HERE / "configs"

# [ES] Table 1's init methods in the paper's row order, plus MEAN (not in the papers; see
# docs/methods.md#embedding-initialisation).
INIT_METHODS = ("random", "ident", "script", "script+posn", "script+posn+ident", "focus", "mean")
LAPT_MODES = ("full", "emb")
# Baselines keep the source vocabulary: init "source" with mode "none" (off the shelf) or a LAPT mode.
SOURCE_VOCAB = "source"
NO_LAPT = "none"


@dataclasses.dataclass
class Budget:
    """One compute budget (configs/<name>.yaml): the grid, the LAPT and the fine-tuning settings."""

    name: str = field(metadata={"help": "Budget name; results go to results/<name>/."})
    stages_from: str | None = field(
        default=None,
        metadata={
            "help": "Another budget whose cached stages (tokenizer … LAPT) this one reuses: every field not given "
            "is inherited from it, and only the fine-tuning (ft_*) and grid fields may differ from it."
        },
    )
    # Grid
    languages: list[str] = field(default_factory=lambda: ["myv", "sme"], metadata={"help": "Target languages."})
    init_methods: list[str] = field(default_factory=lambda: list(INIT_METHODS), metadata={"help": "Init specs."})
    lapt_modes: list[str] = field(default_factory=lambda: list(LAPT_MODES), metadata={"help": "LAPT modes."})
    baseline_modes: list[str] = field(
        default_factory=lambda: [NO_LAPT, "full"],
        metadata={"help": "Source-vocabulary baselines: 'none' = off the shelf, 'full' = full-vocabulary LAPT."},
    )
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3], metadata={"help": "Fine-tuning seeds."})
    # Data (NAME=PATH specs, one per language)
    source_model: str = field(default="e5-small", metadata={"help": "Source model dir, or 'e5-small' (local)."})
    lapt_train: list[str] = field(default_factory=list, metadata={"help": "LAPT/tokenizer text per language."})
    lapt_dev: list[str] = field(default_factory=list, metadata={"help": "LAPT dev text per language."})
    ud_train: list[str] = field(default_factory=list, metadata={"help": "UD training treebank per language."})
    ud_test: list[str] = field(default_factory=list, metadata={"help": "UD test treebank per language."})
    # Tokenizer and FOCUS
    vocab_size: int = field(default=16384, metadata={"help": "Target vocabulary size ([TX]'s smallest)."})
    tokenizer_sample_lines: int = field(default=100_000, metadata={"help": "Lines drawn to train SentencePiece."})
    fasttext_threads: int = field(default=1, metadata={"help": "fastText threads (1 is deterministic)."})
    random_distribution: str = field(
        default="auto",
        metadata={"help": "RANDOM rows (replace_vocab's --random_distribution; 'unit' = [ES]'s N(0, 1))."},
    )
    # LAPT
    lapt_steps: int = field(default=100_000, metadata={"help": "Optimizer steps (the same for every mode)."})
    lapt_freeze_fraction: float = field(default=0.1, metadata={"help": "FULL: body frozen for this share of steps."})
    lapt_batch_size: int = field(default=200, metadata={"help": "LAPT global batch (one process)."})
    lapt_gradient_accumulation: int = field(default=1, metadata={"help": "LAPT gradient accumulation steps."})
    lapt_max_seq_length: int = field(default=256, metadata={"help": "LAPT sequence length."})
    lapt_learning_rate: float = field(default=1e-5, metadata={"help": "LAPT peak learning rate (linear decay)."})
    lapt_max_grad_norm: float = field(default=0.5, metadata={"help": "LAPT gradient clipping."})
    lapt_eval_steps: int = field(default=1000, metadata={"help": "Dev MLM loss (and best checkpoint) interval."})
    lapt_dev_draws: int = field(default=2000, metadata={"help": "Dev lines for the MLM loss."})
    lapt_seed: int = field(default=42, metadata={"help": "LAPT seed (one LAPT run per model; seeds are FT seeds)."})
    # Fine-tuning (UD POS)
    ft_epochs: int = field(default=64, metadata={"help": "Max fine-tuning epochs."})
    ft_eval_every_epochs: int = field(default=2, metadata={"help": "Dev evaluation interval in epochs."})
    ft_patience_epochs: int = field(default=8, metadata={"help": "Early-stopping patience in epochs."})
    ft_learning_rate: float = field(default=5e-6, metadata={"help": "Fine-tuning learning rate (constant)."})
    ft_batch_size: int = field(default=72, metadata={"help": "Fine-tuning batch size."})
    ft_max_length: int = field(default=256, metadata={"help": "Fine-tuning window length in subwords."})
    ft_dev_size: int = field(default=300, metadata={"help": "Dev sentences held out of train (no UD dev split)."})
    ft_max_train_sentences: int = field(default=32768, metadata={"help": "Training cap ([ES]: 32,768)."})
    ft_max_dev_sentences: int | None = field(default=None, metadata={"help": "Evaluate on N dev sentences."})
    ft_max_test_sentences: int | None = field(default=None, metadata={"help": "Score only the first N test sents."})
    use_cpu: bool = field(default=False, metadata={"help": "Force CPU (LAPT and fine-tuning)."})
    num_threads: int | None = field(default=None, metadata={"help": "torch threads (None: torch's default)."})

    def spec(self, option: str, language: str) -> str:
        """The PATH of ``language`` in a NAME=PATH list option (e.g. ``ud_test``)."""
        for item in getattr(self, option):
            name, _, path = item.partition("=")
            if name == language:
                return path
        raise KeyError(f"budget {self.name!r}: no {option} entry for language {language!r}")

    @property
    def freeze_steps(self) -> int:
        return round(self.lapt_steps * self.lapt_freeze_fraction)


# Fields that choose which units run or how fast, not what a unit computes.
GRID_FIELDS = {"languages", "init_methods", "lapt_modes", "baseline_modes", "seeds", "num_threads"}
# Fields that only the fine-tuning stage reads: a budget with ``stages_from`` may differ from its base in these.
FINETUNE_FIELDS = {f.name for f in dataclasses.fields(Budget) if f.name.startswith("ft_")}
# Fields that name a budget rather than say what it computes.
IDENTITY_FIELDS = {"name", "stages_from"}


def stage_fields() -> list[str]:
    """The fields the cached stages (tokenizer, fastText, replaced model, LAPT) depend on."""
    excluded = GRID_FIELDS | FINETUNE_FIELDS | IDENTITY_FIELDS
    return [f.name for f in dataclasses.fields(Budget) if f.name not in excluded]


def budget_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    return CONFIG_DIR / f"{name_or_path}.yaml" if not path.suffix else path


def _given_fields(path: Path, overrides: Sequence[str]) -> set[str]:
    """The fields set in the YAML file or on the command line (``--field value`` or ``--field=value``)."""
    from langadapt.configs import load_flat_yaml

    flags = {o[2:].partition("=")[0] for o in overrides if o.startswith("--")}
    return set(load_flat_yaml(path)) | flags


def load_budget(name_or_path: str, overrides: Sequence[str] = ()) -> Budget:
    """configs/<name>.yaml (or a path), with ``--field value`` overrides; unknown keys raise ConfigError.

    A budget with ``stages_from: <base>`` takes every field it does not set from the base budget; a stage field
    (anything but ft_*, the grid and the name) set to another value than the base's raises ConfigError, since
    the LAPT models it reuses were not made with it."""
    path = budget_path(name_or_path)
    (budget,) = LangadaptParser(Budget).parse([str(path), *overrides])
    if budget.stages_from is None:
        return budget
    if budget.stages_from == budget.name:
        raise ConfigError(f"{path}: stages_from names the budget itself ({budget.name!r})")
    base = load_budget(budget.stages_from)
    given = _given_fields(path, overrides)
    for name in (f.name for f in dataclasses.fields(Budget) if f.name not in IDENTITY_FIELDS):
        if name not in given:
            setattr(budget, name, getattr(base, name))
    changed = [k for k in stage_fields() if getattr(budget, k) != getattr(base, k)]
    if changed:
        differences = "; ".join(f"{k}: {getattr(base, k)!r} there, {getattr(budget, k)!r} here" for k in changed)
        raise ConfigError(
            f"{path}: budget {budget.name!r} reuses the cached stages of {base.name!r} (stages_from) but changes "
            f"settings they were made with ({differences}); only fine-tuning (ft_*) fields may differ. Drop "
            "stages_from to build its own stages."
        )
    return budget


def check_work_dir_budget(budget: Budget, work_dir: Path) -> None:
    """Record the budget in ``<work_dir>/budget.json`` on first use; later raise ConfigError if a run with other
    settings (say ``--lapt_steps 800``) would reuse the stages cached there under the same name."""
    defaults = {
        f.name: f.default_factory() if callable(f.default_factory) else f.default for f in dataclasses.fields(budget)
    }
    current = {k: v for k, v in dataclasses.asdict(budget).items() if k not in GRID_FIELDS}
    path = work_dir / "budget.json"
    if not path.is_file():
        write_json(path, current)
        return
    saved = json.loads(path.read_text(encoding="utf-8"))
    changed = [k for k in current if saved.get(k, defaults[k]) != current[k]]
    if changed:
        differences = "; ".join(f"{k}: {saved.get(k, defaults[k])!r} there, {current[k]!r} now" for k in changed)
        raise ConfigError(
            f"{path}: budget {budget.name!r} differs from the one its cached stages were made with ({differences}). "
            "Give the changed budget its own --name (results and work directory follow it), or another --work_dir "
            "and --results_dir."
        )


@dataclasses.dataclass(frozen=True, order=False)
class Unit:
    language: str
    init: str  # an init spec, or "source" (the source vocabulary)
    mode: str  # a LAPT mode, or "none" (no LAPT)
    seed: int

    @property
    def model_key(self) -> tuple[str, str, str]:
        return self.language, self.init, self.mode

    @property
    def name(self) -> str:
        return f"{self.language}/{self.mode}/{self.init}/seed{self.seed}"

    def results_path(self, results_dir: str | Path) -> Path:
        return Path(results_dir) / self.language / self.mode / self.init / f"seed{self.seed}" / UNIT_RESULTS_FILE


def enumerate_units(
    budget: Budget,
    languages: Iterable[str] | None = None,
    modes: Iterable[str] | None = None,
    inits: Iterable[str] | None = None,
    seeds: Iterable[int] | None = None,
) -> list[Unit]:
    """Every unit in run order: per language, the off-the-shelf baseline, then each LAPT mode in the budget's
    order (full first) with its full-vocabulary baseline before the new-vocabulary init methods; the seeds of
    one model run together (they share its LAPT). Filters keep the order."""
    keep = lambda values, chosen: [v for v in values if chosen is None or v in set(chosen)]  # noqa: E731
    units = []
    for language in keep(budget.languages, languages):
        models = [(SOURCE_VOCAB, NO_LAPT)] if NO_LAPT in budget.baseline_modes else []
        for mode in budget.lapt_modes:
            if mode in budget.baseline_modes:
                models.append((SOURCE_VOCAB, mode))
            models += [(init, mode) for init in budget.init_methods]
        for init, mode in models:
            if (modes is None or mode in set(modes)) and (inits is None or init in set(inits)):
                units += [Unit(language, init, mode, seed) for seed in keep(budget.seeds, seeds)]
    return units


def pending_units(units: Sequence[Unit], results_dir: str | Path) -> list[Unit]:
    """The units whose results JSON does not exist yet (a rerun skips the finished ones)."""
    return [u for u in units if not u.results_path(results_dir).is_file()]


@dataclasses.dataclass(frozen=True)
class StagePaths:
    """Cached stage outputs under one work directory (each written atomically, reused when complete).

    ``shared_root`` holds the stages up to LAPT when they come from another budget (``stages_from``); the
    fine-tuning outputs and unit claims stay under ``root``."""

    root: Path
    shared_root: Path | None = None

    @property
    def stage_root(self) -> Path:
        return self.shared_root or self.root

    def tokenizer(self, language: str) -> Path:
        return self.stage_root / "tokenizer" / language

    def fasttext(self, language: str) -> Path:
        return self.stage_root / "fasttext" / f"{language}.bin"

    def source_mlm(self) -> Path:
        return self.stage_root / "source_mlm"

    def replaced(self, language: str, init: str) -> Path:
        return self.stage_root / "replaced" / language / init

    def lapt(self, language: str, init: str, mode: str) -> Path:
        return self.stage_root / "lapt" / language / init / mode

    def finetune(self) -> Path:
        return self.root / "finetune"

    def unit_claim(self, unit: Unit) -> Path:
        """Locked (``locks.exclusive``) by the process running ``unit``."""
        return self.root / "claims" / unit.name.replace("/", "__")
