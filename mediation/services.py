"""The write path of mediation: every change of a case, note, request for comment, opinion or
comment goes through a function here. Each one writes the case's timeline and the audit log.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Role, TeamMembership, User
from accounts.services import audit_record
from contacts.models import Programme, Ticket, Topic

from .models import (
    DESK_TEAM,
    Case,
    CaseEvent,
    CaseEventKind,
    CaseOrigin,
    CaseReferenceCounter,
    CaseStatus,
    CaseTicket,
    Desk,
)

# DESIGN.md: level 3, resolution in 35 working days.
CASE_DEADLINE_WORKING_DAYS = 35


# --- calendar ----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _french_holidays(year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.France(years=year))


def _is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _french_holidays(day.year)


def add_working_days(*, start: date, days: int) -> date:
    """The date `days` working days after `start` (weekends and French public holidays off).

    The business calendar belongs to `routing.sla`; when it offers `add_working_days` we use
    it, so that mediation deadlines follow the same calendar as tickets' SLAs. This local
    version (metropolitan France's public holidays) is the fallback while it does not.
    """
    try:
        from routing import sla  # routing depends on nothing of ours; imported lazily
    except ImportError:
        sla = None
    shared = getattr(sla, "add_working_days", None) if sla is not None else None
    if shared is not None:
        result = shared(start=start, days=days)
        return result.date() if hasattr(result, "date") and callable(result.date) else result
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if _is_working_day(day):
            remaining -= 1
    return day


# --- helpers -----------------------------------------------------------------------------------


def _event(
    *, case: Case, kind: str, by: User | None, text: str = "", data: dict | None = None
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        actor=by if by is not None and by.is_authenticated else None,
        text=text[:500],
        data=data or {},
    )


def case_reference_next(*, year: int) -> str:
    """MED-YYYY-NNNN; the counter row is locked for the caller's transaction."""
    with transaction.atomic():
        CaseReferenceCounter.objects.get_or_create(year=year)
        counter = CaseReferenceCounter.objects.select_for_update().get(year=year)
        CaseReferenceCounter.objects.filter(year=year).update(last=F("last") + 1)
        return f"MED-{year}-{counter.last + 1:04d}"


def desk_for(*, topic: str, programme: Programme | None) -> str:
    """News topics and news programmes go to the news mediator, the rest to programmes."""
    if topic == Topic.EDITORIAL_NEWS or (programme is not None and programme.is_news):
        return Desk.NEWS
    return Desk.PROGRAMMES


def mediator_for_desk(*, desk: str) -> User | None:
    """The mediator in charge of a desk: an active mediator of its team, the lead first."""
    membership = (
        TeamMembership.objects.filter(
            team__code=DESK_TEAM[desk], user__role=Role.MEDIATOR, user__is_active=True
        )
        .select_related("user")
        .order_by("-is_lead", "user_id")
        .first()
    )
    return membership.user if membership else None


# --- cases -------------------------------------------------------------------------------------


def case_open_from_escalation(*, ticket: Ticket, by: User | None, reason: str) -> Case:
    """Open the case file of a ticket escalated to level 3, or return its open case.

    Idempotent: a ticket already in an open case gets that case back (escalations are retried,
    people double-click). The ticket row is locked for the transaction so that two concurrent
    escalations of one ticket open one case. The ticket itself is not changed (its level,
    team and status are the escalating service's business). Writes the timeline and the audit
    log. Safe to call inside the caller's transaction.
    """
    with transaction.atomic():
        Ticket.objects.select_for_update().filter(pk=ticket.pk).values_list("pk").first()
        existing = (
            Case.objects.filter(links__ticket_id=ticket.pk, status=CaseStatus.OPEN)
            .order_by("opened_at", "id")
            .first()
        )
        if existing is not None:
            return existing
        programme = ticket.programme if ticket.programme_id else None
        desk = desk_for(topic=ticket.topic, programme=programme)
        now = timezone.now()
        today = timezone.localdate(now)
        case = Case.objects.create(
            reference=case_reference_next(year=today.year),
            title=(ticket.subject or ticket.reference)[:300],
            desk=desk,
            brand_id=ticket.brand_id,
            programme=programme,
            topic=ticket.topic,
            summary=reason or "",
            mediator=mediator_for_desk(desk=desk),
            origin=CaseOrigin.ESCALATION,
            opened_at=now,
            opened_by=by if by is not None and by.is_authenticated else None,
            due_on=add_working_days(start=today, days=CASE_DEADLINE_WORKING_DAYS),
        )
        CaseTicket.objects.create(case=case, ticket=ticket, added_by=case.opened_by, added_at=now)
        _event(
            case=case,
            kind=CaseEventKind.OPENED,
            by=by,
            text=reason or "",
            data={"ticket": ticket.reference, "desk": desk},
        )
        audit_record(
            actor=by,
            action="mediation.case.open",
            obj=case,
            data={"ticket": ticket.reference, "reason": reason or "", "desk": desk},
        )
    return case
