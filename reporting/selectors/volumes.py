"""Volumes: tickets per day, week or month by channel, brand, programme, topic or level; the
share handled at level 1 against the 80 % target; escalations, send-backs and triage overrides
per rule. Reads the rollups only."""

from __future__ import annotations

from django.db.models import Sum
from django.utils.translation import gettext as _

from contacts.models import Programme

from .. import charts
from ..models import ProgrammeDaily, RuleDaily, TicketDaily, TopicDaily
from ..tables import Cell, Column, Page, Table, Tile, fmt_int, fmt_pct, ratio
from .common import (
    L1_TARGET,
    Scope,
    as_date,
    period_bounds,
    period_expr,
    period_label,
    period_starts,
    top_keys,
)

DIMENSIONS = ("channel", "brand", "programme", "topic", "level")
TICKET_SUMS = (
    "created",
    "resolved",
    "escalated",
    "sent_back",
    "rerouted",
    "fcr",
    "fr_due",
    "fr_met",
    "res_due",
    "res_met",
    "fr_seconds",
    "fr_count",
    "res_seconds",
    "res_count",
)
CHART_SERIES = 7


def ticket_sums(scope: Scope, *group_by: str, **q_kwargs) -> list[dict]:
    """TicketDaily summed over the filters, grouped by `group_by` ("_p" is the period)."""
    qs = TicketDaily.objects.filter(scope.rollup_q(**q_kwargs))
    if "_p" in group_by:
        qs = qs.annotate(_p=period_expr(scope.filters.grain))
    if group_by:
        qs = qs.values(*group_by)
    sums = {k: Sum(k) for k in TICKET_SUMS}
    rows = list(qs.annotate(**sums).order_by()) if group_by else [qs.aggregate(**sums)]
    for r in rows:
        for k in TICKET_SUMS:
            r[k] = r[k] or 0
        if "_p" in r:
            r["_p"] = as_date(r["_p"])
    return rows


def _dimension_rows(scope: Scope, dimension: str) -> tuple[list[dict], str]:
    grain = scope.filters.grain
    if dimension == "topic":
        model, key = TopicDaily, "topic"
    elif dimension == "programme":
        model, key = ProgrammeDaily, "programme_id"
    else:
        model, key = (
            TicketDaily,
            {"channel": "channel", "brand": "brand_id", "level": "level"}[dimension],
        )
    rows = list(
        model.objects.filter(scope.rollup_q())
        .annotate(_p=period_expr(grain))
        .values("_p", key)
        .annotate(n=Sum("created"))
        .order_by()
    )
    for r in rows:
        r["_p"] = as_date(r["_p"])
    return rows, key


def dimension_labeller(scope: Scope, dimension: str, keys: list):
    if dimension == "programme":
        names = dict(
            Programme.objects.filter(pk__in=[k for k in keys if k]).values_list("pk", "name")
        )
        return lambda k: names.get(k, _("No programme")) if k else _("No programme")
    return {
        "channel": scope.channel_name,
        "brand": scope.brand_name,
        "topic": scope.topic_name,
        "level": scope.level_name,
    }[dimension]


def dimension_param(dimension: str, key) -> dict:
    """The ticket-list parameter selecting one value of a dimension."""
    if dimension == "programme":
        return {"programme": key or "none"}
    if dimension == "topic":
        return {"topic": key or "none"}
    if dimension == "brand":
        return {"brand": key or "none"}
    return {dimension: key}


def volumes_page(*, scope: Scope, dimension: str = "channel") -> Page:
    if dimension not in DIMENSIONS:
        dimension = "channel"
    f = scope.filters
    grain = f.grain
    periods = period_starts(f.start, f.end, grain)
    labels = [period_label(p, grain) for p in periods]
    page = Page(slug="volumes", title=_("Volumes"), extra={"dimension": dimension})

    rows, key = _dimension_rows(scope, dimension)
    totals: dict = {}
    cells: dict[tuple, int] = {}
    for r in rows:
        totals[r[key]] = totals.get(r[key], 0) + r["n"]
        cells[(r["_p"], r[key])] = cells.get((r["_p"], r[key]), 0) + r["n"]
    keys_by_size = top_keys(totals, len(totals))
    label_of = dimension_labeller(scope, dimension, keys_by_size)
    shown = keys_by_size[:CHART_SERIES]
    others = keys_by_size[CHART_SERIES:]
    grand_total = sum(totals.values())

    def link(p, **extra):
        first, last = period_bounds(p, grain, f)
        return scope.tickets_url(**{"from": first.isoformat(), "to": last.isoformat()}, **extra)

    dim_title = {
        "channel": _("channel"),
        "brand": _("brand"),
        "programme": _("programme"),
        "topic": _("topic"),
        "level": _("level"),
    }[dimension]
    columns = [Column("period", _("Period"))]
    columns += [Column(f"k{i}", label_of(k), "int") for i, k in enumerate(shown)]
    if others:
        columns.append(Column("others", _("Others"), "int"))
    columns.append(Column("total", _("Total"), "int"))
    table = Table(
        slug="volumes",
        title=_("Tickets per period by %(dim)s") % {"dim": dim_title},
        columns=columns,
        description=_("Tickets created in each period (counted on the day they were opened)."),
    )
    series_values = [[cells.get((p, k), 0) for p in periods] for k in shown]
    other_values = [sum(cells.get((p, k), 0) for k in others) for p in periods]
    for i, p in enumerate(periods):
        values = [labels[i], *(sv[i] for sv in series_values)]
        hrefs = {j + 1: link(p, **dimension_param(dimension, k)) for j, k in enumerate(shown)}
        if others:
            values.append(other_values[i])
        total = sum(cells.get((p, k), 0) for k in keys_by_size)
        values.append(total)
        hrefs[len(values) - 1] = link(p)
        table.add(*values, hrefs=hrefs)
    footer = [_("Total"), *(totals[k] for k in shown)]
    if others:
        footer.append(sum(totals[k] for k in others))
    footer.append(grand_total)
    table.total(*footer, hrefs={len(footer) - 1: scope.tickets_url()})
    series = [(label_of(k), series_values[i]) for i, k in enumerate(shown)]
    if others:
        series.append((_("Others"), other_values))
    table.chart = charts.bar_chart(
        uid="volumes",
        title=table.title,
        description=_("Stacked bars: %(total)s tickets over %(n)s periods, by %(dim)s.")
        % {"total": fmt_int(grand_total), "n": len(periods), "dim": dim_title},
        categories=labels,
        series=series,
        fmt=fmt_int,
        hrefs=[[link(p, **dimension_param(dimension, k)) for p in periods] for k in shown]
        + ([[link(p) for p in periods]] if others else []),
    )
    page.tables.append(table)

    breakdown = Table(
        slug="by_dimension",
        title=_("Tickets by %(dim)s over the period") % {"dim": dim_title},
        columns=[
            Column("value", dim_title.capitalize()),
            Column("tickets", _("Tickets"), "int"),
            Column("share", _("Share"), "pct"),
        ],
    )
    for k in keys_by_size:
        breakdown.add(
            label_of(k),
            totals[k],
            ratio(totals[k], grand_total),
            hrefs={1: scope.tickets_url(**dimension_param(dimension, k))},
        )
    page.tables.append(breakdown)

    # Levels, escalations and send-backs per period: one query.
    by_level = ticket_sums(scope, "_p", "level")
    per = {
        p: {"created": 0, 1: 0, 2: 0, 3: 0, "escalated": 0, "sent_back": 0, "rerouted": 0}
        for p in periods
    }
    for r in by_level:
        cell = per.setdefault(
            r["_p"], {"created": 0, 1: 0, 2: 0, 3: 0, "escalated": 0, "sent_back": 0, "rerouted": 0}
        )
        cell["created"] += r["created"]
        cell[r["level"]] = cell.get(r["level"], 0) + r["created"]
        for k in ("escalated", "sent_back", "rerouted"):
            cell[k] += r[k]
    levels = Table(
        slug="levels",
        title=_("Share handled at level 1 (target %(t)s)") % {"t": fmt_pct(L1_TARGET, 0)},
        columns=[
            Column("period", _("Period")),
            Column("tickets", _("Tickets"), "int"),
            Column("l1", _("Level 1"), "int"),
            Column("l2", _("Level 2"), "int"),
            Column("l3", _("Level 3"), "int"),
            Column("l1_share", _("Level-1 share"), "pct"),
        ],
        description=_(
            "A ticket counts at the level it is at now: escalated tickets count at level 2 "
            "or 3, tickets sent back to the call centre at level 1."
        ),
    )
    rates = Table(
        slug="escalations",
        title=_("Escalations, send-backs and re-routings"),
        columns=[
            Column("period", _("Period")),
            Column("tickets", _("Tickets"), "int"),
            Column("escalated", _("Escalated"), "int"),
            Column("escalation_rate", _("Escalation rate"), "pct"),
            Column("sent_back", _("Sent back"), "int"),
            Column("send_back_rate", _("Send-back rate (of escalated)"), "pct"),
            Column("rerouted", _("Re-routed"), "int"),
            Column("override_rate", _("Triage overridden"), "pct"),
        ],
    )
    share_series, esc_series, sb_series = [], [], []
    sums = {"created": 0, 1: 0, 2: 0, 3: 0, "escalated": 0, "sent_back": 0, "rerouted": 0}
    for i, p in enumerate(periods):
        c = per[p]
        for k in sums:
            sums[k] += c.get(k, 0)
        share = ratio(c[1], c["created"])
        share_series.append(share)
        state = "" if share is None else ("ok" if share >= L1_TARGET else "warn")
        levels.add(
            labels[i],
            c["created"],
            c[1],
            c[2],
            c[3],
            Cell(share, fmt_pct(share), link(p, level=1), state),
            hrefs={1: link(p), 2: link(p, level=1), 3: link(p, level=2), 4: link(p, level=3)},
        )
        esc, sb = ratio(c["escalated"], c["created"]), ratio(c["sent_back"], c["escalated"])
        esc_series.append(esc)
        sb_series.append(sb)
        rates.add(
            labels[i],
            c["created"],
            c["escalated"],
            esc,
            c["sent_back"],
            sb,
            c["rerouted"],
            ratio(c["rerouted"], c["created"]),
            hrefs={
                1: link(p),
                2: link(p, metric="escalated"),
                3: link(p, metric="escalated"),
                4: link(p, metric="sent_back"),
                5: link(p, metric="sent_back"),
                6: link(p, metric="rerouted"),
                7: link(p, metric="rerouted"),
            },
        )
    l1_share = ratio(sums[1], sums["created"])
    levels.total(
        _("Total"),
        sums["created"],
        sums[1],
        sums[2],
        sums[3],
        l1_share,
        hrefs={1: scope.tickets_url(), 2: scope.tickets_url(level=1)},
    )
    levels.chart = charts.line_chart(
        uid="levels",
        title=levels.title,
        description=_("Level-1 share per period against the 80 %% target; overall %(v)s.")
        % {"v": fmt_pct(l1_share)},
        categories=labels,
        series=[(_("Level-1 share"), share_series)],
        fmt=lambda v: fmt_pct(v, 0),
        y_max=1.0,
        target=(L1_TARGET, _("target %(t)s") % {"t": fmt_pct(L1_TARGET, 0)}),
    )
    esc_rate = ratio(sums["escalated"], sums["created"])
    sb_rate = ratio(sums["sent_back"], sums["escalated"])
    rates.total(
        _("Total"),
        sums["created"],
        sums["escalated"],
        esc_rate,
        sums["sent_back"],
        sb_rate,
        sums["rerouted"],
        ratio(sums["rerouted"], sums["created"]),
        hrefs={
            2: scope.tickets_url(metric="escalated"),
            4: scope.tickets_url(metric="sent_back"),
            6: scope.tickets_url(metric="rerouted"),
        },
    )
    rates.chart = charts.line_chart(
        uid="escalations",
        title=rates.title,
        description=_("Escalation rate %(e)s and send-back rate %(s)s over the period.")
        % {"e": fmt_pct(esc_rate), "s": fmt_pct(sb_rate)},
        categories=labels,
        series=[(_("Escalation rate"), esc_series), (_("Send-back rate"), sb_series)],
        fmt=lambda v: fmt_pct(v, 0),
    )
    page.tables += [levels, rates, overrides_table(scope)]
    page.tiles = [
        Tile(_("Tickets"), grand_total, fmt_int(grand_total), scope.tickets_url()),
        Tile(
            _("Handled at level 1"),
            l1_share,
            fmt_pct(l1_share),
            scope.tickets_url(level=1),
            _("target %(t)s") % {"t": fmt_pct(L1_TARGET, 0)},
            "" if l1_share is None else ("ok" if l1_share >= L1_TARGET else "warn"),
        ),
        Tile(
            _("Escalation rate"), esc_rate, fmt_pct(esc_rate), scope.tickets_url(metric="escalated")
        ),
        Tile(_("Send-back rate"), sb_rate, fmt_pct(sb_rate), scope.tickets_url(metric="sent_back")),
    ]
    return page


def overrides_table(scope: Scope) -> Table:
    """Triage decisions per rule and the share staff overrode by re-routing the ticket."""
    rows = (
        RuleDaily.objects.filter(scope.rollup_q())
        .values("rule")
        .annotate(decided=Sum("decided"), overridden=Sum("overridden"))
        .order_by()
    )
    table = Table(
        slug="overrides",
        title=_("Triage overrides per rule"),
        columns=[
            Column("rule", _("Rule")),
            Column("decided", _("Decisions"), "int"),
            Column("overridden", _("Overridden"), "int"),
            Column("rate", _("Override rate"), "pct"),
        ],
        description=_(
            "Tickets whose triage matched the rule, and how many staff re-routed afterwards. "
            "Decisions without a rule count under the classifier or the default."
        ),
        empty_text=_("No triage decision recorded in this period."),
    )
    rows = sorted(rows, key=lambda r: (-(r["overridden"] or 0), -(r["decided"] or 0), r["rule"]))
    for r in rows:
        table.add(
            r["rule"],
            r["decided"],
            r["overridden"],
            ratio(r["overridden"], r["decided"]),
            hrefs={
                1: scope.tickets_url(rule=r["rule"]),
                2: scope.tickets_url(rule=r["rule"], metric="rerouted"),
            },
        )
    return table
