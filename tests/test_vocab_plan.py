"""The init plan, the init-spec parser and sparsemax, on synthetic tensors."""

import pytest
import torch

from langadapt.vocab import INIT_METHODS, InitMethod, InitPlan, parse_init_spec
from langadapt.vocab.focus import sparsemax
from langadapt.vocab.plan import RandomGroup


def test_parse_init_spec_combines_by_precedence():
    assert [m.name for m in parse_init_spec("script+posn+ident")] == ["ident", "script+posn"]
    assert [m.name for m in parse_init_spec("ident+script+posn")] == ["ident", "script+posn"]
    assert [m.name for m in parse_init_spec("random+script+focus+ident+mean")] == [
        "ident",
        "focus",
        "mean",
        "script",
        "random",
    ]


def test_parse_init_spec_unknown_name_lists_valid_ones():
    with pytest.raises(KeyError, match="valid names: focus, ident, mean, random, script, script\\+posn"):
        parse_init_spec("script+wordpos")


def test_parse_init_spec_accepts_outside_callable():
    (method,) = parse_init_spec("langadapt.vocab.heuristics:init_identical")
    assert callable(method.apply)
    assert set(INIT_METHODS) >= {"ident", "script", "script+posn", "focus", "mean", "random"}


def test_outside_callable_ranks_after_copying_before_sampling_methods():
    """docs/vocab.md: an outside function runs after ident/focus/mean and before script+posn/script/random."""
    outside = "langadapt.vocab.heuristics:init_identical"
    order = [m.name for m in parse_init_spec(f"random+script+{outside}+script+posn+mean+focus+ident")]
    assert order == ["ident", "focus", "mean", outside, "script+posn", "script", "random"]
    # a module:attribute naming an InitMethod record keeps the precedence it declares
    order = [m.name for m in parse_init_spec("script+tests.test_vocab_plan:LATE_METHOD+script+posn")]
    assert order == ["script+posn", "script", "late"]


LATE_METHOD = InitMethod("late", 42, lambda context, plan: None)


def test_sparsemax_matches_simplex_projection():
    scores = torch.tensor([[1.0, 0.5, -1.0], [0.1, 0.1, 0.1], [3.0, 0.0, 0.0]])
    weights = sparsemax(scores)
    assert torch.allclose(weights.sum(1), torch.ones(3))
    assert torch.allclose(weights[0], torch.tensor([0.75, 0.25, 0.0]))
    assert torch.allclose(weights[1], torch.full((3,), 1 / 3))
    assert torch.allclose(weights[2], torch.tensor([1.0, 0.0, 0.0]))


def test_plan_copies_combines_and_samples_group_statistics():
    torch.manual_seed(0)
    source = torch.cat([torch.randn(3000, 4) * 0.5 + 3.0, torch.randn(3000, 4) * 2.0 - 1.0])
    bias = torch.cat([torch.full((3000,), 1.0), torch.full((3000,), -2.0)])
    plan = InitPlan(vocab_size=4003, source_vocab_size=6000)
    plan.add_copies(torch.tensor([0]), torch.tensor([5]), "ident")
    plan.add_combinations(torch.tensor([1, 1]), torch.tensor([0, 3000]), torch.tensor([0.25, 0.75]), "mean")
    first = RandomGroup("first", torch.arange(3000))
    second = RandomGroup("second", torch.arange(3000, 6000))
    fixed = RandomGroup("fixed", None, 0.0, 0.01)
    plan.add_samples(torch.arange(3, 2003), [first] * 2000, "script")
    plan.add_samples(torch.arange(2003, 4003), [second] * 2000, "script")
    plan.add_samples(torch.tensor([2]), [fixed], "random")
    rows = plan.apply(source, torch.Generator().manual_seed(0))
    assert rows.shape == (4003, 4)
    assert torch.equal(rows[0], source[5])
    assert torch.allclose(rows[1], 0.25 * source[0] + 0.75 * source[3000])
    assert torch.allclose(rows[3:2003].mean(0), source[:3000].mean(0), atol=0.05)
    assert torch.allclose(rows[3:2003].std(0), source[:3000].std(0), rtol=0.08)
    assert torch.allclose(rows[2003:].mean(0), source[3000:].mean(0), atol=0.2)
    assert torch.allclose(rows[2003:].std(0), source[3000:].std(0), rtol=0.08)
    # the bias follows the same plan: copy, same weights, group mean, fixed → source mean or zero
    new_bias = plan.apply(bias, torch.Generator().manual_seed(0))
    assert new_bias[0] == 1.0 and new_bias[1] == pytest.approx(0.25 - 1.5)
    assert torch.all(new_bias[3:2003] == 1.0) and torch.all(new_bias[2003:] == -2.0)
    assert new_bias[2] == pytest.approx(-0.5)
    assert plan.apply(bias, torch.Generator(), random_bias="zero")[2] == 0.0


def test_plan_refuses_double_assignment_and_gaps():
    plan = InitPlan(vocab_size=2, source_vocab_size=2)
    plan.add_copies(torch.tensor([0]), torch.tensor([1]), "ident")
    with pytest.raises(ValueError, match="already set by 'ident'"):
        plan.add_copies(torch.tensor([0]), torch.tensor([0]), "special")
    with pytest.raises(ValueError, match="no initialization"):
        plan.apply(torch.zeros(2, 3), torch.Generator())
