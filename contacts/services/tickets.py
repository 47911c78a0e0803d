"""The write path of tickets: opening, status, assignment, notes, references.

Every change of a ticket's state goes through a function here; views, the API, admin actions,
Celery tasks and commands call them. Each one records the ticket's history and bumps its
`version`, so a form posted against an older version can be refused.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from accounts import permissions
from accounts.models import User

from ..models import (
    STATUS_TRANSITIONS,
    Brand,
    Channel,
    InternalNote,
    Programme,
    Status,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketReferenceCounter,
    Viewer,
)

REFERENCE_PREFIX = "FTV"


class InvalidTransition(Exception):
    """A status change the workflow map does not allow."""

    def __init__(self, ticket: Ticket, to: str) -> None:
        self.ticket = ticket
        self.to = to
        super().__init__(
            _("A ticket cannot go from “%(from)s” to “%(to)s”.")
            % {"from": Status(ticket.status).label, "to": Status(to).label}
        )


class StaleTicket(Exception):
    """The ticket changed since the form was opened: show the new state, do not overwrite."""

    def __init__(self, ticket: Ticket) -> None:
        self.ticket = ticket
        super().__init__(
            _("Ticket %(ref)s was changed by someone else in the meantime.")
            % {"ref": ticket.reference}
        )


# --- references --------------------------------------------------------------------------------


def format_reference(*, year: int, number: int) -> str:
    return f"{REFERENCE_PREFIX}-{year}-{number:06d}"


def ticket_reference_block(*, year: int, count: int) -> range:
    """Reserve `count` consecutive numbers for `year`; returns them as a range.

    One `UPDATE … RETURNING` both locks the year's counter row until the caller's transaction
    ends and reads the new value, so two processes never get the same number; the row is
    created the first time a year is seen. Bulk loaders reserve a block at once.
    """
    table = connection.ops.quote_name(TicketReferenceCounter._meta.db_table)
    sql = f"UPDATE {table} SET last = last + %s WHERE year = %s RETURNING last"
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(sql, [count, year])
        row = cursor.fetchone()
        if row is None:
            # First ticket of the year: create the row (a concurrent creator wins the race
            # harmlessly, then both go through the locked update).
            TicketReferenceCounter.objects.bulk_create(
                [TicketReferenceCounter(year=year, last=0)], ignore_conflicts=True
            )
            cursor.execute(sql, [count, year])
            row = cursor.fetchone()
    last = row[0]
    return range(last - count + 1, last + 1)


def ticket_reference_next(*, year: int) -> str:
    number = ticket_reference_block(year=year, count=1)[0]
    return format_reference(year=year, number=number)


# --- tickets -----------------------------------------------------------------------------------


def _event_row(
    *,
    ticket: Ticket,
    kind: str,
    by: User | None,
    from_value: str = "",
    to_value: str = "",
    reason: str = "",
    data: dict | None = None,
    at: datetime | None = None,
) -> TicketEvent:
    """The history entry, not yet saved (bulk writers insert many at once)."""
    return TicketEvent(
        ticket=ticket,
        kind=kind,
        actor=by if by is not None and by.is_authenticated else None,
        from_value=str(from_value),
        to_value=str(to_value),
        reason=reason,
        data=data or {},
        at=at or timezone.now(),
    )


def _event(**kwargs) -> TicketEvent:
    event = _event_row(**kwargs)
    event.save(force_insert=True)
    return event


def enqueue_triage(*, ticket_id: int) -> None:
    """Ask for triage of a new ticket once the transaction commits.

    The triage task lives in `routing`, which depends on this app: it is named by the
    TRIAGE_TASK setting rather than imported, to keep dependencies one way.
    """
    task_path = getattr(settings, "TRIAGE_TASK", "")
    if not task_path:
        return
    from frt_crm.celery import enqueue_on_commit

    enqueue_on_commit(import_string(task_path), ticket_id)


def enqueue_triage_many(*, ticket_ids: list[int]) -> None:
    """Ask for triage of these new tickets once the transaction commits.

    With a TRIAGE_BATCH_TASK (a task taking a list of ids), one message per
    TRIAGE_BATCH_SIZE tickets goes to it: a worker then claims and triages the lot in one
    transaction, instead of receiving, dispatching and discarding a message per ticket.
    Otherwise one TRIAGE_TASK message each, sent together: one producer and one pipelined
    round trip to the broker for the batch.
    """
    task_path = getattr(settings, "TRIAGE_TASK", "")
    if not task_path or not ticket_ids:
        return
    if len(ticket_ids) == 1:
        enqueue_triage(ticket_id=ticket_ids[0])
        return
    from frt_crm.celery import enqueue_on_commit

    batch_path = getattr(settings, "TRIAGE_BATCH_TASK", "")
    if batch_path:
        batch_task = import_string(batch_path)
        size = max(1, getattr(settings, "TRIAGE_BATCH_SIZE", 50))
        ids = list(ticket_ids)
        for start in range(0, len(ids), size):
            enqueue_on_commit(batch_task, ids[start : start + size])
        return
    enqueue_on_commit(_SentTogether(import_string(task_path)), list(ticket_ids))


class _SentTogether:
    """Stands for a one-id task in `enqueue_on_commit`: `delay(ids)` sends it once per id."""

    def __init__(self, task) -> None:
        self.task = task

    def delay(self, ids: list[int]) -> None:
        app = getattr(self.task, "app", None)
        if app is None or app.conf.task_always_eager:
            for pk in ids:  # run in-process (or a stand-in task): nothing to send
                self.task.delay(pk)
            return
        with app.producer_or_acquire() as producer:
            # kombu's publish batch pipelines the messages (Redis) or sends them one by one.
            batch = producer.batch() if hasattr(producer, "batch") else contextlib.nullcontext()
            with batch:
                for pk in ids:
                    self.task.apply_async((pk,), producer=producer)


def ticket_open(
    *,
    channel: str,
    brand: Brand | None,
    viewer: Viewer | None,
    subject: str,
    programme: Programme | None = None,
    by: User | None = None,
    at: datetime | None = None,
) -> Ticket:
    """Open a ticket in state `new` and ask for its triage after commit."""
    opening = TicketOpening(
        channel=channel,
        brand=brand,
        viewer=viewer,
        subject=subject,
        programme=programme,
        by=by,
        at=at,
    )
    return ticket_open_many(openings=[opening])[0]


@dataclass(frozen=True)
class TicketOpening:
    """What `ticket_open` is told about one ticket."""

    channel: str
    brand: Brand | None
    viewer: Viewer | None
    subject: str
    programme: Programme | None = None
    by: User | None = None
    at: datetime | None = None


@transaction.atomic(savepoint=False)
def ticket_open_many(*, openings: list[TicketOpening]) -> list[Ticket]:
    """Open these tickets in state `new` (in this order) and ask for the triage of each after
    commit. The intake of a batch opens its tickets with one block of references per year, one
    INSERT of the tickets and one of their history, instead of three statements each."""
    for opening in openings:
        if opening.channel not in Channel.values:
            raise ValueError(f"unknown channel {opening.channel!r}")
    now = timezone.now()
    when = [opening.at or now for opening in openings]
    years = [timezone.localtime(at).year for at in when]
    numbers = {
        year: iter(ticket_reference_block(year=year, count=years.count(year)))
        for year in sorted(set(years))
    }
    tickets = [
        Ticket(
            reference=format_reference(year=year, number=next(numbers[year])),
            channel=opening.channel,
            brand=opening.brand,
            programme=opening.programme,
            viewer=opening.viewer,
            subject=(opening.subject or "")[:300],
            status=Status.NEW,
            created_at=at,
            last_inbound_at=at,
        )
        for opening, at, year in zip(openings, when, years, strict=True)
    ]
    Ticket.objects.bulk_create(tickets)
    TicketEvent.objects.bulk_create(
        [
            _event_row(
                ticket=ticket,
                kind=TicketEventKind.CREATED,
                by=opening.by,
                to_value=Status.NEW,
                at=at,
            )
            for ticket, opening, at in zip(tickets, openings, when, strict=True)
        ]
    )
    enqueue_triage_many(ticket_ids=[ticket.pk for ticket in tickets])
    return tickets


def _lock(ticket: Ticket, expected_version: int | None) -> Ticket:
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleTicket(locked)
    return locked


def ticket_change_status(
    *,
    ticket: Ticket,
    to: str,
    by: User | None,
    reason: str = "",
    outcome: str = "",
    expected_version: int | None = None,
) -> Ticket:
    """Move the ticket to status `to` if the workflow map allows it.

    Locks the ticket row; raises InvalidTransition or StaleTicket (when `expected_version` is
    given and the ticket changed since). Resolving stamps `resolved_at` (and the outcome);
    waiting for the viewer pauses the SLA clock, which resumes when the status moves on.
    """
    with transaction.atomic():
        locked = _lock(ticket, expected_version)
        if to not in STATUS_TRANSITIONS[locked.status]:
            raise InvalidTransition(locked, to)
        now = timezone.now()
        old = locked.status
        locked.status = to
        if to == Status.RESOLVED:
            locked.resolved_at = now
            locked.outcome = outcome or locked.outcome
        elif to == Status.CLOSED:
            locked.closed_at = now
        elif old == Status.RESOLVED:
            locked.resolved_at = None
        if to == Status.WAITING_VIEWER and locked.sla_paused_at is None:
            locked.sla_paused_at = now
        elif old == Status.WAITING_VIEWER:
            _resume_sla(locked, now)
        locked.version = F("version") + 1
        locked.save()
        kind = TicketEventKind.REOPENED if old == Status.RESOLVED else TicketEventKind.STATUS
        _event(ticket=locked, kind=kind, by=by, from_value=old, to_value=to, reason=reason)
        locked.refresh_from_db()
    return locked


def _resume_sla(ticket: Ticket, now: datetime) -> None:
    """Push the due dates by the time spent waiting for the viewer.

    The business calendar (working days) belongs to `routing`; the shift is computed there
    when it is configured (SLA_RESUME_HOOK), otherwise by plain elapsed time.
    """
    if ticket.sla_paused_at is None:
        return
    hook = getattr(settings, "SLA_RESUME_HOOK", "")
    if hook:
        import_string(hook)(ticket=ticket, paused_at=ticket.sla_paused_at, resumed_at=now)
    else:
        paused = now - ticket.sla_paused_at
        if ticket.first_response_due_at and ticket.level_first_responded_at is None:
            ticket.first_response_due_at += paused
        if ticket.resolution_due_at:
            ticket.resolution_due_at += paused
    ticket.sla_paused_at = None


def ticket_assign(
    *, ticket: Ticket, to: User | None, by: User | None, expected_version: int | None = None
) -> Ticket:
    """Give the ticket to `to` (None to put it back in the queue)."""
    if to is not None and not permissions.can(to, "work", ticket):
        raise PermissionError(_("%(user)s may not work on this ticket.") % {"user": to})
    with transaction.atomic():
        locked = _lock(ticket, expected_version)
        old = locked.assignee
        locked.assignee = to
        if to is not None and locked.status == Status.TRIAGED:
            locked.status = Status.IN_PROGRESS
        elif to is None and locked.status == Status.IN_PROGRESS:
            locked.status = Status.TRIAGED
        locked.version = F("version") + 1
        locked.save()
        _event(
            ticket=locked,
            kind=TicketEventKind.ASSIGNED,
            by=by,
            from_value=old.username if old else "",
            to_value=to.username if to else "",
        )
        locked.refresh_from_db()
    return locked


def note_add(*, ticket: Ticket, author: User, body: str) -> InternalNote:
    """Add an internal note at the author's level (level-2 notes stay hidden from agents)."""
    if not permissions.can(author, "work", ticket):
        raise PermissionError(_("You may not add a note to this ticket."))
    body = (body or "").strip()
    if not body:
        raise ValueError(_("A note cannot be empty."))
    level = permissions.ROLE_LEVEL[permissions.role_of(author)]
    return InternalNote.objects.create(ticket=ticket, author=author, level=level, body=body)


# --- merging two tickets (the workspace) -------------------------------------------------------


class TicketMergeError(ValueError):
    """A ticket merge that cannot be done (message for the user)."""


def ticket_merge(
    *,
    source: Ticket,
    target: Ticket,
    by: User,
    reason: str = "",
    expected_version: int | None = None,
) -> Ticket:
    """Merge `source` (a duplicate request) into `target`: its contacts and internal notes
    move to `target`, `source` is closed as a duplicate with `merged_into` set (a later reply
    to its emails threads onto `target`: the intake follows `merged_into`).

    Requires `merge` on both tickets (SRT, mediators, managers). `expected_version` is the
    source's version when the form was opened (StaleTicket otherwise). Both tickets must be of
    the same viewer (merge the viewers first). Returns the target.
    """
    from ..models import Contact

    if source.pk == target.pk:
        raise TicketMergeError(_("A ticket cannot be merged into itself."))
    for ticket in (source, target):
        permissions.require(by, "merge", ticket)
    with transaction.atomic():
        locked = {
            t.pk: t
            for t in Ticket.objects.select_for_update().filter(pk__in=[source.pk, target.pk])
        }
        src, dst = locked[source.pk], locked[target.pk]
        if expected_version is not None and src.version != expected_version:
            raise StaleTicket(src)
        if src.merged_into_id or dst.merged_into_id:
            raise TicketMergeError(_("One of these tickets was already merged."))
        if dst.status == Status.CLOSED or src.status == Status.CLOSED:
            raise TicketMergeError(_("A closed ticket cannot be merged."))
        if src.viewer_id and dst.viewer_id and src.viewer_id != dst.viewer_id:
            raise TicketMergeError(
                _("These tickets are from different viewers: merge the viewers first.")
            )
        now = timezone.now()
        contact_ids = list(Contact.objects.filter(ticket=src).values_list("pk", flat=True))
        note_ids = list(InternalNote.objects.filter(ticket=src).values_list("pk", flat=True))
        Contact.objects.filter(pk__in=contact_ids).update(ticket=dst)
        InternalNote.objects.filter(pk__in=note_ids).update(ticket=dst)
        old_status = src.status
        src.merged_into = dst
        src.status = Status.CLOSED
        src.outcome = "duplicate"
        src.resolved_at = src.resolved_at or now
        src.closed_at = now
        src.version = F("version") + 1
        src.save()
        if dst.viewer_id is None and src.viewer_id:
            dst.viewer_id = src.viewer_id
        if src.last_inbound_at and (
            dst.last_inbound_at is None or src.last_inbound_at > dst.last_inbound_at
        ):
            dst.last_inbound_at = src.last_inbound_at
        dst.version = F("version") + 1
        dst.save()
        data = {"contacts": contact_ids, "notes": note_ids, "source_status": old_status}
        _event(
            ticket=src,
            kind=TicketEventKind.MERGED,
            by=by,
            from_value=old_status,
            to_value=dst.reference,
            reason=reason,
            data=data,
            at=now,
        )
        _event(
            ticket=dst,
            kind=TicketEventKind.MERGED,
            by=by,
            from_value=src.reference,
            reason=reason,
            data=data,
            at=now,
        )
        dst.refresh_from_db()
    return dst
