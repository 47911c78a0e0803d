"""The call-centre cost model: staffing per half-hour by Erlang C, and the monthly cost of
paying the external call centre per hour or per contact. Pure: figures in, figures out.

Per hour, the group pays the agents the centre must schedule: for each half-hour of a typical
week, the agents Erlang C needs for the service level (at most `max_occupancy` busy), grossed
up for shrinkage (breaks, training, absence), plus the time written contacts take. Per
contact, it pays a price for each call answered and each written contact handled. The
break-even price is the single per-contact price at which both cost the same: below it,
paying per contact is cheaper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple

from .erlang import Staffing, agents_needed

DAYS_PER_MONTH = 365.25 / 12
WEEKS_PER_MONTH = DAYS_PER_MONTH / 7
SLOT_SECONDS = 1800
VOLUME_FACTORS = (0.7, 0.85, 1.0, 1.15, 1.3, 1.5)
AHT_FACTORS = (0.8, 0.9, 1.0, 1.1, 1.2)


@dataclass(frozen=True)
class Rates:
    hourly_rate: float
    price_per_call: float
    price_per_written: float
    service_level: float = 0.8
    answer_within_seconds: int = 20
    shrinkage: float = 0.3
    max_occupancy: float = 0.85
    written_handling_seconds: int = 420
    min_agents: int = 1

    @classmethod
    def from_model(cls, rate) -> Rates:
        return cls(
            hourly_rate=float(rate.hourly_rate),
            price_per_call=float(rate.price_per_call),
            price_per_written=float(rate.price_per_written),
            service_level=float(rate.service_level),
            answer_within_seconds=int(rate.answer_within_seconds),
            shrinkage=float(rate.shrinkage),
            max_occupancy=float(rate.max_occupancy),
            written_handling_seconds=int(rate.written_handling_seconds),
            min_agents=int(rate.min_agents),
        )


class SlotDemand(NamedTuple):
    """Calls in one half-hour of the week, averaged over the period's weeks."""

    weekday: int  # 0 = Monday
    half_hour: int  # 0 = 00:00–00:30
    calls: float
    aht_seconds: float


class SlotPlan(NamedTuple):
    demand: SlotDemand
    staffing: Staffing
    scheduled: float  # agents to pay: on the phones / (1 − shrinkage)


@dataclass(frozen=True)
class Demand:
    """What the centre handles in a month, and the week's call pattern."""

    slots: tuple[SlotDemand, ...]
    calls_per_month: float  # answered calls (paid per contact)
    written_per_month: float  # written contacts handled at level 1


@dataclass(frozen=True)
class CostSummary:
    phone_hours: float  # paid agent hours a month for the phones
    written_hours: float  # paid agent hours a month for written contacts
    hourly_cost: float
    per_contact_cost: float
    contacts: float
    break_even_price: float | None  # one price per contact that equals the hourly cost
    plans: tuple[SlotPlan, ...]

    @property
    def hours(self) -> float:
        return self.phone_hours + self.written_hours

    @property
    def cheaper(self) -> str:
        return "per_contact" if self.per_contact_cost < self.hourly_cost else "hourly"


def plan_slots(slots: Sequence[SlotDemand], rates: Rates) -> tuple[SlotPlan, ...]:
    plans = []
    for slot in slots:
        staffing = agents_needed(
            calls=slot.calls,
            aht_seconds=slot.aht_seconds,
            interval_seconds=SLOT_SECONDS,
            target_level=rates.service_level,
            target_seconds=rates.answer_within_seconds,
            max_occupancy=rates.max_occupancy,
            min_agents=rates.min_agents,
        )
        plans.append(SlotPlan(slot, staffing, staffing.agents / (1 - rates.shrinkage)))
    return tuple(plans)


# Both are pure and their inputs hashable: a page viewed again with the same rollups and rates
# (the common case between two refreshes) reuses the Erlang C figures instead of recomputing
# some 4,400 staffing searches.
@lru_cache(maxsize=64)
def monthly_cost(demand: Demand, rates: Rates) -> CostSummary:
    plans = plan_slots(demand.slots, rates)
    weekly_phone_hours = sum(p.scheduled for p in plans) * SLOT_SECONDS / 3600
    phone_hours = weekly_phone_hours * WEEKS_PER_MONTH
    written_hours = (
        demand.written_per_month
        * rates.written_handling_seconds
        / 3600
        / rates.max_occupancy
        / (1 - rates.shrinkage)
    )
    hourly_cost = (phone_hours + written_hours) * rates.hourly_rate
    per_contact_cost = (
        demand.calls_per_month * rates.price_per_call
        + demand.written_per_month * rates.price_per_written
    )
    contacts = demand.calls_per_month + demand.written_per_month
    return CostSummary(
        phone_hours=phone_hours,
        written_hours=written_hours,
        hourly_cost=hourly_cost,
        per_contact_cost=per_contact_cost,
        contacts=contacts,
        break_even_price=hourly_cost / contacts if contacts else None,
        plans=plans,
    )


def scaled(demand: Demand, *, volume: float = 1.0, aht: float = 1.0) -> Demand:
    """The same demand with `volume` times the contacts and `aht` times the handling time."""
    return replace(
        demand,
        slots=tuple(
            SlotDemand(s.weekday, s.half_hour, s.calls * volume, s.aht_seconds * aht)
            for s in demand.slots
        ),
        calls_per_month=demand.calls_per_month * volume,
        written_per_month=demand.written_per_month * volume,
    )


@lru_cache(maxsize=16)
def sensitivity(
    demand: Demand,
    rates: Rates,
    *,
    volumes: tuple[float, ...] = VOLUME_FACTORS,
    ahts: tuple[float, ...] = AHT_FACTORS,
) -> Mapping[tuple[float, float], CostSummary]:
    """The cost summary for each (volume factor, handling-time factor). Handling time also
    scales the written contacts' time, since agents write as slowly as they talk."""
    out: dict[tuple[float, float], CostSummary] = {}
    for v in volumes:
        for a in ahts:
            r = replace(rates, written_handling_seconds=round(rates.written_handling_seconds * a))
            out[(v, a)] = monthly_cost(scaled(demand, volume=v, aht=a), r)
    return MappingProxyType(out)
