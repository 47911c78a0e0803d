"""The managers' first page (key figures and the volume trend) and what viewers talk about:
the topics and programmes rising this week against their usual level."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Case, IntegerField, Sum, Value, When
from django.utils.translation import gettext as _

from .. import charts
from ..models import ProgrammeDaily, TopicDaily
from ..tables import (
    Cell,
    Column,
    Page,
    Table,
    Tile,
    fmt_float,
    fmt_int,
    fmt_pct,
    fmt_seconds,
    ratio,
)
from .calls import call_sums
from .common import (
    L1_TARGET,
    Scope,
    period_bounds,
    period_label,
    period_starts,
    top_keys,
)
from .satisfaction import SURVEY_SUMS, csat
from .volumes import dimension_labeller, dimension_param, ticket_sums

BASELINE_WEEKS = 8
MIN_THIS_WEEK = 5  # below this many tickets a rise is noise, not news


def rising_table(
    scope: Scope, dimension: str, *, limit: int = 10, only_rising: bool = True
) -> Table:
    """Tickets of the last 7 days per topic (programme) against the mean of the 8 weeks
    before. Ranked by how unusual the rise is: (this week − usual) / √usual, the deviation
    a Poisson count would show by chance being about 1. `only_rising`: keep the topics above
    their usual level with enough tickets to mean something; else every one, ranked."""
    end = scope.filters.end
    week_start = end - timedelta(days=6)
    base_start = week_start - timedelta(days=7 * BASELINE_WEEKS)
    model, key = (TopicDaily, "topic") if dimension == "topic" else (ProgrammeDaily, "programme_id")
    rows = (
        model.objects.filter(scope.rollup_q(start=base_start, end=end))
        .annotate(
            _this=Case(
                When(day__gte=week_start, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .values(key, "_this")
        .annotate(n=Sum("created"))
        .order_by()
    )
    counts: dict = defaultdict(lambda: [0, 0])
    for r in rows:
        counts[r[key]][r["_this"]] += r["n"]
    scored = []
    for k, (before, now) in counts.items():
        if dimension == "programme" and not k:
            continue
        usual = before / BASELINE_WEEKS
        score = (now - usual) / math.sqrt(max(usual, 1.0))
        if not only_rising or (now >= MIN_THIS_WEEK and now > usual):
            scored.append((score, k, now, usual))
    scored.sort(key=lambda t: (-t[0], str(t[1])))
    scored = scored[:limit]
    label = dimension_labeller(scope, dimension, [k for _s, k, _n, _u in scored])
    if only_rising:
        title = (
            _("Topics rising this week")
            if dimension == "topic"
            else _("Programmes rising this week")
        )
    else:
        title = (
            _("Topics this week against their usual level")
            if dimension == "topic"
            else _("Programmes this week against their usual level")
        )
    table = Table(
        slug=f"rising_{dimension}s",
        title=title,
        columns=[
            Column("value", _("Topic") if dimension == "topic" else _("Programme")),
            Column("this_week", _("Last 7 days"), "int"),
            Column("usual", _("Usual week"), "float"),
            Column("change", _("Change vs usual"), "pct"),
            Column("score", _("Unusualness"), "float"),
        ],
        description=_(
            "The 7 days to %(end)s against the mean week of the %(n)s weeks before; ranked "
            "by (this week − usual) / √usual (about 1 happens by chance, 3 or more is news)."
        )
        % {"end": end.strftime("%d/%m/%Y"), "n": BASELINE_WEEKS},
        empty_text=_("Nothing rising above its usual level this week."),
    )
    week = {"from": week_start.isoformat(), "to": end.isoformat()}
    for score, k, now, usual in scored:
        table.add(
            label(k),
            now,
            usual,
            ratio(now - usual, usual) if usual else None,
            Cell(
                score, fmt_float(score), state="warn" if score >= 3 and now >= MIN_THIS_WEEK else ""
            ),
            hrefs={1: scope.tickets_url(**week, **dimension_param(dimension, k))},
        )
    return table


def overview_page(*, scope: Scope) -> Page:
    from ..models import SurveyDaily

    f = scope.filters
    page = Page(slug="overview", title=_("Dashboards"))
    rows = ticket_sums(scope, "_p", "channel", "level")
    tot: dict = defaultdict(int)
    per: dict[tuple[date, str], int] = defaultdict(int)
    channel_totals: dict[str, int] = defaultdict(int)
    l1 = 0
    for r in rows:
        for k, v in r.items():
            if k not in ("_p", "channel", "level"):
                tot[k] += v
        per[(r["_p"], r["channel"])] += r["created"]
        channel_totals[r["channel"]] += r["created"]
        l1 += r["created"] if r["level"] == 1 else 0
    l1_share = ratio(l1, tot["created"])
    survey = SurveyDaily.objects.filter(scope.rollup_q()).aggregate(
        **{k: Sum(k) for k in SURVEY_SUMS}
    )
    survey = {k: v or 0 for k, v in survey.items()}
    calls = call_sums(scope)
    within = ratio(calls["within_20"], calls["offered"])
    esc = ratio(tot["escalated"], tot["created"])
    fr_rate, res_rate = ratio(tot["fr_met"], tot["fr_due"]), ratio(tot["res_met"], tot["res_due"])
    score = csat(survey)
    page.tiles = [
        Tile(_("Tickets"), tot["created"], fmt_int(tot["created"]), scope.tickets_url()),
        Tile(
            _("Handled at level 1"),
            l1_share,
            fmt_pct(l1_share),
            scope.tickets_url(level=1),
            _("target %(t)s") % {"t": fmt_pct(L1_TARGET, 0)},
            "" if l1_share is None else ("ok" if l1_share >= L1_TARGET else "warn"),
        ),
        Tile(
            _("Escalation rate"),
            esc,
            fmt_pct(esc),
            scope.tickets_url(metric="escalated"),
            _("send-back %(v)s") % {"v": fmt_pct(ratio(tot["sent_back"], tot["escalated"]))},
        ),
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
            _("mean %(v)s") % {"v": fmt_seconds(ratio(tot["res_seconds"], tot["res_count"]))},
        ),
        Tile(
            _("CSAT (scores 4–5)"),
            score,
            fmt_pct(score),
            scope.tickets_url(metric="csat"),
            _("response rate %(v)s") % {"v": fmt_pct(ratio(survey["answered"], survey["sent"]))},
        ),
        Tile(
            _("Calls answered within 20 s"),
            within,
            fmt_pct(within),
            scope.tickets_url(channel="phone"),
            _("%(n)s calls") % {"n": fmt_int(calls["offered"])},
        ),
        Tile(
            _("First-contact resolution"),
            ratio(tot["fcr"], tot["resolved"]),
            fmt_pct(ratio(tot["fcr"], tot["resolved"])),
            scope.tickets_url(metric="fcr"),
        ),
    ]

    periods = period_starts(f.start, f.end, f.grain)
    labels = [period_label(p, f.grain) for p in periods]
    channels = top_keys(channel_totals, len(channel_totals))
    trend = Table(
        slug="trend",
        title=_("Tickets per period and channel"),
        columns=[
            Column("period", _("Period")),
            *(Column(c, scope.channel_name(c), "int") for c in channels),
            Column("total", _("Total"), "int"),
        ],
    )

    def link(p, **extra):
        first, last = period_bounds(p, f.grain, f)
        return scope.tickets_url(**{"from": first.isoformat(), "to": last.isoformat()}, **extra)

    for p, label in zip(periods, labels, strict=True):
        values = [per.get((p, c), 0) for c in channels]
        hrefs = {i + 1: link(p, channel=c) for i, c in enumerate(channels)}
        hrefs[len(channels) + 1] = link(p)
        trend.add(label, *values, sum(values), hrefs=hrefs)
    trend.total(
        _("Total"),
        *(channel_totals[c] for c in channels),
        tot["created"],
        hrefs={len(channels) + 1: scope.tickets_url()},
    )
    trend.chart = charts.bar_chart(
        uid="overview-trend",
        title=trend.title,
        description=_("Stacked bars per period; %(n)s tickets in all.")
        % {"n": fmt_int(tot["created"])},
        categories=labels,
        series=[(scope.channel_name(c), [per.get((p, c), 0) for p in periods]) for c in channels],
        fmt=fmt_int,
        hrefs=[[link(p, channel=c) for p in periods] for c in channels],
    )
    page.tables = [
        trend,
        rising_table(scope, "topic", limit=5),
        rising_table(scope, "programme", limit=5),
    ]
    return page


def trends_page(*, scope: Scope) -> Page:
    page = Page(slug="trends", title=_("What viewers talk about"))
    topics = rising_table(scope, "topic", limit=30, only_rising=False)
    top = topics.rows[:10]
    if top:
        topics.chart = charts.bar_chart(
            uid="trends-topics",
            title=_("Last 7 days against the usual week"),
            description=_(
                "Grouped bars: the last 7 days and the usual week of the %(n)s topics ranked first."
            )
            % {"n": len(top)},
            categories=[row[0].display for row in top],
            series=[
                (_("Last 7 days"), [row[1].value for row in top]),
                (_("Usual week"), [row[2].value for row in top]),
            ],
            stacked=False,
            fmt=fmt_int,
            hrefs=[[row[1].href for row in top], ["" for _row in top]],
        )
    page.tables = [topics, rising_table(scope, "programme", limit=30, only_rising=False)]
    return page
