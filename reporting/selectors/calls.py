"""The telephone figures and the call-centre cost page, from the half-hourly rollups."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import timedelta

from django.db.models import Sum
from django.db.models.functions import ExtractIsoWeekDay
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.models import Channel

from .. import charts, costmodel
from ..models import WAIT_THRESHOLDS, CallHalfHour, ContactHalfHour, CostRate
from ..tables import (
    Cell,
    Column,
    Page,
    Table,
    Tile,
    fmt_float,
    fmt_int,
    fmt_money,
    fmt_pct,
    fmt_seconds,
    ratio,
)
from .common import Scope

CALL_SUMS = (
    "offered",
    "answered",
    "abandoned",
    "wait_seconds",
    "handled",
    "handle_seconds",
    *(f"within_{t}" for t in WAIT_THRESHOLDS),
)
WRITTEN = (Channel.EMAIL, Channel.WEB, Channel.LETTER)
WEEKDAYS = (
    gettext_lazy("Mon"),
    gettext_lazy("Tue"),
    gettext_lazy("Wed"),
    gettext_lazy("Thu"),
    gettext_lazy("Fri"),
    gettext_lazy("Sat"),
    gettext_lazy("Sun"),
)
# A slot's own handling time is used once it has this many handled calls; below, the
# period's mean (a handful of calls says little about a half-hour's real handling time).
MIN_SLOT_CALLS = 20


def _calls_q(scope: Scope):
    return scope.rollup_q(channel=False, team=False)


def call_sums(scope: Scope) -> dict[str, int]:
    agg = CallHalfHour.objects.filter(_calls_q(scope)).aggregate(**{k: Sum(k) for k in CALL_SUMS})
    return {k: agg[k] or 0 for k in CALL_SUMS}


def slot_label(half_hour: int) -> str:
    start = half_hour * 30
    end = start + 30
    return f"{start // 60:02d}:{start % 60:02d}–{end // 60 % 24:02d}:{end % 60:02d}"


def rates_for(scope: Scope) -> tuple[CostRate, list[CostRate]]:
    """The rates in force at the end of the period, and the history (newest first)."""
    history = list(CostRate.objects.select_related("created_by").order_by("-valid_from")[:24])
    current = next((r for r in history if r.valid_from <= scope.filters.end), None)
    return current or CostRate(valid_from=scope.filters.start), history


def weekday_counts(scope: Scope) -> dict[int, int]:
    """How many Mondays, Tuesdays… the period holds (1 = Monday, as ISO)."""
    counts: dict[int, int] = defaultdict(int)
    day = scope.filters.start
    while day <= scope.filters.end:
        counts[day.isoweekday()] += 1
        day += timedelta(days=1)
    return counts


def demand_from_rollups(scope: Scope) -> tuple[costmodel.Demand, dict]:
    """The week's call pattern and the month's contacts, from the period's rollups."""
    f = scope.filters
    rows = list(
        CallHalfHour.objects.filter(_calls_q(scope))
        .annotate(_wd=ExtractIsoWeekDay("day"))
        .values("_wd", "half_hour")
        .annotate(**{k: Sum(k) for k in CALL_SUMS})
        .order_by()
    )
    written = list(
        ContactHalfHour.objects.filter(
            day__gte=f.start, day__lte=f.end, level=1, channel__in=list(WRITTEN)
        )
        .values("half_hour", "channel")
        .annotate(n=Sum("count"))
        .order_by()
    )
    counts = weekday_counts(scope)
    days = f.days
    totals = defaultdict(int)
    for r in rows:
        for k in CALL_SUMS:
            totals[k] += r[k] or 0
    mean_aht = ratio(totals["handle_seconds"], totals["handled"]) or 300.0
    slots = []
    for r in rows:
        occurrences = counts.get(r["_wd"], 0)
        if not occurrences or not r["offered"]:
            continue
        aht = r["handle_seconds"] / r["handled"] if r["handled"] >= MIN_SLOT_CALLS else mean_aht
        slots.append(
            costmodel.SlotDemand(
                weekday=r["_wd"] - 1,
                half_hour=r["half_hour"],
                calls=r["offered"] / occurrences,
                aht_seconds=aht,
            )
        )
    slots.sort(key=lambda s: (s.weekday, s.half_hour))
    written_total = sum(r["n"] for r in written)
    demand = costmodel.Demand(
        slots=tuple(slots),
        calls_per_month=totals["answered"] / days * costmodel.DAYS_PER_MONTH,
        written_per_month=written_total / days * costmodel.DAYS_PER_MONTH,
    )
    return demand, {"rows": rows, "written": written, "totals": totals, "mean_aht": mean_aht}


def _contacts_table(scope: Scope, raw: dict) -> Table:
    days = scope.filters.days
    per: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in raw["rows"]:
        per[r["half_hour"]][Channel.PHONE] += r["answered"] / days
    for r in raw["written"]:
        per[r["half_hour"]][r["channel"]] += r["n"] / days
    channels = [Channel.PHONE, *WRITTEN]
    table = Table(
        slug="contacts_half_hour",
        title=_("Contacts handled at level 1 per half-hour and channel (daily mean)"),
        columns=[
            Column("slot", _("Half-hour")),
            *(Column(c, scope.channel_name(c), "float") for c in channels),
            Column("total", _("Total"), "float"),
        ],
        description=_(
            "Answered calls (telephony) and inbound written contacts of level-1 tickets, per "
            "day of the period. Written contacts cover every brand."
        ),
    )
    for hh in sorted(per):
        values = [per[hh].get(c, 0.0) for c in channels]
        table.add(
            slot_label(hh),
            *values,
            sum(values),
            hrefs={1: scope.tickets_url(channel=Channel.PHONE, level=1)},
        )
    return table


def _waits_table(scope: Scope, raw: dict, within: int) -> Table:
    days = scope.filters.days
    per: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in raw["rows"]:
        for k in (
            "offered",
            "answered",
            "abandoned",
            "wait_seconds",
            "handled",
            "handle_seconds",
            f"within_{within}",
        ):
            per[r["half_hour"]][k] += r[k] or 0
    table = Table(
        slug="waits",
        title=_("Waiting and handling times per half-hour"),
        columns=[
            Column("slot", _("Half-hour")),
            Column("calls", _("Calls a day"), "float"),
            Column("sl", _("Answered within %(s)s s") % {"s": within}, "pct"),
            Column("asa", _("Mean wait"), "seconds"),
            Column("aht", _("Mean handling"), "seconds"),
            Column("abandon", _("Abandoned"), "pct"),
        ],
        description=_("From the call records: waits of answered calls, share of offered calls."),
    )
    for hh in sorted(per):
        p = per[hh]
        table.add(
            slot_label(hh),
            p["offered"] / days,
            ratio(p[f"within_{within}"], p["offered"]),
            ratio(p["wait_seconds"], p["answered"]),
            ratio(p["handle_seconds"], p["handled"]),
            ratio(p["abandoned"], p["offered"]),
        )
    return table


def _staffing_table(summary: costmodel.CostSummary, rates: costmodel.Rates) -> Table:
    by_slot: dict[int, dict[int, costmodel.SlotPlan]] = defaultdict(dict)
    for plan in summary.plans:
        by_slot[plan.demand.half_hour][plan.demand.weekday] = plan
    table = Table(
        slug="staffing",
        title=_("Agents needed on the phones per half-hour (Erlang C)"),
        columns=[
            Column("slot", _("Half-hour")),
            *(Column(f"d{i}", str(WEEKDAYS[i]), "int") for i in range(7)),
            Column("paid", _("Paid agent-hours a week"), "float"),
        ],
        description=_(
            "For %(sl)s of calls answered within %(s)s s, occupancy at most %(occ)s; paid "
            "hours add %(shr)s shrinkage."
        )
        % {
            "sl": fmt_pct(rates.service_level, 0),
            "s": rates.answer_within_seconds,
            "occ": fmt_pct(rates.max_occupancy, 0),
            "shr": fmt_pct(rates.shrinkage, 0),
        },
    )
    for hh in sorted(by_slot):
        plans = by_slot[hh]
        cells = []
        for d in range(7):
            plan = plans.get(d)
            if plan is None:
                cells.append(None)
                continue
            s = plan.staffing
            explain = _(
                "%(calls)s calls, handling %(aht)s: %(a)s Erlangs, %(sl)s within target"
            ) % {
                "calls": fmt_float(plan.demand.calls),
                "aht": fmt_seconds(plan.demand.aht_seconds),
                "a": fmt_float(s.traffic, 2),
                "sl": fmt_pct(s.service_level),
            }
            cells.append(Cell(s.agents, fmt_int(s.agents), title=explain))
        paid = sum(p.scheduled for p in plans.values()) * 0.5
        table.add(slot_label(hh), *cells, paid)
    return table


def _cost_table(summary: costmodel.CostSummary, rates: costmodel.Rates, demand) -> Table:
    table = Table(
        slug="monthly_cost",
        title=_("Monthly cost of the call centre"),
        columns=[
            Column("item", _("Item")),
            Column("quantity", _("Quantity"), "float"),
            Column("unit", _("Unit price"), "price"),
            Column("cost", _("Cost a month"), "money"),
        ],
    )
    table.add(
        _("Per hour: agent-hours for the phones"),
        summary.phone_hours,
        rates.hourly_rate,
        summary.phone_hours * rates.hourly_rate,
    )
    table.add(
        _("Per hour: agent-hours for written contacts"),
        summary.written_hours,
        rates.hourly_rate,
        summary.written_hours * rates.hourly_rate,
    )
    table.add(
        Cell(_("Paying per hour"), _("Paying per hour"), state="sum"),
        summary.hours,
        None,
        summary.hourly_cost,
    )
    table.add(
        _("Per contact: calls answered"),
        demand.calls_per_month,
        rates.price_per_call,
        demand.calls_per_month * rates.price_per_call,
    )
    table.add(
        _("Per contact: written contacts"),
        demand.written_per_month,
        rates.price_per_written,
        demand.written_per_month * rates.price_per_written,
    )
    table.add(
        Cell(_("Paying per contact"), _("Paying per contact"), state="sum"),
        summary.contacts,
        None,
        summary.per_contact_cost,
    )
    table.add(
        _("Break-even price per contact"),
        summary.contacts,
        summary.break_even_price,
        summary.hourly_cost,
    )
    return table


def _sensitivity_tables(demand, rates) -> list[Table]:
    grid = costmodel.sensitivity(demand, rates)
    be = Table(
        slug="sensitivity_break_even",
        title=_("Break-even price per contact by volume and handling time"),
        columns=[
            Column("volume", _("Volume")),
            *(
                Column(f"a{i}", _("handling ×%(f)s") % {"f": fmt_float(a, 2)}, "price")
                for i, a in enumerate(costmodel.AHT_FACTORS)
            ),
        ],
        description=_(
            "Below this price, paying per contact costs less than paying per hour. Erlang C "
            "is recomputed for each case: larger volumes need proportionally fewer agents."
        ),
    )
    costs = Table(
        slug="sensitivity_cost",
        title=_("Monthly cost by volume (handling time as observed)"),
        columns=[
            Column("volume", _("Volume")),
            Column("contacts", _("Contacts a month"), "int"),
            Column("hours", _("Paid agent-hours"), "int"),
            Column("hourly", _("Per hour"), "money"),
            Column("per_contact", _("Per contact"), "money"),
            Column("cheaper", _("Cheaper")),
        ],
    )
    for v in costmodel.VOLUME_FACTORS:
        label = _("×%(f)s") % {"f": fmt_float(v, 2)}
        be.add(label, *(grid[(v, a)].break_even_price for a in costmodel.AHT_FACTORS))
        s = grid[(v, 1.0)]
        costs.add(
            label,
            s.contacts,
            s.hours,
            s.hourly_cost,
            s.per_contact_cost,
            _("per contact") if s.cheaper == "per_contact" else _("per hour"),
        )
    return [be, costs]


def _rates_table(history: list[CostRate]) -> Table:
    table = Table(
        slug="rates",
        title=_("Rates and assumptions (history)"),
        columns=[
            Column("valid_from", _("Valid from")),
            Column("hourly_rate", _("Hourly rate"), "price"),
            Column("price_per_call", _("Per call"), "price"),
            Column("price_per_written", _("Per written contact"), "price"),
            Column("service_level", _("Service level")),
            Column("shrinkage", _("Shrinkage"), "pct"),
            Column("max_occupancy", _("Max. occupancy"), "pct"),
            Column("written_handling", _("Written handling"), "seconds"),
            Column("by", _("Entered by")),
        ],
        empty_text=_("No rates entered yet: the defaults apply."),
    )
    for r in history:
        table.add(
            r.valid_from.isoformat(),
            float(r.hourly_rate),
            float(r.price_per_call),
            float(r.price_per_written),
            f"{fmt_pct(float(r.service_level), 0)} / {r.answer_within_seconds} s",
            float(r.shrinkage),
            float(r.max_occupancy),
            r.written_handling_seconds,
            str(r.created_by or "—"),
        )
    return table


def cost_page(*, scope: Scope, overrides: dict | None = None) -> Page:
    """The cost model. `overrides` (what-if values from the query string) replace the rates
    in force for this view only."""
    rate, history = rates_for(scope)
    rates = costmodel.Rates.from_model(rate)
    if overrides:
        rates = replace(rates, **overrides)
    demand, raw = demand_from_rollups(scope)
    summary = costmodel.monthly_cost(demand, rates)
    page = Page(
        slug="cost",
        title=_("Call-centre cost model"),
        extra={"rates": rates, "rate": rate, "simulated": bool(overrides), "summary": summary},
    )
    contacts = _contacts_table(scope, raw)
    staffing = _staffing_table(summary, rates)
    # The chart shows a weekday (Monday to Friday, averaged): calls and agents per half-hour.
    weekday: dict[int, list] = defaultdict(lambda: [0.0, 0.0, 0])
    for plan in summary.plans:
        if plan.demand.weekday < 5:
            cell = weekday[plan.demand.half_hour]
            cell[0] += plan.demand.calls
            cell[1] += plan.staffing.agents
            cell[2] += 1
    slots = sorted(weekday)
    staffing.chart = charts.bar_chart(
        uid="staffing",
        title=_("A weekday: agents on the phones and calls per half-hour"),
        description=_(
            "Bars: agents needed (Monday–Friday mean); line: calls offered per half-hour."
        ),
        categories=[slot_label(h)[:5] for h in slots],
        series=[(_("Agents"), [weekday[h][1] / 5 for h in slots])],
        fmt=lambda v: fmt_float(v, 0),
        line=(_("Calls"), [weekday[h][0] / 5 for h in slots], lambda v: fmt_float(v, 0)),
    )
    page.tables = [
        _cost_table(summary, rates, demand),
        *_sensitivity_tables(demand, rates),
        staffing,
        contacts,
        _waits_table(scope, raw, rates.answer_within_seconds),
        _rates_table(history),
    ]
    totals = raw["totals"]
    observed = ratio(totals[f"within_{rates.answer_within_seconds}"], totals["offered"])
    page.tiles = [
        Tile(
            _("Paying per hour"),
            summary.hourly_cost,
            fmt_money(summary.hourly_cost),
            note=_("%(h)s agent-hours a month") % {"h": fmt_int(summary.hours)},
            state="ok" if summary.cheaper == "hourly" else "",
        ),
        Tile(
            _("Paying per contact"),
            summary.per_contact_cost,
            fmt_money(summary.per_contact_cost),
            note=_("%(n)s contacts a month") % {"n": fmt_int(summary.contacts)},
            state="ok" if summary.cheaper == "per_contact" else "",
        ),
        Tile(
            _("Break-even price per contact"),
            summary.break_even_price,
            fmt_money(summary.break_even_price, 2),
        ),
        Tile(
            _("Service level observed"),
            observed,
            fmt_pct(observed),
            note=_("target %(sl)s within %(s)s s")
            % {"sl": fmt_pct(rates.service_level, 0), "s": rates.answer_within_seconds},
        ),
        Tile(_("Mean handling time"), raw["mean_aht"], fmt_seconds(raw["mean_aht"])),
    ]
    return page
