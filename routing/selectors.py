"""Reads of the routing app: teams' queues (filters, keyset pages, counts), override rates.

Queues read only open tickets, the very condition of the partial indexes on Ticket
(``ticket_queue_idx`` on team + due date, ``ticket_level_brand_idx``), so that a queue stays
fast over years of closed tickets. Pages are keyset-paginated (no OFFSET: the 200th page
costs what the first does) and counts come from one grouped query, never a second count.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from accounts import permissions
from accounts.models import Team, TeamMembership, User
from contacts.models import (
    OPEN_STATUSES,
    Channel,
    Priority,
    SlaState,
    Status,
    Ticket,
    TicketEvent,
    TicketEventKind,
    Topic,
)
from contacts.selectors import ticket_scope_q

# The open statuses, in the exact form of the partial indexes' condition.
QUEUE_STATUSES = [
    Status.NEW,
    Status.TRIAGED,
    Status.IN_PROGRESS,
    Status.WAITING_VIEWER,
    Status.WAITING_INTERNAL,
]
assert set(QUEUE_STATUSES) == set(OPEN_STATUSES)

SORTS = ("due", "oldest", "newest")
# Filters counted per value in one grouped query, with their labels.
FACETS = ("status", "brand", "topic", "priority", "sla_state", "channel", "assignee")
ASSIGNEE_CHOICES = ("me", "none", "other")


@dataclass(frozen=True)
class QueueFilters:
    """What the queue page's GET form asks for; empty means "any"."""

    status: str = ""
    brand: int | None = None
    programme: int | None = None
    topic: str = ""
    priority: str = ""
    sla_state: str = ""
    channel: str = ""
    assignee: str = ""  # "me", "none" (unassigned) or "other"
    sort: str = "due"

    @classmethod
    def of(cls, value: QueueFilters | Mapping[str, Any] | None) -> QueueFilters:
        if value is None:
            return cls()
        if isinstance(value, QueueFilters):
            return value
        known = {f.name for f in fields(cls)}
        cleaned = {k: v for k, v in value.items() if k in known and v not in (None, "")}
        return cls(**cleaned)


@dataclass
class FacetValue:
    value: Any
    label: str
    count: int
    selected: bool


@dataclass
class QueuePage:
    tickets: list[Ticket]
    next_cursor: str | None
    total: int  # tickets matching every filter
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    programmes: list[FacetValue] = field(default_factory=list)


def team_queues_for(user: User) -> list[Team]:
    """The queues a user works from: their teams; every active team for managers and admins.

    Each team carries ``is_member`` (the user belongs to it: "take next" serves those).
    One query.
    """
    if not permissions.can(user, "view_queue"):
        return []
    teams = (
        Team.objects.filter(is_active=True)
        .annotate(
            is_member=Exists(TeamMembership.objects.filter(team_id=OuterRef("pk"), user=user))
        )
        .order_by("level", "name")
    )
    if permissions.can(user, "view_dashboards"):
        return list(teams)
    return list(teams.filter(is_member=True))


def _assignee_class(user: User) -> Case:
    return Case(
        When(assignee_id=user.pk, then=Value("me")),
        When(assignee__isnull=True, then=Value("none")),
        default=Value("other"),
        output_field=CharField(),
    )


def _queue_base(*, user: User, team: Team | None) -> QuerySet[Ticket]:
    qs = Ticket.objects.filter(ticket_scope_q(user), status__in=QUEUE_STATUSES)
    if team is not None:
        qs = qs.filter(team=team)
    return qs


def _facet_q(f: QueueFilters, *, user: User, skip: str | None = None) -> Q:
    q = Q()
    if f.status and skip != "status":
        q &= Q(status=f.status)
    if f.brand and skip != "brand":
        q &= Q(brand_id=f.brand)
    if f.topic and skip != "topic":
        q &= Q(topic=f.topic)
    if f.priority and skip != "priority":
        q &= Q(priority=f.priority)
    if f.sla_state and skip != "sla_state":
        q &= Q(sla_state=f.sla_state)
    if f.channel and skip != "channel":
        q &= Q(channel=f.channel)
    if f.assignee and skip != "assignee":
        q &= {
            "me": Q(assignee_id=user.pk),
            "none": Q(assignee__isnull=True),
            "other": Q(assignee__isnull=False) & ~Q(assignee_id=user.pk),
        }.get(f.assignee, Q())
    if f.programme and skip != "programme":
        q &= Q(programme_id=f.programme)
    return q


# --- keyset cursors ----------------------------------------------------------------------------


def _encode(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> list[Any] | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(values, list) or len(values) != 2 or not isinstance(values[1], int):
        return None
    return values


def _order_and_after(sort: str, after: str | None) -> tuple[list, Q]:
    """ORDER BY and the keyset condition "strictly after the cursor" for a sort."""
    position = _decode(after) if after else None
    moment: datetime | None = None
    if position is not None and position[0] is not None:
        moment = parse_datetime(str(position[0])) if isinstance(position[0], str) else None
        if moment is None:
            position = None  # a tampered cursor starts again from the top
    if sort == "oldest":
        order = ["created_at", "id"]
        if position is None or moment is None:
            return order, Q()
        return order, Q(created_at__gt=moment) | Q(created_at=moment, id__gt=position[1])
    if sort == "newest":
        order = ["-created_at", "-id"]
        if position is None or moment is None:
            return order, Q()
        return order, Q(created_at__lt=moment) | Q(created_at=moment, id__lt=position[1])
    order = [F("resolution_due_at").asc(nulls_last=True), "id"]
    if position is None:
        return order, Q()
    if moment is None:  # inside the tail of tickets without a due date
        return order, Q(resolution_due_at__isnull=True, id__gt=position[1])
    return order, (
        Q(resolution_due_at__gt=moment)
        | Q(resolution_due_at=moment, id__gt=position[1])
        | Q(resolution_due_at__isnull=True)
    )


def _cursor_for(ticket: Ticket, sort: str) -> str:
    value = ticket.created_at if sort in ("oldest", "newest") else ticket.resolution_due_at
    return _encode([value.isoformat() if value else None, ticket.pk])


# --- the queue ---------------------------------------------------------------------------------


def queue_list(
    *,
    user: User,
    team: Team | None = None,
    filters: QueueFilters | Mapping[str, Any] | None = None,
    after: str | None = None,
    limit: int = 50,
) -> QueuePage:
    """One page of a queue (open tickets of ``team``, or of every queue the user sees when
    None), filtered, sorted by due date by default, after the keyset cursor ``after``.

    Counts per filter value follow the usual faceted-search rule: each filter's counts apply
    every *other* selected filter, so the numbers say what choosing a value would give.
    Three queries: the grouped counts, the programmes' counts, the page (keyset in a
    subquery).
    """
    f = QueueFilters.of(filters)
    sort = f.sort if f.sort in SORTS else "due"
    limit = max(1, min(limit, 200))
    base = _queue_base(user=user, team=team)

    # 1. One grouped query for every facet (the programme aside: too many values to cross).
    rows = list(
        base.filter(_non_facet_q(f))
        .annotate(assignee_class=_assignee_class(user))
        .values(
            "status",
            "brand_id",
            "brand__name",
            "topic",
            "priority",
            "sla_state",
            "channel",
            "assignee_class",
        )
        .annotate(n=Count("id"))
        .order_by()
    )
    facets, total = _facets(rows, f, user=user)

    # 2. Programmes, with every other filter applied.
    programme_rows = (
        base.filter(_facet_q(f, user=user, skip="programme"), programme__isnull=False)
        .values("programme_id", "programme__name")
        .annotate(n=Count("id"))
        .order_by("-n", "programme__name")[:100]
    )
    programmes = [
        FacetValue(
            r["programme_id"], r["programme__name"], r["n"], r["programme_id"] == f.programme
        )
        for r in programme_rows
    ]

    # 3. The page itself: the keyset picks ids on the ticket table alone (a narrow sort, or
    # an ordered index scan), then only those rows are joined to what the page shows.
    order, after_q = _order_and_after(sort, after)
    ids = (
        base.filter(_facet_q(f, user=user))
        .filter(after_q)
        .order_by(*order)
        .values("pk")[: limit + 1]
    )
    page = list(
        Ticket.objects.filter(pk__in=ids)
        .select_related("brand", "programme", "viewer", "team", "assignee")
        .annotate(**_arrival_annotations())
        # What a queue row does not show: the stored decision, long texts.
        .defer(
            "triage_decision",
            "triage_explanation",
            "viewer__search_text",
            "brand__letterhead",
            "brand__legal_mentions",
            "assignee__signature",
            "assignee__password",
        )
        .order_by(*order)[: limit + 1]
    )
    for ticket in page:
        _mark_arrival(ticket)
    next_cursor = _cursor_for(page[limit - 1], sort) if len(page) > limit else None
    return QueuePage(
        tickets=page[:limit],
        next_cursor=next_cursor,
        total=total,
        facets=facets,
        programmes=programmes,
    )


_LEVEL_MOVES = (TicketEventKind.ESCALATED, TicketEventKind.SENT_BACK)


def _arrival_annotations() -> dict[str, Subquery]:
    """The ticket's last escalation or send-back (kind, level reached, reason), as correlated
    subqueries of the page's own query (``ticket_event_ticket_idx``): no query per row."""
    last_move = TicketEvent.objects.filter(ticket=OuterRef("pk"), kind__in=_LEVEL_MOVES).order_by(
        "-at", "-id"
    )
    return {
        f"arrival_{name}": Subquery(last_move.values(column)[:1])
        for name, column in (("kind", "kind"), ("to", "to_value"), ("reason", "reason"))
    }


def _mark_arrival(ticket: Ticket) -> None:
    """Keep ``arrival_kind``/``arrival_reason`` only when that move brought the ticket to the
    level it is at now (a later re-triage to another level is not an escalation)."""
    if getattr(ticket, "arrival_to", None) != str(ticket.level):
        ticket.arrival_kind = None
        ticket.arrival_reason = ""


def _non_facet_q(f: QueueFilters) -> Q:
    """Filters applied to every count (the programme is not crossed with the others)."""
    return Q(programme_id=f.programme) if f.programme else Q()


def _facets(
    rows: list[dict[str, Any]], f: QueueFilters, *, user: User
) -> tuple[dict[str, list[FacetValue]], int]:
    selected = {
        "status": f.status,
        "brand": f.brand,
        "topic": f.topic,
        "priority": f.priority,
        "sla_state": f.sla_state,
        "channel": f.channel,
        "assignee": f.assignee,
    }
    key_of = {
        "status": "status",
        "brand": "brand_id",
        "topic": "topic",
        "priority": "priority",
        "sla_state": "sla_state",
        "channel": "channel",
        "assignee": "assignee_class",
    }

    active = [(name, key_of[name], wanted) for name, wanted in selected.items() if wanted]
    counts: dict[str, Counter] = defaultdict(Counter)
    brand_names: dict[Any, str] = {}
    total = 0
    for row in rows:
        n = row["n"]
        brand_names[row["brand_id"]] = row["brand__name"] or ""
        # A row counts for a facet when it passes every *other* selected filter: with no
        # failed filter it counts everywhere, with one only in that filter's own facet.
        failed = [name for name, key, wanted in active if row[key] != wanted]
        if not failed:
            total += n
            for name in FACETS:
                counts[name][row[key_of[name]]] += n
        elif len(failed) == 1:
            counts[failed[0]][row[key_of[failed[0]]]] += n

    labels: dict[str, dict[Any, str]] = {
        "status": dict(Status.choices),
        "topic": {**dict(Topic.choices), "": "—"},
        "priority": dict(Priority.choices),
        "sla_state": dict(SlaState.choices),
        "channel": dict(Channel.choices),
        "assignee": {"me": _("Me"), "none": _("Unassigned"), "other": _("Someone else")},
        "brand": brand_names,
    }
    orders: dict[str, list[Any]] = {
        "status": QUEUE_STATUSES,
        "priority": [Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW],
        "sla_state": [SlaState.BREACHED, SlaState.AT_RISK, SlaState.OK],
        "channel": list(Channel.values),
        "assignee": list(ASSIGNEE_CHOICES),
    }
    facets: dict[str, list[FacetValue]] = {}
    for name in FACETS:
        values = list(counts[name])
        if selected[name] not in ("", None) and selected[name] not in counts[name]:
            values.append(selected[name])  # keep the chosen value visible, with 0
        if name in orders:
            rank = {v: i for i, v in enumerate(orders[name])}
            values.sort(key=lambda v: rank.get(v, 99))
        else:
            values.sort(key=lambda v: str(labels[name].get(v, v) or ""))
        facets[name] = [
            FacetValue(
                v,
                str(labels[name].get(v, v) or "—"),
                counts[name][v],
                v == selected[name] and v not in ("", None),
            )
            for v in values
        ]
    return facets, total


# --- override rates ----------------------------------------------------------------------------


@dataclass
class RuleOverride:
    rule: str  # a rule code; "(classifier)" / "(default)" when no rule decided; "(second opinion)"
    decided: int
    rerouted: int
    escalated: int
    sent_back: int

    @property
    def override_rate(self) -> float:
        return self.rerouted / self.decided if self.decided else 0.0


def override_rates(period: tuple[datetime, datetime]) -> list[RuleOverride]:
    """For tickets triaged in [start, end): per rule that took part in the decision, how many
    tickets staff re-routed afterwards (and escalated, sent back). Sorted by re-routings.

    Two queries over the events' (kind, at) index; the period is a cohort of decisions, so
    a re-routing a month later still counts against the rule that decided.
    """
    start, end = period
    decided = TicketEvent.objects.filter(
        kind=TicketEventKind.TRIAGED, at__gte=start, at__lt=end
    ).values_list("ticket_id", "data")
    rules_of: dict[int, list[str]] = {}
    for ticket_id, data in decided.iterator(chunk_size=5000):
        data = data or {}
        codes = list(data.get("rules") or [])
        if not codes:
            codes = [f"({data.get('source') or 'default'})"]
        if data.get("second_opinion"):
            # The classifier's second opinion raised the level: its own line, so that managers
            # see how often staff send those tickets back (and tune review_threshold).
            codes.append("(second opinion)")
        rules_of[ticket_id] = codes
    later: dict[str, set[int]] = defaultdict(set)
    moves = TicketEvent.objects.filter(
        kind__in=[TicketEventKind.REROUTED, TicketEventKind.ESCALATED, TicketEventKind.SENT_BACK],
        at__gte=start,
        ticket_id__in=TicketEvent.objects.filter(
            kind=TicketEventKind.TRIAGED, at__gte=start, at__lt=end
        ).values("ticket_id"),
    ).values_list("kind", "ticket_id")
    for kind, ticket_id in moves.iterator(chunk_size=5000):
        later[kind].add(ticket_id)
    per_rule: dict[str, RuleOverride] = {}
    for ticket_id, codes in rules_of.items():
        for code in codes:
            row = per_rule.setdefault(code, RuleOverride(code, 0, 0, 0, 0))
            row.decided += 1
            row.rerouted += ticket_id in later[TicketEventKind.REROUTED]
            row.escalated += ticket_id in later[TicketEventKind.ESCALATED]
            row.sent_back += ticket_id in later[TicketEventKind.SENT_BACK]
    return sorted(per_rule.values(), key=lambda r: (-r.rerouted, -r.decided, r.rule))
