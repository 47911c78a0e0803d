"""The tickets behind a figure: the same filters and definitions as the rollups, applied to the
ticket table, within the user's scope, a page at a time (keyset pagination on the
(created_at, id) index: page 1,000 costs what page 1 does)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.models import (
    OPEN_STATUSES,
    Contact,
    Direction,
    Ticket,
    TicketEvent,
    TicketEventKind,
)
from contacts.selectors import ticket_list

from ..filters import day_start
from .common import Scope

PAGE_SIZE = 50
EVENT_METRICS = {
    "escalated": TicketEventKind.ESCALATED,
    "sent_back": TicketEventKind.SENT_BACK,
    "rerouted": TicketEventKind.REROUTED,
}
SURVEY_METRICS = {"surveyed", "answered", "csat", "score", "low_score"}
METRICS = {
    "": gettext_lazy("All tickets"),
    "resolved": gettext_lazy("Resolved"),
    "escalated": gettext_lazy("Escalated"),
    "sent_back": gettext_lazy("Sent back"),
    "rerouted": gettext_lazy("Re-routed (triage overridden)"),
    "fcr": gettext_lazy("Resolved at the first contact"),
    "fr_due": gettext_lazy("First answer due"),
    "fr_met": gettext_lazy("First answer on time"),
    "fr_breached": gettext_lazy("First answer late"),
    "res_due": gettext_lazy("Resolution due"),
    "res_met": gettext_lazy("Resolved on time"),
    "res_breached": gettext_lazy("Resolution late"),
    "open": gettext_lazy("Open now"),
    "overdue": gettext_lazy("Open past the resolution deadline"),
    "surveyed": gettext_lazy("Survey sent"),
    "answered": gettext_lazy("Survey answered"),
    "csat": gettext_lazy("Satisfied (score 4–5)"),
    "score": gettext_lazy("Survey score"),
    "low_score": gettext_lazy("Dissatisfied (score 1–2)"),
}
# Candidate names of the ticket page (it belongs to another app); the first that exists wins.
TICKET_URL_NAMES = ("contacts:ticket_detail", "contacts:ticket", "routing:ticket")


@dataclass
class TicketPage:
    tickets: list[Ticket]
    next_cursor: str
    metric: str
    description: list[str]
    ticket_url: str  # with "0" in place of the id, or "" when no ticket page exists

    @property
    def rows(self) -> list[tuple[Ticket, str]]:
        """Each ticket with the link to its page (empty while no ticket page exists)."""
        if not self.ticket_url:
            return [(t, "") for t in self.tickets]
        head, _sep, tail = self.ticket_url.rpartition("/0/")
        return [(t, f"{head}/{t.pk}/{tail}") for t in self.tickets]


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def _event(kind: str) -> Exists:
    return Exists(TicketEvent.objects.filter(ticket=OuterRef("pk"), kind=kind))


def ticket_url_pattern() -> str:
    for name in TICKET_URL_NAMES:
        try:
            return reverse(name, kwargs={"pk": 0})
        except NoReverseMatch:
            continue
    return ""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(ticket: Ticket) -> str:
    """The last ticket's (created_at, id) as URL-safe text: microseconds since 1970, id."""
    micros = (ticket.created_at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}_{ticket.pk}"


def _decode_cursor(raw: str) -> tuple[datetime, int] | None:
    try:
        micros, pk = raw.split("_", 1)
        return _EPOCH + timedelta(microseconds=int(micros)), int(pk)
    except (ValueError, TypeError, OverflowError):
        return None


def _metric_q(qs: QuerySet, metric: str, params, now: datetime) -> QuerySet:
    if metric in EVENT_METRICS:
        return qs.filter(_event(EVENT_METRICS[metric]))
    if metric == "resolved":
        return qs.filter(resolved_at__isnull=False)
    if metric == "fcr":
        inbound = Subquery(
            Contact.objects.filter(ticket=OuterRef("pk"), direction=Direction.INBOUND)
            .order_by()
            .values("ticket")
            .annotate(n=Count("pk"))
            .values("n")[:1]
        )
        return (
            qs.annotate(_in=Coalesce(inbound, 0))
            .filter(resolved_at__isnull=False, _in__lte=1)
            .exclude(_event(TicketEventKind.ESCALATED))
        )
    if metric.startswith("fr_"):
        # On time or late against the deadline in force: the first answer at the current level.
        answered_at = Coalesce("level_first_responded_at", "resolved_at")
        qs = qs.annotate(_answered_at=answered_at).filter(
            Q(first_response_due_at__isnull=False)
            & (Q(_answered_at__isnull=False) | Q(first_response_due_at__lt=now))
        )
        on_time = Q(_answered_at__isnull=False, _answered_at__lte=F("first_response_due_at"))
        if metric == "fr_met":
            return qs.filter(on_time)
        if metric == "fr_breached":
            return qs.exclude(on_time)
        return qs
    if metric.startswith("res_"):
        qs = qs.filter(
            Q(resolution_due_at__isnull=False)
            & (Q(resolved_at__isnull=False) | Q(resolution_due_at__lt=now))
        )
        on_time = Q(resolved_at__isnull=False, resolved_at__lte=F("resolution_due_at"))
        if metric == "res_met":
            return qs.filter(on_time)
        if metric == "res_breached":
            return qs.exclude(on_time)
        return qs
    if metric in {"open", "overdue"}:
        qs = qs.filter(status__in=sorted(OPEN_STATUSES))
        age_min, age_max = _int(params.get("age_min")), _int(params.get("age_max"))
        if age_min:
            qs = qs.filter(created_at__lte=now - timedelta(days=age_min))
        if age_max:
            qs = qs.filter(created_at__gt=now - timedelta(days=age_max))
        if metric == "overdue":
            qs = qs.filter(resolution_due_at__lt=now)
        return qs
    if metric == "surveyed":
        return qs.filter(survey__isnull=False)
    if metric == "answered":
        return qs.filter(survey__score__isnull=False, survey__answered_at__isnull=False)
    if metric == "csat":
        return qs.filter(survey__score__gte=4, survey__answered_at__isnull=False)
    if metric == "low_score":
        return qs.filter(survey__score__lte=2, survey__answered_at__isnull=False)
    if metric == "score":
        return qs.filter(survey__score=_int(params.get("score")) or 0)
    return qs


def _rule_q(code: str, vendor: str) -> Q:
    if code.startswith("(") and code.endswith(")"):
        return Q(triage_decision__source=code[1:-1])
    if vendor == "postgresql":
        return (
            Q(triage_decision__matched_rules__contains=[code])
            | Q(triage_decision__rules__contains=[code])
            | Q(triage_decision__rule=code)
        )
    # SQLite has no JSON containment: match the code inside the list's text instead.
    return (
        Q(triage_decision__matched_rules__icontains=f'"{code}"')
        | Q(triage_decision__rules__icontains=f'"{code}"')
        | Q(triage_decision__rule=code)
    )


def dashboard_tickets(*, scope: Scope, params, cursor: str = "") -> TicketPage:
    """The tickets counted by a figure, newest first, PAGE_SIZE at a time."""
    from django.db import connection

    f = scope.filters
    now = timezone.now()
    metric = params.get("metric") or ""
    if metric not in METRICS:
        metric = ""
    survey = metric in SURVEY_METRICS
    qs = ticket_list(user=scope.user)
    described = [str(METRICS[metric])]
    if params.get("period") != "all":
        start, end = day_start(f.start), day_start(f.end + timedelta(days=1))
        field = "survey__sent_at" if survey else "created_at"
        qs = qs.filter(**{f"{field}__gte": start, f"{field}__lt": end})
        described.append(
            _("%(what)s from %(a)s to %(b)s")
            % {
                "what": _("surveys sent") if survey else _("opened"),
                "a": f.start.strftime("%d/%m/%Y"),
                "b": f.end.strftime("%d/%m/%Y"),
            }
        )
    # Survey figures group by what the ticket was when the survey went out (its snapshot).
    prefix = "survey__" if survey else ""
    channel_field = "survey__ticket_channel" if survey else "channel"
    if params.get("brand") == "none":
        qs = qs.filter(brand__isnull=True)
        described.append(_("no brand"))
    elif f.brand:
        qs = qs.filter(brand_id__in=scope.brand_ids() or [])
        described.append(scope.brand_name(f.brand))
    if f.channel:
        qs = qs.filter(**{channel_field: f.channel})
        described.append(scope.channel_name(f.channel))
    if params.get("team") == "none":
        qs = qs.filter(**{f"{prefix}team__isnull": True})
        described.append(_("no team"))
    elif f.team:
        qs = qs.filter(**{f"{prefix}team_id": f.team})
        described.append(scope.team_name(f.team))
    level = _int(params.get("level"))
    if level:
        qs = qs.filter(**{f"{prefix}level": level})
        described.append(scope.level_name(level))
    topic = params.get("topic")
    if topic:
        qs = qs.filter(**{f"{prefix}topic": "" if topic == "none" else topic})
        described.append(scope.topic_name("" if topic == "none" else topic))
    programme = params.get("programme")
    if programme == "none":
        qs = qs.filter(programme__isnull=True)
        described.append(_("no programme"))
    elif _int(programme):
        qs = qs.filter(programme_id=_int(programme))
    rule = (params.get("rule") or "")[:64]
    if rule:
        qs = qs.filter(_rule_q(rule, connection.vendor))
        described.append(_("rule %(code)s") % {"code": rule})
    reference = (params.get("q") or "").strip()[:20]
    if reference:
        qs = qs.filter(reference=reference)
    qs = _metric_q(qs, metric, params, now)
    position = _decode_cursor(cursor) if cursor else None
    if position:
        stamp, pk = position
        qs = qs.filter(Q(created_at__lt=stamp) | Q(created_at=stamp, pk__lt=pk))
    tickets = list(qs[: PAGE_SIZE + 1])
    more = len(tickets) > PAGE_SIZE
    tickets = tickets[:PAGE_SIZE]
    return TicketPage(
        tickets=tickets,
        next_cursor=encode_cursor(tickets[-1]) if more else "",
        metric=metric,
        description=described,
        ticket_url=ticket_url_pattern(),
    )
