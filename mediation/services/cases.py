"""Case files: opening (from an escalation or by a mediator), tickets, evidence, confidential
notes, the mediator in charge, closing with an outcome. Each change writes the case's timeline
and the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import permissions
from accounts.models import Role, TeamMembership, User
from accounts.services import audit_record
from contacts.models import Brand, Programme, Ticket, Topic

from ..models import (
    DESK_TEAM,
    Case,
    CaseEvent,
    CaseEventKind,
    CaseOrigin,
    CaseOutcome,
    CaseReferenceCounter,
    CaseStatus,
    CaseTicket,
    ConfidentialNote,
    Desk,
    Evidence,
    EvidenceKind,
)

# DESIGN.md: level 3, resolution in 35 working days.
CASE_DEADLINE_WORKING_DAYS = 35


# --- calendar ----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _french_holidays(year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.France(years=year))


def _local_is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _french_holidays(day.year)


def _working_day_test():
    """The business calendar's test of a working day.

    The calendar belongs to routing (`routing.business_calendar`, the SLA clocks): mediation
    deadlines use it so that they follow the same days as tickets' SLAs. It is imported lazily
    (routing calls this app, not the reverse at import time). The local version, metropolitan
    France's public holidays from the `holidays` package, is the fallback should it be absent.
    """
    try:
        from routing.business_calendar import is_working_day
    except ImportError:
        return _local_is_working_day
    return is_working_day


def add_working_days(*, start: date, days: int) -> date:
    """The date `days` working days after `start` (weekends and French public holidays off)."""
    is_working_day = _working_day_test()
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


# --- helpers -----------------------------------------------------------------------------------


def event_add(
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


def _desk_of_team(ticket: Ticket) -> str | None:
    """The desk whose team the ticket was placed in, if a mediator's: routing's placement
    (its policy, or a manual re-route) wins over our own reading of the topic."""
    if not ticket.team_id:
        return None
    code = ticket.team.code
    return next((desk for desk, team in DESK_TEAM.items() if team == code), None)


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
        desk = _desk_of_team(ticket) or desk_for(topic=ticket.topic, programme=programme)
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
        event_add(
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


def _actor(by: User | None) -> User | None:
    return by if by is not None and by.is_authenticated else None


def case_open(
    *,
    by: User,
    title: str,
    desk: str,
    brand: Brand | None = None,
    programme: Programme | None = None,
    air_date: date | None = None,
    topic: str = "",
    summary: str = "",
    mediator: User | None = None,
) -> Case:
    """Open a case directly (a mediator's own initiative, a letter to the mediator…).

    The mediator in charge defaults to the desk's; the deadline is 35 working days.
    """
    if desk not in Desk.values:
        raise ValidationError(_("Unknown desk."))
    if mediator is not None and mediator.role != Role.MEDIATOR:
        raise ValidationError(_("The person in charge must be a mediator."))
    with transaction.atomic():
        now = timezone.now()
        today = timezone.localdate(now)
        case = Case.objects.create(
            reference=case_reference_next(year=today.year),
            title=title.strip()[:300],
            desk=desk,
            brand=brand,
            programme=programme,
            air_date=air_date,
            topic=topic,
            summary=summary,
            mediator=mediator or mediator_for_desk(desk=desk),
            origin=CaseOrigin.MEDIATOR,
            opened_at=now,
            opened_by=_actor(by),
            due_on=add_working_days(start=today, days=CASE_DEADLINE_WORKING_DAYS),
        )
        event_add(case=case, kind=CaseEventKind.OPENED, by=by, data={"desk": desk})
        audit_record(actor=by, action="mediation.case.open", obj=case, data={"desk": desk})
    return case


def case_update(
    *,
    case: Case,
    by: User,
    title: str,
    brand: Brand | None,
    programme: Programme | None,
    air_date: date | None,
    topic: str,
    summary: str,
    due_on: date | None = None,
) -> Case:
    """Change what the case is about (title, broadcast, air date, summary, deadline)."""
    changed = []
    for field, value in (
        ("title", title.strip()[:300]),
        ("brand", brand),
        ("programme", programme),
        ("air_date", air_date),
        ("topic", topic),
        ("summary", summary),
    ):
        if getattr(case, field) != value:
            setattr(case, field, value)
            changed.append(field)
    if due_on is not None and due_on != case.due_on:
        case.due_on = due_on
        changed.append("due_on")
    if not changed:
        return case
    with transaction.atomic():
        case.save(update_fields=changed)
        audit_record(actor=by, action="mediation.case.update", obj=case, data={"fields": changed})
    return case


def case_assign(*, case: Case, to: User, by: User) -> Case:
    """Give the case to another mediator (the other desk's, or a deputy)."""
    if to.role != Role.MEDIATOR or not to.is_active:
        raise ValidationError(_("The person in charge must be an active mediator."))
    if case.mediator_id == to.pk:
        return case
    old = case.mediator
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(mediator=to)
        case.mediator = to
        event_add(
            case=case,
            kind=CaseEventKind.ASSIGNED,
            by=by,
            text=f"{old or '—'} → {to}",
            data={"from": old.pk if old else None, "to": to.pk},
        )
        audit_record(
            actor=by,
            action="mediation.case.assign",
            obj=case,
            data={"from": old.username if old else "", "to": to.username},
        )
    return case


@dataclass(frozen=True)
class AttachResult:
    added: int
    already_in_case: int
    in_other_open_case: list[str]


def case_attach_tickets(*, case: Case, ticket_ids: Iterable[int], by: User) -> AttachResult:
    """Gather tickets into the case, in bulk (a controversial report brings hundreds).

    Tickets already in this case are left alone; tickets in another open case are not moved
    (their references are returned, for the mediator to merge by hand if that was intended).
    One timeline entry and one audit line for the batch, whatever its size.
    """
    if not case.is_open:
        raise ValidationError(_("This case is closed."))
    wanted = set(ticket_ids)
    with transaction.atomic():
        # Locks the case row: two attaches to one case serialise.
        Case.objects.select_for_update().filter(pk=case.pk).values_list("pk").first()
        here = set(CaseTicket.objects.filter(case=case).values_list("ticket_id", flat=True))
        elsewhere = dict(
            CaseTicket.objects.filter(ticket_id__in=wanted - here, case__status=CaseStatus.OPEN)
            .exclude(case=case)
            .values_list("ticket_id", "ticket__reference")
        )
        to_add = sorted(wanted - here - set(elsewhere))
        existing = set(Ticket.objects.filter(pk__in=to_add).values_list("pk", flat=True))
        now = timezone.now()
        CaseTicket.objects.bulk_create(
            [
                CaseTicket(case=case, ticket_id=pk, added_by=_actor(by), added_at=now)
                for pk in to_add
                if pk in existing
            ],
            ignore_conflicts=True,
            batch_size=500,
        )
        added = len(existing)
        if added:
            event_add(
                case=case,
                kind=CaseEventKind.TICKETS,
                by=by,
                text=_("%(count)s ticket(s) added") % {"count": added},
                data={"count": added},
            )
            audit_record(
                actor=by,
                action="mediation.case.attach",
                obj=case,
                data={"count": added, "ticket_ids": sorted(existing)[:1000]},
            )
    return AttachResult(
        added=added,
        already_in_case=len(wanted & here),
        in_other_open_case=sorted(elsewhere.values()),
    )


def case_detach_ticket(*, case: Case, ticket: Ticket, by: User) -> None:
    """Take a ticket out of the case (added by mistake)."""
    with transaction.atomic():
        deleted, _unused = CaseTicket.objects.filter(case=case, ticket=ticket).delete()
        if deleted:
            event_add(
                case=case,
                kind=CaseEventKind.TICKETS,
                by=by,
                text=_("Ticket %(ref)s removed") % {"ref": ticket.reference},
                data={"removed": ticket.reference},
            )
            audit_record(
                actor=by,
                action="mediation.case.detach",
                obj=case,
                data={"ticket": ticket.reference},
            )


def evidence_add(
    *,
    case: Case,
    by: User,
    kind: str,
    label: str,
    timecode: str = "",
    url: str = "",
    file: UploadedFile | None = None,
) -> Evidence:
    """File a piece of evidence: a time code in the broadcast, a link, or a document."""
    if kind not in EvidenceKind.values:
        raise ValidationError(_("Unknown kind of evidence."))
    if kind == EvidenceKind.TIMECODE and not timecode:
        raise ValidationError(_("Give the time code."))
    if kind == EvidenceKind.LINK and not url:
        raise ValidationError(_("Give the link."))
    if kind == EvidenceKind.FILE and not file:
        raise ValidationError(_("Choose a file."))
    with transaction.atomic():
        evidence = Evidence.objects.create(
            case=case,
            kind=kind,
            label=label.strip()[:300],
            timecode=timecode.strip(),
            url=url.strip(),
            file=file or "",
            added_by=by,
        )
        event_add(case=case, kind=CaseEventKind.EVIDENCE, by=by, text=evidence.label)
        audit_record(
            actor=by, action="mediation.evidence.add", obj=case, data={"evidence": evidence.pk}
        )
    return evidence


def confidential_note_add(*, case: Case, author: User, body: str) -> ConfidentialNote:
    """Add a confidential note. Mediators only (administrators included not): the policy is
    asked here too, since nobody else may ever write one whatever the caller."""
    if not permissions.can(author, "add", ConfidentialNote(case=case)):
        raise PermissionDenied
    body = (body or "").strip()
    if not body:
        raise ValidationError(_("A note cannot be empty."))
    with transaction.atomic():
        note = ConfidentialNote.objects.create(case=case, author=author, body=body)
        # The timeline says a note was written, never what it says: managers read the case.
        event_add(case=case, kind=CaseEventKind.NOTE, by=author)
        audit_record(actor=author, action="mediation.note.add", obj=case, data={"note": note.pk})
    return note


def case_close(*, case: Case, by: User, outcome: str) -> Case:
    """Close the case with its outcome (a case never closes without one)."""
    if outcome not in CaseOutcome.values or not outcome:
        raise ValidationError(_("A case closes only with an outcome."))
    with transaction.atomic():
        now = timezone.now()
        updated = Case.objects.filter(pk=case.pk, status=CaseStatus.OPEN).update(
            status=CaseStatus.CLOSED, outcome=outcome, closed_at=now
        )
        if not updated:
            raise ValidationError(_("This case is already closed."))
        case.status, case.outcome, case.closed_at = CaseStatus.CLOSED, outcome, now
        event_add(
            case=case,
            kind=CaseEventKind.CLOSED,
            by=by,
            text=str(CaseOutcome(outcome).label),
            data={"outcome": outcome},
        )
        audit_record(actor=by, action="mediation.case.close", obj=case, data={"outcome": outcome})
    return case


def case_reopen(*, case: Case, by: User, reason: str) -> Case:
    """Reopen a closed case (new facts); its outcome is cleared until it closes again."""
    with transaction.atomic():
        updated = Case.objects.filter(pk=case.pk, status=CaseStatus.CLOSED).update(
            status=CaseStatus.OPEN, outcome="", closed_at=None
        )
        if not updated:
            raise ValidationError(_("This case is open."))
        case.status, case.outcome, case.closed_at = CaseStatus.OPEN, "", None
        event_add(case=case, kind=CaseEventKind.REOPENED, by=by, text=reason)
        audit_record(actor=by, action="mediation.case.reopen", obj=case, data={"reason": reason})
    return case
