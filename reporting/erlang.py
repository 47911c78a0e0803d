"""Erlang C: how many agents a stream of calls needs for a service level. Pure functions.

The model (M/M/N): calls arrive at random (Poisson) at a steady rate over an interval, each
takes an exponentially distributed handling time of mean `aht`, N agents answer them in
turn and callers wait in one queue (nobody hangs up). With A = calls × aht / interval the
traffic in Erlangs:

- Erlang B (blocking, computed by the stable recurrence B(0)=1, B(k)=A·B(k-1)/(k+A·B(k-1))),
- Erlang C, the probability that a call waits: C = N·B / (N − A·(1 − B)) for N > A,
- service level, the share answered within t seconds: 1 − C·exp(−(N − A)·t / aht),
- average speed of answer: C·aht / (N − A); occupancy A / N.

The published worked example (104 calls in an hour, 300 s handling time) gives A ≈ 8.67
Erlangs (often quoted as 8.64) and, with 12 agents, about 83 % of calls answered within 20 s;
`tests/reporting/test_erlang.py` checks it along with exact and simulated references.
"""

from __future__ import annotations

import math
from typing import NamedTuple


def traffic_erlangs(*, calls: float, aht_seconds: float, interval_seconds: float) -> float:
    """Offered traffic A in Erlangs: the average number of calls in progress."""
    if interval_seconds <= 0:
        raise ValueError("the interval must be positive")
    return max(calls, 0.0) * max(aht_seconds, 0.0) / interval_seconds


def erlang_b(agents: int, traffic: float) -> float:
    """Blocking probability of N servers offered A Erlangs (no queue)."""
    if agents < 0:
        raise ValueError("agents must be >= 0")
    b = 1.0
    for k in range(1, agents + 1):
        b = traffic * b / (k + traffic * b)
    return b


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that a call has to wait; 1.0 when the agents cannot keep up (N <= A)."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    b = erlang_b(agents, traffic)
    return agents * b / (agents - traffic * (1.0 - b))


def service_level(
    agents: int, traffic: float, *, aht_seconds: float, target_seconds: float
) -> float:
    """Share of calls answered within `target_seconds`."""
    if traffic <= 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    c = erlang_c(agents, traffic)
    return 1.0 - c * math.exp(-(agents - traffic) * target_seconds / aht_seconds)


def average_speed_of_answer(agents: int, traffic: float, *, aht_seconds: float) -> float:
    """Mean wait (seconds) over all calls; infinite when the agents cannot keep up."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return erlang_c(agents, traffic) * aht_seconds / (agents - traffic)


class Staffing(NamedTuple):
    """What one interval needs: agents on the phones and the resulting figures."""

    calls: float
    aht_seconds: float
    traffic: float
    agents: int
    service_level: float
    asa_seconds: float
    occupancy: float


def agents_needed(
    *,
    calls: float,
    aht_seconds: float,
    interval_seconds: float = 1800,
    target_level: float = 0.8,
    target_seconds: float = 20,
    max_occupancy: float = 1.0,
    min_agents: int = 0,
) -> Staffing:
    """The fewest agents that answer `target_level` of the calls within `target_seconds`
    without any agent busier than `max_occupancy` of the time (and at least `min_agents`
    whenever a call is expected)."""
    if not 0 < target_level < 1:
        raise ValueError("the target service level must lie strictly between 0 and 1")
    if not 0 < max_occupancy <= 1:
        raise ValueError("the maximum occupancy must lie in (0, 1]")
    traffic = traffic_erlangs(
        calls=calls, aht_seconds=aht_seconds, interval_seconds=interval_seconds
    )
    if traffic <= 0:
        return Staffing(calls, aht_seconds, 0.0, 0, 1.0, 0.0, 0.0)
    n = max(int(math.floor(traffic)) + 1, math.ceil(traffic / max_occupancy), min_agents, 1)
    # Erlang B grows by one agent at a time from B(n-1), so the search costs O(n) in all.
    b = erlang_b(n, traffic)
    while True:
        c = n * b / (n - traffic * (1.0 - b))
        level = 1.0 - c * math.exp(-(n - traffic) * target_seconds / aht_seconds)
        if level >= target_level:
            break
        n += 1
        b = traffic * b / (n + traffic * b)
    return Staffing(
        calls=calls,
        aht_seconds=aht_seconds,
        traffic=traffic,
        agents=n,
        service_level=level,
        asa_seconds=c * aht_seconds / (n - traffic),
        occupancy=traffic / n,
    )
