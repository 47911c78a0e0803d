"""Service: backlog and age per team, SLA compliance (first answer, resolution) per level and
channel with the breaches, median and 90th-percentile times, first-contact resolution and
handling times.

The backlog is read live from the open tickets (the partial queue indexes cover exactly that
set, which stays small whatever the history); the breach list is a bounded, indexed query;
everything else comes from the rollups.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.db.models import Count, F, Min, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import OPEN_STATUSES, Ticket
from contacts.selectors import ticket_scope_q

from .. import charts
from ..filters import day_start
from ..models import DurationDaily, Measure
from ..tables import Column, Page, Table, Tile, fmt_int, fmt_pct, fmt_seconds, ratio
from .calls import call_sums
from .common import Scope, percentile, period_bounds, period_label, period_starts
from .volumes import TICKET_SUMS, ticket_sums

AGE_BUCKETS = ((0, 1), (1, 3), (3, 7), (7, 14), (14, 30), (30, None))  # days
BREACH_LIMIT = 25


def ticket_filter_q(scope: Scope, *, prefix: str = "") -> Q:
    """The page filters (brand, channel, team) on the Ticket table, within the user's scope."""
    f = scope.filters
    q = ticket_scope_q(scope.user)
    ids = scope.brand_ids()
    if f.brand and ids is not None:
        q &= Q(**{f"{prefix}brand_id__in": ids})
    if f.channel:
        q &= Q(**{f"{prefix}channel": f.channel})
    if f.team:
        q &= Q(**{f"{prefix}team_id": f.team})
    return q


def backlog_table(scope: Scope) -> Table:
    now = timezone.now()
    ages = {
        f"a{i}": Count(
            "pk",
            filter=Q(created_at__lte=now - timedelta(days=lo))
            & (Q(created_at__gt=now - timedelta(days=hi)) if hi else Q()),
        )
        for i, (lo, hi) in enumerate(AGE_BUCKETS)
    }
    rows = (
        Ticket.objects.filter(ticket_filter_q(scope), status__in=sorted(OPEN_STATUSES))
        .values("team_id")
        .annotate(
            open=Count("pk"),
            overdue=Count("pk", filter=Q(resolution_due_at__lt=now)),
            oldest=Min("created_at"),
            **ages,
        )
        .order_by()
    )
    age_labels = [_("< 1 d"), _("1–3 d"), _("3–7 d"), _("7–14 d"), _("14–30 d"), _("> 30 d")]
    table = Table(
        slug="backlog",
        title=_("Backlog and age per team (now)"),
        columns=[
            Column("team", _("Team")),
            Column("open", _("Open"), "int"),
            Column("overdue", _("Past resolution deadline"), "int"),
            *(Column(f"a{i}", label, "int") for i, label in enumerate(age_labels)),
            Column("oldest", _("Oldest (age)"), "seconds"),
        ],
        description=_("Open tickets today, whatever the period, by age since they were opened."),
        empty_text=_("No open ticket."),
    )
    rows = sorted(rows, key=lambda r: -r["open"])
    totals = defaultdict(int)
    for r in rows:
        team = r["team_id"] or "none"
        hrefs = {1: scope.tickets_url(metric="open", team=team, **_no_dates())}
        hrefs[2] = scope.tickets_url(metric="overdue", team=team, **_no_dates())
        for i, (lo, hi) in enumerate(AGE_BUCKETS):
            hrefs[3 + i] = scope.tickets_url(
                metric="open", team=team, age_min=lo, age_max=hi or "", **_no_dates()
            )
        values = [r[f"a{i}"] for i in range(len(AGE_BUCKETS))]
        for k in ("open", "overdue", *(f"a{i}" for i in range(len(AGE_BUCKETS)))):
            totals[k] += r[k]
        table.add(
            scope.team_name(r["team_id"]),
            r["open"],
            r["overdue"],
            *values,
            (now - r["oldest"]).total_seconds() if r["oldest"] else None,
            hrefs=hrefs,
        )
    table.total(
        _("Total"),
        totals["open"],
        totals["overdue"],
        *(totals[f"a{i}"] for i in range(len(AGE_BUCKETS))),
        None,
        hrefs={1: scope.tickets_url(metric="open", **_no_dates())},
    )
    table.chart = charts.bar_chart(
        uid="backlog",
        title=table.title,
        description=_("Open tickets per team, stacked by age; %(n)s open in all.")
        % {"n": fmt_int(totals["open"])},
        categories=[scope.team_name(r["team_id"]) for r in rows],
        series=[(age_labels[i], [r[f"a{i}"] for r in rows]) for i in range(len(AGE_BUCKETS))],
        fmt=fmt_int,
    )
    return table


def _no_dates() -> dict:
    # The backlog is "now": its links drop the period.
    return {"period": "all"}


def sla_table(scope: Scope, rows: list[dict]) -> Table:
    table = Table(
        slug="sla",
        title=_("SLA compliance per level and channel"),
        columns=[
            Column("level", _("Level")),
            Column("channel", _("Channel")),
            Column("tickets", _("Tickets"), "int"),
            Column("fr_due", _("First answers due"), "int"),
            Column("fr_rate", _("On time"), "pct"),
            Column("fr_breached", _("Late"), "int"),
            Column("res_due", _("Resolutions due"), "int"),
            Column("res_rate", _("On time"), "pct"),
            Column("res_breached", _("Late"), "int"),
        ],
        description=_(
            "Among tickets opened in the period whose deadline has passed or that were "
            "answered: the share answered (resolved) by the deadline. A first answer counts at "
            "the ticket's current level, against that level's deadline: after an escalation or "
            "a send-back, an answer given at the other level does not count."
        ),
    )
    rows = sorted(rows, key=lambda r: (r["level"], r["channel"]))
    tot = defaultdict(int)
    for r in rows:
        extra = {"level": r["level"], "channel": r["channel"]}
        for k in ("created", "fr_due", "fr_met", "res_due", "res_met"):
            tot[k] += r[k]
        table.add(
            scope.level_name(r["level"]),
            scope.channel_name(r["channel"]),
            r["created"],
            r["fr_due"],
            ratio(r["fr_met"], r["fr_due"]),
            r["fr_due"] - r["fr_met"],
            r["res_due"],
            ratio(r["res_met"], r["res_due"]),
            r["res_due"] - r["res_met"],
            hrefs={
                2: scope.tickets_url(**extra),
                3: scope.tickets_url(metric="fr_due", **extra),
                4: scope.tickets_url(metric="fr_met", **extra),
                5: scope.tickets_url(metric="fr_breached", **extra),
                6: scope.tickets_url(metric="res_due", **extra),
                7: scope.tickets_url(metric="res_met", **extra),
                8: scope.tickets_url(metric="res_breached", **extra),
            },
        )
    table.total(
        _("Total"),
        "",
        tot["created"],
        tot["fr_due"],
        ratio(tot["fr_met"], tot["fr_due"]),
        tot["fr_due"] - tot["fr_met"],
        tot["res_due"],
        ratio(tot["res_met"], tot["res_due"]),
        tot["res_due"] - tot["res_met"],
        hrefs={
            5: scope.tickets_url(metric="fr_breached"),
            8: scope.tickets_url(metric="res_breached"),
        },
    )
    return table


def times_table(scope: Scope) -> Table:
    """Median and 90th percentile of the time to first answer and to resolution."""
    rows = (
        DurationDaily.objects.filter(scope.rollup_q())
        .values("level", "channel", "measure", "bucket")
        .annotate(n=Sum("count"))
        .order_by()
    )
    hist: dict[tuple, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        hist[(r["level"], r["channel"], r["measure"])][r["bucket"]] += r["n"]
        hist[(None, None, r["measure"])][r["bucket"]] += r["n"]
    table = Table(
        slug="times",
        title=_("Times to first answer and to resolution"),
        columns=[
            Column("level", _("Level")),
            Column("channel", _("Channel")),
            Column("fr_n", _("Answered"), "int"),
            Column("fr_p50", _("First answer, median"), "seconds"),
            Column("fr_p90", _("First answer, 90th pct."), "seconds"),
            Column("res_n", _("Resolved"), "int"),
            Column("res_p50", _("Resolution, median"), "seconds"),
            Column("res_p90", _("Resolution, 90th pct."), "seconds"),
        ],
        description=_(
            "From the ticket's opening to its first answer at any level (else its resolution) "
            "and to its resolution; percentiles are read from a histogram (interpolated "
            "within buckets of 15 min to 120 days)."
        ),
    )
    keys = sorted({(lv, ch) for lv, ch, _m in hist if lv is not None})
    for level, channel in keys:
        fr = hist.get((level, channel, Measure.FIRST_RESPONSE), {})
        res = hist.get((level, channel, Measure.RESOLUTION), {})
        extra = {"level": level, "channel": channel}
        table.add(
            scope.level_name(level),
            scope.channel_name(channel),
            sum(fr.values()),
            percentile(fr, 0.5),
            percentile(fr, 0.9),
            sum(res.values()),
            percentile(res, 0.5),
            percentile(res, 0.9),
            hrefs={2: scope.tickets_url(**extra), 5: scope.tickets_url(metric="resolved", **extra)},
        )
    fr = hist.get((None, None, Measure.FIRST_RESPONSE), {})
    res = hist.get((None, None, Measure.RESOLUTION), {})
    table.total(
        _("All"),
        "",
        sum(fr.values()),
        percentile(fr, 0.5),
        percentile(fr, 0.9),
        sum(res.values()),
        percentile(res, 0.5),
        percentile(res, 0.9),
    )
    table.extra = {"fr": fr, "res": res}  # type: ignore[attr-defined]
    return table


def breaches_table(scope: Scope) -> Table:
    """The latest tickets of the period that missed a deadline (bounded list)."""
    f = scope.filters
    now = timezone.now()
    start, end = day_start(f.start), day_start(f.end + timedelta(days=1))
    late = (
        Q(resolved_at__isnull=False, resolved_at__gt=F("resolution_due_at"))
        | Q(resolved_at__isnull=True, resolution_due_at__lt=now)
        # The first answer at the current level (else the resolution) against that level's
        # deadline, as the rollups count it.
        | Q(level_first_responded_at__gt=F("first_response_due_at"))
        | Q(level_first_responded_at__isnull=True, resolved_at__gt=F("first_response_due_at"))
        | Q(
            level_first_responded_at__isnull=True,
            resolved_at__isnull=True,
            first_response_due_at__lt=now,
        )
    )
    tickets = list(
        Ticket.objects.filter(
            ticket_filter_q(scope), late, created_at__gte=start, created_at__lt=end
        )
        .select_related("brand", "team")
        .only(
            "reference",
            "subject",
            "level",
            "channel",
            "status",
            "created_at",
            "first_response_due_at",
            "level_first_responded_at",
            "resolution_due_at",
            "resolved_at",
            "brand__name",
            "team__name",
        )
        .order_by("-created_at", "-id")[:BREACH_LIMIT]
    )
    table = Table(
        slug="breaches",
        title=_("Latest SLA breaches"),
        columns=[
            Column("reference", _("Ticket")),
            Column("opened", _("Opened")),
            Column("brand", _("Brand")),
            Column("team", _("Team")),
            Column("level", _("Level")),
            Column("channel", _("Channel")),
            Column("missed", _("Deadline missed")),
            Column("late_by", _("Late by"), "seconds"),
        ],
        description=_("The %(n)s most recent tickets of the period that missed a deadline.")
        % {"n": BREACH_LIMIT},
        empty_text=_("No breach in this period."),
    )
    for t in tickets:
        if t.resolution_due_at and (t.resolved_at or now) > t.resolution_due_at:
            missed, late_by = _("resolution"), (t.resolved_at or now) - t.resolution_due_at
        else:
            answered = t.level_first_responded_at or t.resolved_at or now
            missed, late_by = _("first answer"), answered - t.first_response_due_at
        table.add(
            t.reference,
            timezone.localtime(t.created_at).strftime("%d/%m/%Y %H:%M"),
            t.brand.name if t.brand else "—",
            t.team.name if t.team else "—",
            t.level,
            scope.channel_name(t.channel),
            missed,
            late_by.total_seconds(),
            hrefs={0: scope.tickets_url(q=t.reference, period="all")},
        )
    return table


def _sum_by(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    out: dict[tuple, dict] = {}
    for r in rows:
        key = tuple(r[k] for k in keys)
        total = out.setdefault(
            key, {**dict(zip(keys, key, strict=True)), **dict.fromkeys(TICKET_SUMS, 0)}
        )
        for k in TICKET_SUMS:
            total[k] += r[k]
    return list(out.values())


def service_page(*, scope: Scope) -> Page:
    f = scope.filters
    page = Page(slug="service", title=_("Service levels"))
    # One read of the rollup, summed two ways: per level and channel, and per period.
    rows = ticket_sums(scope, "_p", "level", "channel")
    by_lc = _sum_by(rows, ("level", "channel"))
    by_p = _sum_by(rows, ("_p",))
    sla = sla_table(scope, by_lc)
    times = times_table(scope)
    tot = defaultdict(int)
    for r in by_lc:
        for k, v in r.items():
            if k not in ("level", "channel"):
                tot[k] += v
    fr_rate, res_rate = ratio(tot["fr_met"], tot["fr_due"]), ratio(tot["res_met"], tot["res_due"])

    periods = period_starts(f.start, f.end, f.grain)
    labels = [period_label(p, f.grain) for p in periods]
    per = {r["_p"]: r for r in by_p}
    trend = Table(
        slug="sla_trend",
        title=_("SLA compliance per period"),
        columns=[
            Column("period", _("Period")),
            Column("fr_due", _("First answers due"), "int"),
            Column("fr_rate", _("First answer on time"), "pct"),
            Column("res_due", _("Resolutions due"), "int"),
            Column("res_rate", _("Resolution on time"), "pct"),
        ],
    )
    fr_series, res_series = [], []
    for p, label in zip(periods, labels, strict=True):
        r = per.get(p, {})
        a = ratio(r.get("fr_met", 0), r.get("fr_due", 0))
        b = ratio(r.get("res_met", 0), r.get("res_due", 0))
        fr_series.append(a)
        res_series.append(b)
        first, last = period_bounds(p, f.grain, f)
        dates = {"from": first.isoformat(), "to": last.isoformat()}
        trend.add(
            label,
            r.get("fr_due", 0),
            a,
            r.get("res_due", 0),
            b,
            hrefs={
                2: scope.tickets_url(metric="fr_breached", **dates),
                4: scope.tickets_url(metric="res_breached", **dates),
            },
        )
    trend.chart = charts.line_chart(
        uid="sla-trend",
        title=trend.title,
        description=_("First answers on time %(a)s, resolutions on time %(b)s over the period.")
        % {"a": fmt_pct(fr_rate), "b": fmt_pct(res_rate)},
        categories=labels,
        series=[(_("First answer on time"), fr_series), (_("Resolution on time"), res_series)],
        fmt=lambda v: fmt_pct(v, 0),
        y_max=1.0,
    )

    fcr = fcr_table(scope, by_lc)
    calls = call_sums(scope)
    aht = ratio(calls["handle_seconds"], calls["handled"])
    within = ratio(calls["within_20"], calls["offered"])
    handling = Table(
        slug="handling",
        title=_("Telephone: waiting and handling"),
        columns=[
            Column("offered", _("Calls"), "int"),
            Column("answered", _("Answered"), "int"),
            Column("abandoned", _("Abandoned"), "int"),
            Column("abandon_rate", _("Abandon rate"), "pct"),
            Column("within_20", _("Answered within 20 s"), "pct"),
            Column("asa", _("Mean wait (answered)"), "seconds"),
            Column("aht", _("Mean handling time"), "seconds"),
        ],
        description=_("From the telephony's call records of the period."),
    )
    handling.add(
        calls["offered"],
        calls["answered"],
        calls["abandoned"],
        ratio(calls["abandoned"], calls["offered"]),
        within,
        ratio(calls["wait_seconds"], calls["answered"]),
        aht,
    )
    page.tables = [backlog_table(scope), sla, trend, times, breaches_table(scope), fcr, handling]
    fr_hist = times.extra["fr"]  # type: ignore[attr-defined]
    res_hist = times.extra["res"]  # type: ignore[attr-defined]
    median_res = percentile(res_hist, 0.5)
    page.tiles = [
        Tile(
            _("First answer on time"),
            fr_rate,
            fmt_pct(fr_rate),
            scope.tickets_url(metric="fr_breached"),
            _("%(n)s late") % {"n": fmt_int(tot["fr_due"] - tot["fr_met"])},
        ),
        Tile(
            _("Resolution on time"),
            res_rate,
            fmt_pct(res_rate),
            scope.tickets_url(metric="res_breached"),
            _("%(n)s late") % {"n": fmt_int(tot["res_due"] - tot["res_met"])},
        ),
        Tile(
            _("Median first answer"),
            percentile(fr_hist, 0.5),
            fmt_seconds(percentile(fr_hist, 0.5)),
        ),
        Tile(
            _("Median resolution"),
            median_res,
            fmt_seconds(median_res),
            note=_("90th pct. %(v)s") % {"v": fmt_seconds(percentile(res_hist, 0.9))},
        ),
        Tile(
            _("First-contact resolution"),
            ratio(tot["fcr"], tot["resolved"]),
            fmt_pct(ratio(tot["fcr"], tot["resolved"])),
            scope.tickets_url(metric="fcr"),
        ),
        Tile(
            _("Calls answered within 20 s"),
            within,
            fmt_pct(within),
            note=_("mean handling %(v)s") % {"v": fmt_seconds(aht)},
        ),
    ]
    return page


def fcr_table(scope: Scope, by_lc: list[dict]) -> Table:
    table = Table(
        slug="fcr",
        title=_("First-contact resolution per channel and level"),
        columns=[
            Column("level", _("Level")),
            Column("channel", _("Channel")),
            Column("resolved", _("Resolved"), "int"),
            Column("fcr", _("At first contact"), "int"),
            Column("fcr_rate", _("First-contact resolution"), "pct"),
            Column("mean_fr", _("Mean time to first answer"), "seconds"),
            Column("mean_res", _("Mean time to resolution"), "seconds"),
        ],
        description=_(
            "Resolved at the first contact: resolved, never escalated, with a single inbound "
            "contact from the viewer."
        ),
    )
    for r in sorted(by_lc, key=lambda r: (r["level"], r["channel"])):
        extra = {"level": r["level"], "channel": r["channel"]}
        table.add(
            scope.level_name(r["level"]),
            scope.channel_name(r["channel"]),
            r["resolved"],
            r["fcr"],
            ratio(r["fcr"], r["resolved"]),
            ratio(r["fr_seconds"], r["fr_count"]),
            ratio(r["res_seconds"], r["res_count"]),
            hrefs={
                2: scope.tickets_url(metric="resolved", **extra),
                3: scope.tickets_url(metric="fcr", **extra),
            },
        )
    return table
