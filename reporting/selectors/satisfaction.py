"""Satisfaction: response rate, CSAT (share of 4 and 5), the distribution of scores, by team,
level, channel and topic, the trend, and the latest comments."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from satisfaction.models import Survey

from .. import charts
from ..filters import day_start
from ..models import SurveyDaily
from ..tables import Column, Page, Table, Tile, fmt_int, fmt_pct, ratio
from .common import (
    Scope,
    as_date,
    period_bounds,
    period_expr,
    period_label,
    period_starts,
)

SURVEY_SUMS = (
    "sent",
    "answered",
    "commented",
    "score_1",
    "score_2",
    "score_3",
    "score_4",
    "score_5",
)
COMMENTS_LIMIT = 20
SCORE_COLOURS = ("#A4161A", "#D55E00", "#999999", "#56B4E9", "#0072B2")


def csat(row: dict) -> float | None:
    return ratio(row.get("score_4", 0) + row.get("score_5", 0), row.get("answered", 0))


def _add(total: dict, row: dict) -> None:
    for k in SURVEY_SUMS:
        total[k] = total.get(k, 0) + (row.get(k) or 0)


def _breakdown(
    scope: Scope, rows: list[dict], key: str, heading: str, title: str, label, param
) -> Table:
    groups: dict = defaultdict(dict)
    for r in rows:
        _add(groups[r[key]], r)
    table = Table(
        slug=f"by_{key.removesuffix('_id')}",
        title=title,
        columns=[
            Column("value", heading),
            Column("sent", _("Surveys sent"), "int"),
            Column("answered", _("Answers"), "int"),
            Column("response_rate", _("Response rate"), "pct"),
            Column("csat", _("CSAT (4–5)"), "pct"),
            Column("low", _("Scores 1–2"), "int"),
        ],
    )
    for k, g in sorted(groups.items(), key=lambda kv: -kv[1].get("answered", 0)):
        p = param(k)
        table.add(
            label(k),
            g["sent"],
            g["answered"],
            ratio(g["answered"], g["sent"]),
            csat(g),
            g["score_1"] + g["score_2"],
            hrefs={
                1: scope.tickets_url(metric="surveyed", **p),
                2: scope.tickets_url(metric="answered", **p),
                4: scope.tickets_url(metric="csat", **p),
                5: scope.tickets_url(metric="low_score", **p),
            },
        )
    return table


def comments_table(scope: Scope) -> Table:
    """The latest answers with a comment in the period (bounded, on the answered_at index)."""
    f = scope.filters
    q = Q(answered_at__gte=day_start(f.start), answered_at__lt=day_start(f.end + timedelta(days=1)))
    q &= Q(score__isnull=False) & ~Q(comment="")
    ids = scope.brand_ids()
    if ids is not None:
        q &= Q(ticket__brand_id__in=ids) | (
            Q(ticket__brand_id__isnull=True) if not f.brand else Q(pk__in=[])
        )
    if f.channel:
        q &= Q(ticket_channel=f.channel)
    if f.team:
        q &= Q(team_id=f.team)
    surveys = (
        Survey.objects.filter(q)
        .select_related("ticket", "team")
        .only(
            "answered_at",
            "score",
            "comment",
            "level",
            "topic",
            "ticket_channel",
            "ticket__reference",
            "team__name",
        )
        .order_by("-answered_at", "-id")[:COMMENTS_LIMIT]
    )
    table = Table(
        slug="comments",
        title=_("Latest comments"),
        columns=[
            Column("answered", _("Answered")),
            Column("ticket", _("Ticket")),
            Column("score", _("Score"), "int"),
            Column("comment", _("Comment")),
            Column("team", _("Team")),
            Column("topic", _("Topic")),
        ],
        empty_text=_("No comment in this period."),
    )
    for s in surveys:
        table.add(
            timezone.localtime(s.answered_at).strftime("%d/%m/%Y"),
            s.ticket.reference,
            s.score,
            s.comment,
            s.team.name if s.team else "—",
            scope.topic_name(s.topic),
            hrefs={1: scope.tickets_url(q=s.ticket.reference, period="all")},
        )
    return table


def satisfaction_page(*, scope: Scope) -> Page:
    f = scope.filters
    grain = f.grain
    page = Page(slug="satisfaction", title=_("Satisfaction"))
    base = SurveyDaily.objects.filter(scope.rollup_q())
    sums = {k: Sum(k) for k in SURVEY_SUMS}
    rows = list(base.values("team_id", "level", "channel", "topic").annotate(**sums).order_by())
    trend_rows = list(base.annotate(_p=period_expr(grain)).values("_p").annotate(**sums).order_by())
    total: dict = dict.fromkeys(SURVEY_SUMS, 0)
    for r in rows:
        _add(total, r)
    response = ratio(total["answered"], total["sent"])
    score = csat(total)

    dist = Table(
        slug="distribution",
        title=_("Distribution of scores"),
        columns=[
            Column("score", _("Score")),
            Column("answers", _("Answers"), "int"),
            Column("share", _("Share"), "pct"),
        ],
    )
    for s in range(5, 0, -1):
        n = total[f"score_{s}"]
        dist.add(
            str(s),
            n,
            ratio(n, total["answered"]),
            hrefs={1: scope.tickets_url(metric="score", score=s)},
        )
    dist.chart = charts.hbar_chart(
        uid="distribution",
        title=dist.title,
        description=_("%(n)s answers; CSAT %(c)s (scores 4 and 5).")
        % {"n": fmt_int(total["answered"]), "c": fmt_pct(score)},
        labels=[f"{s} / 5" for s in range(5, 0, -1)],
        values=[total[f"score_{s}"] for s in range(5, 0, -1)],
        fmt=fmt_int,
        colours=list(reversed(SCORE_COLOURS)),
        hrefs=[scope.tickets_url(metric="score", score=s) for s in range(5, 0, -1)],
    )

    periods = period_starts(f.start, f.end, grain)
    labels = [period_label(p, grain) for p in periods]
    per = {as_date(r["_p"]): r for r in trend_rows}
    trend = Table(
        slug="trend",
        title=_("Satisfaction per period"),
        columns=[
            Column("period", _("Period")),
            Column("sent", _("Surveys sent"), "int"),
            Column("answered", _("Answers"), "int"),
            Column("response_rate", _("Response rate"), "pct"),
            Column("csat", _("CSAT (4–5)"), "pct"),
        ],
        description=_("Surveys counted on the day they were sent."),
    )
    csat_series, response_series = [], []
    for p, label in zip(periods, labels, strict=True):
        r = per.get(p, {})
        first, last = period_bounds(p, grain, f)
        dates = {"from": first.isoformat(), "to": last.isoformat()}
        c, rr = csat(r), ratio(r.get("answered", 0), r.get("sent", 0))
        csat_series.append(c)
        response_series.append(rr)
        trend.add(
            label,
            r.get("sent", 0),
            r.get("answered", 0),
            rr,
            c,
            hrefs={
                1: scope.tickets_url(metric="surveyed", **dates),
                2: scope.tickets_url(metric="answered", **dates),
                4: scope.tickets_url(metric="csat", **dates),
            },
        )
    trend.chart = charts.line_chart(
        uid="satisfaction-trend",
        title=trend.title,
        description=_("CSAT %(c)s and response rate %(r)s over the period.")
        % {"c": fmt_pct(score), "r": fmt_pct(response)},
        categories=labels,
        series=[(_("CSAT (4–5)"), csat_series), (_("Response rate"), response_series)],
        fmt=lambda v: fmt_pct(v, 0),
        y_max=1.0,
    )
    page.tables = [
        dist,
        trend,
        _breakdown(
            scope,
            rows,
            "team_id",
            _("Team"),
            _("Satisfaction by team"),
            scope.team_name,
            lambda k: {"team": k or "none"},
        ),
        _breakdown(
            scope,
            rows,
            "level",
            _("Level"),
            _("Satisfaction by level"),
            scope.level_name,
            lambda k: {"level": k},
        ),
        _breakdown(
            scope,
            rows,
            "channel",
            _("Channel"),
            _("Satisfaction by channel"),
            scope.channel_name,
            lambda k: {"channel": k},
        ),
        _breakdown(
            scope,
            rows,
            "topic",
            _("Topic"),
            _("Satisfaction by topic"),
            scope.topic_name,
            lambda k: {"topic": k or "none"},
        ),
        comments_table(scope),
    ]
    page.tiles = [
        Tile(
            _("CSAT (scores 4–5)"),
            score,
            fmt_pct(score),
            scope.tickets_url(metric="csat"),
            _("%(n)s answers") % {"n": fmt_int(total["answered"])},
        ),
        Tile(
            _("Response rate"),
            response,
            fmt_pct(response),
            scope.tickets_url(metric="answered"),
            _("%(n)s surveys sent") % {"n": fmt_int(total["sent"])},
        ),
        Tile(
            _("Scores 1–2"),
            total["score_1"] + total["score_2"],
            fmt_int(total["score_1"] + total["score_2"]),
            scope.tickets_url(metric="low_score"),
        ),
        Tile(_("Comments"), total["commented"], fmt_int(total["commented"])),
    ]
    return page
