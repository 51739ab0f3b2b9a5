"""Mixed-effects regression: recovers known effects from synthetic grids, tests factors, reports warnings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from langadapt.analysis.frame import results_frame
from langadapt.analysis.regression import fit_mixed_effects, regressions_by_group

VOCAB_EFFECT = {"source": 0.0, "16k": 3.0, "32k": 5.0}
ALPHA_SLOPE = -10.0  # per unit of α
STEPS_SLOPE = 4.0  # per decade of LAPT steps


def synthetic_grid(languages: int = 14, noise: float = 0.5, group_sd: float = 2.0, seed: int = 0) -> pd.DataFrame:
    """A full grid (3 vocabularies × 3 α × 3 step budgets) per language with known fixed effects."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(languages):
        intercept = 50.0 + rng.normal(0.0, group_sd)
        for vocabulary, effect in VOCAB_EFFECT.items():
            for alpha in (0.1, 0.2, 0.3):
                for steps in (10_000, 100_000, 400_000):
                    score = intercept + effect + ALPHA_SLOPE * (alpha - 0.2) + STEPS_SLOPE * math.log10(steps)
                    rows.append({"language": f"l{k:02d}", "vocabulary": vocabulary, "alpha": alpha,
                                 "lapt_steps": steps, "score": score + rng.normal(0.0, noise)})  # fmt: skip
    return pd.DataFrame(rows)


def test_recovers_known_coefficients_and_tests_each_factor():
    result = fit_mixed_effects(synthetic_grid(), label="synthetic")
    estimates = {c.term: c for c in result.coefficients}
    expected = {
        "vocabulary[16k] (vs source)": 3.0,
        "vocabulary[32k] (vs source)": 5.0,
        "alpha (centred)": ALPHA_SLOPE,
        "log10(lapt_steps)": STEPS_SLOPE,
    }
    for term, value in expected.items():
        coefficient = estimates[term]
        assert coefficient.estimate == pytest.approx(value, abs=0.35), term
        assert coefficient.ci_low < value < coefficient.ci_high, term
        assert coefficient.p_value < 1e-6, term
    assert list(estimates) == ["Intercept", *expected]  # levels in natural order: 16k before 32k
    assert result.centres == {"alpha": pytest.approx(0.2)} and result.n_obs == 14 * 27 and len(result.groups) == 14
    assert result.group_variance == pytest.approx(4.0, rel=0.8)  # 14 languages: a rough estimate of sd² = 4
    tests = {t.factor: t for t in result.tests}
    assert [tests[f].df for f in ("vocabulary", "alpha", "lapt_steps")] == [2, 1, 1]
    assert all(t.p_value < 1e-6 and t.statistic > 50 for t in result.tests)
    assert not any("languages" in w for w in result.warnings)  # 14 ≥ 10 groups: no few-groups warning
    text = result.to_markdown()
    assert "| vocabulary[16k] (vs source) | 2.9" in text or "| vocabulary[16k] (vs source) | 3.0" in text
    assert "Likelihood-ratio tests" in text and "(1 | language)" in result.formula


def test_no_effect_factor_has_large_p_value():
    data = synthetic_grid(seed=2)
    rng = np.random.default_rng(5)
    data["init_method"] = rng.choice(["focus", "script"], size=len(data))  # unrelated to the score
    result = fit_mixed_effects(data, ["vocabulary", "init_method"])
    tests = {t.factor: t for t in result.tests}
    assert tests["init_method"].p_value > 0.01 and tests["vocabulary"].p_value < 1e-6


def test_few_languages_and_boundary_warnings_are_surfaced():
    data = synthetic_grid(languages=4, group_sd=0.0, seed=4)  # no language effect: variance at the boundary
    result = fit_mixed_effects(data)
    text = " ".join(result.warnings)
    assert "only 4 languages" in text
    assert "The MLE may be on the boundary" in text  # statsmodels' own warning, kept
    assert "language-intercept variance is estimated at 0" in text and "Warnings:" in result.to_markdown()
    # At the boundary the gradient optimizer stops at variance 0 with an infinite likelihood; such a fit must not
    # make a real effect look null in the likelihood-ratio test.
    tests = {t.factor: t for t in result.tests}
    assert all(tests[f].statistic > 100 and tests[f].p_value < 1e-6 for f in ("vocabulary", "alpha", "lapt_steps"))
    assert {c.term: c for c in result.coefficients}["log10(lapt_steps)"].estimate == pytest.approx(4.0, abs=0.3)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.assign(alpha=0.2), "field 'alpha' has one level"),
        (lambda d: d[d["language"] == "l00"], "fewer than two languages .*field 'language'"),
        (lambda d: d[d["vocabulary"] != "source"], "field 'vocabulary' has no baseline level 'source'"),
        (lambda d: d.assign(alpha=d["vocabulary"].map({"source": 0.1, "16k": 0.2, "32k": 0.3})), "confounded"),
    ],
)
def test_bad_input_names_the_field(change, match):
    with pytest.raises(ValueError, match=match):
        fit_mixed_effects(change(synthetic_grid(languages=3)))


def test_unknown_factor_is_an_error():
    with pytest.raises(ValueError, match="unknown factor.*'temperature'.*valid: vocabulary"):
        fit_mixed_effects(synthetic_grid(languages=3), ["vocabulary", "temperature"])


def test_rows_without_lapt_are_left_out_with_a_note():
    data = synthetic_grid(languages=3)
    off_the_shelf = data.head(3).assign(lapt_steps=0, vocabulary="source")
    result = fit_mixed_effects(pd.concat([data, off_the_shelf], ignore_index=True))
    assert result.n_obs == len(data) and any("lapt_steps ≤ 0 left out" in w for w in result.warnings)


def _records(languages, seeds=(1, 2)):
    """Results JSONs as finetune.py writes them, with the unit's grid factors as top-level keys."""
    rng = np.random.default_rng(0)
    records = []
    for language in languages:
        base = rng.normal(0.0, 0.02)
        for vocabulary, effect in VOCAB_EFFECT.items():
            for alpha in (0.1, 0.3):
                for steps in (1000, 10_000):
                    for seed in seeds:
                        acc = 0.5 + base + effect / 100 + 0.04 * math.log10(steps) + rng.normal(0, 0.005)
                        records.append({
                            "task": "pos", "language": language, "regime": "few_shot", "seed": seed,
                            "metric": "accuracy", "metrics": {"accuracy": acc}, "model": f"{vocabulary}-{alpha}-{steps}",
                            "vocabulary": vocabulary, "alpha": alpha, "lapt_steps": steps,
                        })  # fmt: skip
    return records


def test_groups_fit_separately_and_an_unfittable_group_says_why():
    frame = results_frame(_records(["myv", "sme", "kpv", "fi"]))
    assert set(frame.columns) >= {"vocabulary", "alpha", "lapt_steps", "score", "row"}
    assert frame["score"].between(0, 100).all()
    outcomes = regressions_by_group(frame, high_resource=["fi"])
    by_group = {o.resource: o for o in outcomes}
    low = by_group["low"].result
    assert low.groups == ["kpv", "myv", "sme"]
    steps = {c.term: c for c in low.coefficients}["log10(lapt_steps)"]
    assert steps.estimate == pytest.approx(4.0, abs=0.5)  # 0.04 per decade on the 0–1 scale → 4 points
    assert by_group["high"].result is None and "fewer than two languages" in by_group["high"].error
    with pytest.raises(ValueError, match="nothing could be fitted"):
        regressions_by_group(results_frame(_records(["myv"])), high_resource=[])
