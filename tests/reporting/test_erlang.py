"""Erlang C against the published worked example, exact hand-computed values, the published
Erlang B table, and an independent simulation of the queue."""

from __future__ import annotations

import heapq
import math
import random
from fractions import Fraction

import pytest

from reporting.erlang import (
    agents_needed,
    average_speed_of_answer,
    erlang_b,
    erlang_c,
    service_level,
    traffic_erlangs,
)


def test_worked_example_104_calls_an_hour_of_300_seconds():
    # 104 calls in an hour, 300 s each: A = 104 × 300 / 3600 = 8.67 Erlangs (published as
    # 8.64); 12 agents answer about 83 % within 20 s, 11 agents fall well short of 80 %.
    traffic = traffic_erlangs(calls=104, aht_seconds=300, interval_seconds=3600)
    assert traffic == pytest.approx(8.64, abs=0.03)
    assert service_level(12, traffic, aht_seconds=300, target_seconds=20) == pytest.approx(
        0.83, abs=0.006
    )
    assert service_level(11, traffic, aht_seconds=300, target_seconds=20) < 0.70
    staffing = agents_needed(calls=104, aht_seconds=300, interval_seconds=3600)
    assert staffing.agents == 12
    assert staffing.occupancy == pytest.approx(8.667 / 12, abs=0.001)
    # With A exactly 8.64 the published figure holds too.
    assert service_level(12, 8.64, aht_seconds=300, target_seconds=20) == pytest.approx(
        0.83, abs=0.005
    )


def test_erlang_c_against_a_value_computed_by_hand():
    # A = 2 Erlangs, N = 3 agents:
    #   P(wait) = (A^N/N! · N/(N−A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N−A))
    #           = (8/6 · 3) / (1 + 2 + 2 + 4) = 4 / 9.
    a, n = Fraction(2), 3
    top = a**n / math.factorial(n) * Fraction(n) / (n - a)
    by_hand = top / (sum(a**k / math.factorial(k) for k in range(n)) + top)
    assert by_hand == Fraction(4, 9)
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9, rel=1e-12)
    # Mean wait: C · AHT / (N − A) = 4/9 × 180 s / 1 = 80 s.
    assert average_speed_of_answer(3, 2.0, aht_seconds=180) == pytest.approx(80.0)


@pytest.mark.parametrize(
    ("traffic", "blocking"),
    # The published Erlang B table, 10 circuits: 1 % at 4.46 E, 2 % at 5.08 E, 5 % at 6.22 E.
    [(4.46, 0.01), (5.08, 0.02), (6.22, 0.05)],
)
def test_erlang_b_matches_the_published_table(traffic, blocking):
    assert erlang_b(10, traffic) == pytest.approx(blocking, abs=0.0005)


def _simulate(agents: int, calls_per_second: float, aht: float, n_calls: int, seed: int):
    """An M/M/N queue, first come first served: the share of calls answered within 20 s."""
    rng = random.Random(seed)
    free_at = [0.0] * agents  # when each agent is next free
    heapq.heapify(free_at)
    clock, within = 0.0, 0
    for _ in range(n_calls):
        clock += rng.expovariate(calls_per_second)
        start = max(clock, heapq.heappop(free_at))
        within += start - clock <= 20
        heapq.heappush(free_at, start + rng.expovariate(1 / aht))
    return within / n_calls


def test_service_level_matches_a_simulated_queue():
    # An independent reference: simulate 120,000 calls of the worked example with 12 agents.
    simulated = _simulate(12, 104 / 3600, 300, 120_000, seed=7)
    formula = service_level(12, 104 * 300 / 3600, aht_seconds=300, target_seconds=20)
    assert simulated == pytest.approx(formula, abs=0.015)


def test_agents_needed_is_the_smallest_that_meets_the_target():
    for calls, aht in [(10, 240), (55, 300), (230, 420), (900, 180)]:
        s = agents_needed(calls=calls, aht_seconds=aht, target_level=0.8, target_seconds=20)
        assert s.service_level >= 0.8
        below = service_level(s.agents - 1, s.traffic, aht_seconds=aht, target_seconds=20)
        assert below < 0.8 or s.agents - 1 <= s.traffic


def test_occupancy_cap_and_minimum_agents():
    loose = agents_needed(calls=900, aht_seconds=180, target_level=0.5, target_seconds=60)
    capped = agents_needed(
        calls=900, aht_seconds=180, target_level=0.5, target_seconds=60, max_occupancy=0.8
    )
    assert capped.occupancy <= 0.8 < loose.occupancy
    assert agents_needed(calls=0.2, aht_seconds=300, min_agents=2).agents == 2
    assert agents_needed(calls=0, aht_seconds=300, min_agents=2).agents == 0


def test_overloaded_queue_never_meets_the_target():
    assert erlang_c(5, 6.0) == 1.0
    assert service_level(5, 6.0, aht_seconds=300, target_seconds=20) == 0.0
    assert average_speed_of_answer(5, 6.0, aht_seconds=300) == math.inf
