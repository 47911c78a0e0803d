"""The cost model's arithmetic, worked out by hand on a one-slot week."""

from __future__ import annotations

import pytest

from reporting import costmodel
from reporting.costmodel import Demand, Rates, SlotDemand


def rates(**kw) -> Rates:
    base = dict(
        hourly_rate=30.0,
        price_per_call=4.0,
        price_per_written=5.0,
        service_level=0.8,
        answer_within_seconds=20,
        shrinkage=0.25,
        max_occupancy=1.0,
        written_handling_seconds=360,
        min_agents=1,
    )
    return Rates(**{**base, **kw})


DEMAND = Demand(
    # One busy half-hour a week: 52 calls of 300 s (the worked example's 104 an hour).
    slots=(SlotDemand(weekday=0, half_hour=20, calls=52, aht_seconds=300),),
    calls_per_month=226,
    written_per_month=100,
)


def test_monthly_cost_by_hand():
    summary = costmodel.monthly_cost(DEMAND, rates())
    # Erlang C: 12 agents for 80 % within 20 s; paid: 12 / (1 − 0.25) = 16 agents for half
    # an hour = 8 agent-hours a week, × 365.25 / 12 / 7 weeks a month.
    (plan,) = summary.plans
    assert plan.staffing.agents == 12
    assert plan.scheduled == pytest.approx(16)
    weeks = 365.25 / 12 / 7
    assert summary.phone_hours == pytest.approx(8 * weeks)
    # Written: 100 × 360 s = 10 h, / occupancy 1 / (1 − 0.25) = 13.33 h.
    assert summary.written_hours == pytest.approx(10 / 0.75)
    hourly = (8 * weeks + 10 / 0.75) * 30
    assert summary.hourly_cost == pytest.approx(hourly)
    # Per contact: 226 calls × 4 € + 100 written × 5 € = 1,404 €.
    assert summary.per_contact_cost == pytest.approx(1404)
    assert summary.break_even_price == pytest.approx(hourly / 326)
    assert summary.cheaper == "per_contact"


def test_occupancy_cap_raises_the_hours():
    loose = costmodel.monthly_cost(DEMAND, rates())
    capped = costmodel.monthly_cost(DEMAND, rates(max_occupancy=0.6))
    # 8.67 Erlangs at most 60 % busy: 15 agents instead of 12.
    assert capped.plans[0].staffing.agents == 15
    assert capped.hourly_cost > loose.hourly_cost


def test_sensitivity_economies_of_scale_and_handling_time():
    grid = costmodel.sensitivity(DEMAND, rates())
    by_volume = [grid[(v, 1.0)].break_even_price for v in costmodel.VOLUME_FACTORS]
    # Erlang C pools calls: more volume needs proportionally fewer agents, so the break-even
    # price per contact falls as volume grows (agents come whole, so not at every step), and
    # rises with the handling time.
    assert by_volume[0] > by_volume[2] > by_volume[-1]
    by_aht = [grid[(1.0, a)].break_even_price for a in costmodel.AHT_FACTORS]
    assert by_aht == sorted(by_aht)
    assert grid[(1.0, 1.0)].hourly_cost == pytest.approx(
        costmodel.monthly_cost(DEMAND, rates()).hourly_cost
    )
