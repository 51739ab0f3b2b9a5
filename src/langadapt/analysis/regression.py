"""Linear mixed-effects regression of scores on the grid factors, as [TX] reads its Uralic grid.

score ~ vocabulary (categorical, baseline = the source vocabulary) + α (centred) + log10(LAPT steps), with a
random intercept per language (statsmodels ``MixedLM``), fitted separately for the low- and high-resource
languages. The coefficient table (estimate, 95% Wald interval, p-value) comes from the REML fit; the
likelihood-ratio test of each factor compares maximum-likelihood fits (``reml=False``) with and without it, since
REML likelihoods of models with different fixed effects are not comparable. Every warning statsmodels raises
(boundary, non-convergence, retries) and our own (few languages, dropped rows) is kept in the result and printed
with the table, never swallowed.
"""

from __future__ import annotations

import dataclasses
import io
import math
import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

CATEGORICAL, CENTRED, LOG10 = "categorical", "centred", "log10"
FEW_GROUPS = 10  # below this many languages the random-intercept variance is a guess


@dataclasses.dataclass(frozen=True)
class Factor:
    """A fixed effect: how a frame column enters the design (``baseline``: the reference level of a categorical)."""

    name: str
    kind: str
    baseline: str | None = None


FACTORS: dict[str, Factor] = {
    "vocabulary": Factor("vocabulary", CATEGORICAL, baseline="source"),
    "alpha": Factor("alpha", CENTRED),
    "lapt_steps": Factor("lapt_steps", LOG10),
    "init_method": Factor("init_method", CATEGORICAL),
    "lapt_mode": Factor("lapt_mode", CATEGORICAL),
}
DEFAULT_FACTORS = ("vocabulary", "alpha", "lapt_steps")


@dataclasses.dataclass
class Coefficient:
    term: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float


@dataclasses.dataclass
class LikelihoodRatioTest:
    factor: str
    df: int
    statistic: float
    p_value: float


@dataclasses.dataclass
class MixedEffectsResult:
    """One fitted regression: coefficients, likelihood-ratio tests, variance components and every warning."""

    label: str
    formula: str
    n_obs: int
    groups: list[str]
    coefficients: list[Coefficient]
    tests: list[LikelihoodRatioTest]
    group_variance: float
    residual_variance: float
    centres: dict[str, float]
    warnings: list[str]

    def to_markdown(self, digits: int = 3) -> str:
        f = f"{{:.{digits}f}}".format
        lines = [
            f"### Mixed-effects regression: {self.label}\n",
            f"`{self.formula}` — {self.n_obs} scores, {len(self.groups)} languages ({', '.join(self.groups)}); "
            f"language intercept variance {f(self.group_variance)}, residual variance {f(self.residual_variance)}"
            + "".join(f"; {name} centred at {c:g}" for name, c in self.centres.items())
            + ".\n",
            "| term | estimate | 95% CI | p |",
            "|---|---|---|---|",
        ]
        for c in self.coefficients:
            lines.append(f"| {c.term} | {f(c.estimate)} | [{f(c.ci_low)}, {f(c.ci_high)}] | {_p(c.p_value)} |")
        lines += ["", "Likelihood-ratio tests (ML fits, each factor dropped in turn):", ""]
        lines += ["| factor | df | χ² | p |", "|---|---|---|---|"]
        for t in self.tests:
            lines.append(f"| {t.factor} | {t.df} | {f(t.statistic)} | {_p(t.p_value)} |")
        if self.warnings:
            lines += ["", "Warnings:", *(f"- {w}" for w in self.warnings)]
        return "\n".join(lines) + "\n"


def _p(value: float) -> str:
    return "n/a" if not math.isfinite(value) else ("< 0.001" if value < 0.001 else f"{value:.3f}")


def _level_key(level: str) -> tuple[float, str]:
    """Natural order of levels: ``8k`` < ``16k`` < ``32000``; non-numeric levels after, alphabetically."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([kKmM]?)\s*", level)
    if not match:
        return (math.inf, level)
    try:
        number = float(match.group(1))
    except ValueError:
        return (math.inf, level)
    return (number * {"": 1, "k": 1e3, "m": 1e6}[match.group(2).lower()], level)


def _design(data: pd.DataFrame, factors: Sequence[Factor]) -> tuple[np.ndarray, list[str], dict[str, list[int]], dict]:
    """Fixed-effects matrix (intercept first), its column names, each factor's columns, and the centres used."""
    columns, names, spans, centres = [np.ones(len(data))], ["Intercept"], {}, {}
    for factor in factors:
        start = len(names)
        values = data[factor.name]
        if factor.kind == CATEGORICAL:
            levels = sorted({str(v) for v in values}, key=_level_key)
            baseline = factor.baseline if factor.baseline is not None else levels[0]
            if baseline not in levels:
                raise ValueError(
                    f"regression: field '{factor.name}' has no baseline level {baseline!r} (levels: {levels}); "
                    f"the {factor.name} effects are read against it"
                )
            for level in (lv for lv in levels if lv != baseline):
                columns.append((values.astype(str) == level).to_numpy(dtype=float))
                names.append(f"{factor.name}[{level}] (vs {baseline})")
        elif factor.kind == CENTRED:
            numbers = values.astype(float)
            centres[factor.name] = float(numbers.mean())
            columns.append((numbers - centres[factor.name]).to_numpy())
            names.append(f"{factor.name} (centred)")
        elif factor.kind == LOG10:
            columns.append(np.log10(values.astype(float).to_numpy()))
            names.append(f"log10({factor.name})")
        else:
            raise ValueError(f"regression: factor {factor.name!r} has unknown kind {factor.kind!r}")
        spans[factor.name] = list(range(start, len(names)))
    return np.column_stack(columns), names, spans, centres


def _check_rank(exog: np.ndarray, names: list[str]) -> None:
    """Name the first column that the earlier ones already explain (confounded factors, e.g. every 32k
    vocabulary run also being the only α = 0.3 run)."""
    for k in range(1, exog.shape[1] + 1):
        if np.linalg.matrix_rank(exog[:, :k]) < k:
            raise ValueError(
                f"regression: term '{names[k - 1]}' is a linear combination of the terms before it in these results "
                "(confounded factors); the grid must vary the factors independently, or leave one out"
            )


def _fit(endog, exog, groups, reml: bool, what: str, caught: list[tuple[str, str]]):
    """The best of statsmodels' default (gradient) optimizers and Powell's derivative-free method: with the
    language variance at zero (the boundary) the gradient methods can hit a singular matrix or stop at a
    variance of exactly 0 with an infinite likelihood. The fit with the highest finite likelihood among the
    converged ones is kept; every warning of every attempt is recorded as (fit, message)."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    attempts = []
    for method in (None, ["powell"]):
        name = "Powell" if method else "gradient"
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            try:
                attempt = MixedLM(endog, exog, groups=groups).fit(reml=reml, **({"method": method} if method else {}))
            except np.linalg.LinAlgError as err:
                attempt = None
                caught.append((what, f"{name} optimization failed ({err})"))
        caught.extend((what, f"{name} optimizer: {record.message}") for record in records)
        if attempt is not None and not math.isfinite(attempt.llf):
            caught.append((what, f"{name} optimization ended at a non-finite likelihood; discarded"))
        elif attempt is not None:
            attempts.append((name, attempt))
    if not attempts:
        raise ValueError(f"regression: {what} failed with every optimizer: " + "; ".join(m for _, m in caught))
    pool = [named for named in attempts if named[1].converged] or attempts
    kept, result = max(pool, key=lambda named: named[1].llf)
    if any(w == what for w, _ in caught):  # something went wrong on the way: say which fit the numbers are from
        caught.append((what, f"kept the {kept} optimizer's fit (the highest likelihood)"))
    if not result.converged:
        caught.append((what, "the optimizer did not converge; estimates may be unreliable"))
    if float(np.asarray(result.cov_re)[0, 0]) < 1e-6 * max(float(result.scale), 1e-12):
        caught.append((what, "the language-intercept variance is estimated at 0 (on the boundary of the parameter "
                             "space): the languages do not differ beyond the residual noise"))  # fmt: skip
    return result


def _merge_warnings(caught: list[tuple[str, str]]) -> list[str]:
    """One line per distinct message, naming the fits that raised it."""
    fits: dict[str, list[str]] = {}
    for what, message in caught:
        fits.setdefault(message, [])
        if what not in fits[message]:
            fits[message].append(what)
    return [f"{message} [{', '.join(whats)}]" for message, whats in fits.items()]


def fit_mixed_effects(
    frame: pd.DataFrame,
    factors: Sequence[str] = DEFAULT_FACTORS,
    response: str = "score",
    group: str = "language",
    label: str = "",
) -> MixedEffectsResult:
    """Fit ``response ~ factors + (1 | group)`` on the frame's rows (see the module docstring)."""
    unknown = [name for name in factors if name not in FACTORS]
    if unknown:
        raise ValueError(f"regression: unknown factor(s) {unknown}; valid: {', '.join(FACTORS)}")
    if not factors:
        raise ValueError("regression: no factors given")
    specs = [FACTORS[name] for name in factors]
    where = f" ({label})" if label else ""
    missing_cols = [c for c in (response, group, *factors) if c not in frame.columns]
    if missing_cols:
        raise ValueError(f"regression{where}: the results table has no field(s) {missing_cols}")
    notes = []
    data = frame.dropna(subset=[response, group, *factors])
    if len(data) < len(frame):
        absent = [name for name in factors if frame[name].isna().any()]
        notes.append(f"{len(frame) - len(data)} of {len(frame)} scores left out: no value for {absent}")
    if len(data) == 0:
        raise ValueError(f"regression{where}: no results record has every factor {list(factors)} set")
    for spec in specs:
        if spec.kind == LOG10:
            positive = data[spec.name].astype(float) > 0
            if not positive.all():  # off-the-shelf models (0 LAPT steps) have no log10(steps)
                dropped = int((~positive).sum())
                notes.append(f"{dropped} score{'s' * (dropped > 1)} with {spec.name} ≤ 0 left out (log10 undefined)")
                data = data[positive]
    for spec in specs:
        levels = sorted({str(v) for v in data[spec.name]}, key=_level_key)
        if len(levels) < 2:
            raise ValueError(
                f"regression{where}: field '{spec.name}' has one level ({', '.join(levels) or 'none'}); "
                "nothing to estimate: leave it out of the regression factors or add runs that vary it"
            )
    groups = sorted({str(g) for g in data[group]})
    if len(groups) < 2:
        raise ValueError(
            f"regression{where}: fewer than two languages (field '{group}': {groups}); a random intercept per "
            "language needs at least two"
        )
    if len(groups) < FEW_GROUPS:
        notes.append(
            f"only {len(groups)} languages (fewer than ~{FEW_GROUPS}): the language-intercept variance and the "
            "p-values rest on few groups; read them with caution"
        )
    exog, names, spans, centres = _design(data, specs)
    _check_rank(exog, names)
    endog = data[response].astype(float).to_numpy()
    group_ids = data[group].astype(str).to_numpy()
    caught: list[tuple[str, str]] = []
    reml = _fit(endog, exog, group_ids, True, "REML fit", caught)
    ml_full = _fit(endog, exog, group_ids, False, "ML fit (full model)", caught)
    k = exog.shape[1]
    interval = np.asarray(reml.conf_int(alpha=0.05))[:k]
    coefficients = [
        Coefficient(name, float(reml.fe_params[i]), float(reml.bse_fe[i]), float(interval[i, 0]),
                    float(interval[i, 1]), float(reml.pvalues[i]))
        for i, name in enumerate(names)
    ]  # fmt: skip
    tests = []
    for spec in specs:
        keep = [i for i in range(k) if i not in spans[spec.name]]
        reduced = _fit(endog, exog[:, keep], group_ids, False, f"ML fit without {spec.name}", caught)
        statistic = 2.0 * (ml_full.llf - reduced.llf)
        if statistic < -1e-6:
            caught.append((f"LR test of {spec.name}", "the full model fits worse than the reduced one (optimizer)"))
        statistic = max(statistic, 0.0)
        df = len(spans[spec.name])
        tests.append(LikelihoodRatioTest(spec.name, df, statistic, _chi2_sf(statistic, df)))
    terms = " + ".join(
        {CATEGORICAL: f"C({s.name})", CENTRED: f"{s.name}_centred", LOG10: f"log10({s.name})"}[s.kind] for s in specs
    )
    return MixedEffectsResult(
        label=label,
        formula=f"{response} ~ {terms} + (1 | {group})",
        n_obs=len(data),
        groups=groups,
        coefficients=coefficients,
        tests=tests,
        group_variance=float(np.asarray(reml.cov_re)[0, 0]),
        residual_variance=float(reml.scale),
        centres=centres,
        warnings=notes + _merge_warnings(caught),
    )


def _chi2_sf(statistic: float, df: int) -> float:
    from scipy.stats import chi2

    return float(chi2.sf(statistic, df))


@dataclasses.dataclass
class RegressionOutcome:
    """One (task, regime, metric, resource group): a result, or the reason it could not be fitted."""

    task: str
    regime: str
    metric: str
    resource: str
    result: MixedEffectsResult | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.task} ({self.regime}) {self.metric}, {self.resource}-resource languages"


def regressions_by_group(
    frame: pd.DataFrame, high_resource: Sequence[str], factors: Sequence[str] = DEFAULT_FACTORS
) -> list[RegressionOutcome]:
    """A regression per (task, regime, metric) and resource group ([TX]: low- and high-resource languages
    separately). A group that cannot be fitted keeps its reason; if none can, the reasons are raised together."""
    unknown = [name for name in factors if name not in FACTORS]
    if unknown:
        raise ValueError(f"regression: unknown factor(s) {unknown}; valid: {', '.join(FACTORS)}")
    if frame.empty:
        raise ValueError("regression: no scores to fit")
    high = set(high_resource)
    resource = frame["language"].map(lambda lang: "high" if lang in high else "low")
    outcomes = []
    for (task, regime, metric), part in frame.groupby(["task", "regime", "metric"], sort=True):
        for group in ("low", "high"):
            subset = part[resource.loc[part.index] == group]
            if subset.empty:
                continue
            outcome = RegressionOutcome(str(task), str(regime), str(metric), group)
            try:
                outcome.result = fit_mixed_effects(subset, factors, label=outcome.label)
            except ValueError as err:
                outcome.error = str(err)
            outcomes.append(outcome)
    if not any(o.result for o in outcomes):
        raise ValueError("regression: nothing could be fitted:\n" + "\n".join(f"- {o.error}" for o in outcomes))
    return outcomes


def outcomes_markdown(outcomes: Sequence[RegressionOutcome]) -> str:
    parts = ["## Mixed-effects regression\n"]
    for outcome in outcomes:
        if outcome.result is not None:
            parts.append(outcome.result.to_markdown())
        else:
            parts.append(f"### Mixed-effects regression: {outcome.label}\n\nNot fitted: {outcome.error}\n")
    return "\n".join(parts)


def outcomes_csv(outcomes: Sequence[RegressionOutcome], what: str) -> str:
    """``what`` = ``coefficients`` or ``tests``: one CSV row per term (or factor) of every fitted regression."""
    rows: list[dict[str, Any]] = []
    for o in outcomes:
        if o.result is None:
            continue
        key = {"task": o.task, "regime": o.regime, "metric": o.metric, "resource": o.resource}
        items = o.result.coefficients if what == "coefficients" else o.result.tests
        rows += [{**key, **dataclasses.asdict(item)} for item in items]
    out = io.StringIO()
    pd.DataFrame(rows).to_csv(out, index=False)
    return out.getvalue()
