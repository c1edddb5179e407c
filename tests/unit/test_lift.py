"""The lift's figures (baton.local.lift): pure, from generated customers with a known effect, fixed seeds."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from baton.app.holdout import in_holdout
from baton.local.lift import MIN_PER_GROUP, CustomerOutcome, lift, lift_lines, two_proportion_ci

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
KEY = b"a-deployment-address-salt-of-32-bytes-or-more"
WEEK = timedelta(days=7)


def generated(
    customers: int, treated_rate: float, held_rate: float, percent: float, seed: int
) -> list[CustomerOutcome]:
    """Customers assigned as the arbiter assigns them; each converts (a purchase 2 days after the first request)
    with its group's probability; a non-converter buys later, outside the window, one time in ten."""
    rng = random.Random(seed)
    out = []
    for n in range(customers):
        customer_id = f"shopper-{n}"
        held = in_holdout(KEY, customer_id, percent)
        first = START + timedelta(minutes=n)
        purchases: tuple[tuple[datetime, float | None], ...] = ()
        if rng.random() < (held_rate if held else treated_rate):
            purchases = ((first + timedelta(days=2), 50.0),)
        elif rng.random() < 0.1:
            purchases = ((first + timedelta(days=9), 50.0),)
        out.append(CustomerOutcome(customer_id, held, first, purchases))
    return out


def test_lift_recovers_a_known_effect_of_four_points_over_20000_customers() -> None:
    result = lift(generated(20_000, 0.12, 0.08, percent=10, seed=2026), WEEK)
    figures = result.as_json()
    assert figures["treatment_customers"] + figures["holdout_customers"] == 20_000
    assert 1_800 < figures["holdout_customers"] < 2_200
    assert abs(figures["treatment_conversion_rate"] - 0.12) < 0.01
    assert abs(figures["holdout_conversion_rate"] - 0.08) < 0.015
    low, high = figures["uplift_ci95"]
    assert low < 0.04 < high  # the interval covers the true 4 points
    assert low > 0  # and tells the effect from none
    assert figures["uplift_rel"] == pytest.approx(figures["uplift_abs"] / figures["holdout_conversion_rate"], 1e-4)
    assert figures["treatment_revenue_per_customer"] == pytest.approx(50 * figures["treatment_conversion_rate"], 1e-3)
    assert figures["too_few"] is None


def test_the_interval_covers_the_true_difference_about_95_times_in_100() -> None:
    covered = 0
    runs = 200
    for seed in range(runs):
        result = lift(generated(3_000, 0.12, 0.08, percent=30, seed=seed), WEEK)
        assert result.uplift_ci95 is not None
        low, high = result.uplift_ci95
        covered += low <= 0.04 <= high
    assert 0.90 <= covered / runs <= 0.99, covered


def test_two_proportion_interval_matches_the_textbook_formula() -> None:
    diff, low, high = two_proportion_ci(120, 1000, 80, 1000)
    se = (0.12 * 0.88 / 1000 + 0.08 * 0.92 / 1000) ** 0.5
    assert diff == pytest.approx(0.04)
    assert (low, high) == (pytest.approx(0.04 - 1.959964 * se, 1e-6), pytest.approx(0.04 + 1.959964 * se, 1e-6))


def test_purchases_outside_the_window_or_before_the_first_request_do_not_convert() -> None:
    before = CustomerOutcome("a", False, START, ((START - timedelta(hours=1), 10.0),))
    late = CustomerOutcome("b", False, START, ((START + WEEK + timedelta(seconds=1), 10.0),))
    inside = CustomerOutcome("c", False, START, ((START + WEEK, 10.0),))
    assert [o.converted(WEEK)[0] for o in (before, late, inside)] == [False, False, True]


def test_too_few_customers_is_said_and_no_interval_is_given() -> None:
    outcomes = generated(200, 0.5, 0.3, percent=5, seed=1)  # about 10 held out
    result = lift(outcomes, WEEK)
    assert result.uplift_ci95 is None
    assert result.enough is not None and "holdout group" in result.enough and str(MIN_PER_GROUP) in result.enough
    lines = lift_lines(result)
    assert any(line.startswith("95% confidence interval: not given: the holdout group has") for line in lines)
    assert result.as_json()["uplift_ci95"] is None and result.as_json()["too_few"] == result.enough


def test_no_conversions_in_a_group_is_said_rather_than_a_zero_width_interval() -> None:
    outcomes = [CustomerOutcome(f"t{n}", n % 2 == 0, START) for n in range(400)]
    result = lift(outcomes, WEEK)
    assert result.uplift_abs == 0 and result.uplift_rel is None
    assert result.uplift_ci95 is None and "0 conversions" in (result.enough or "")


def test_revenue_is_shown_only_when_purchases_carry_values() -> None:
    outcomes = [CustomerOutcome(f"t{n}", n < 50, START, ((START, None),) if n % 3 == 0 else ()) for n in range(200)]
    result = lift(outcomes, WEEK)
    assert result.as_json()["treatment_revenue_per_customer"] is None
    assert not any(line.startswith("revenue per customer") for line in lift_lines(result))
