"""Keeping the rollup tables current: incremental refresh, nightly reconciliation, rebuild.

A day is the unit of work. Recomputing a day deletes its rows and aggregates them again from
the source tables (with GROUP BY in the database), so running the same work twice gives the
same rows: refresh, reconcile and rebuild are idempotent, and `rebuild == many refreshes`.

What makes a day dirty since the watermark (the start of the last successful run, minus an
overlap for transactions that committed late):

- tickets: created since; touched by a TicketEvent since (every service that changes a ticket
  writes one; indexed by kind and time); threaded onto by a new contact; open and saved since;
  open with a deadline that fell due since (their SLA outcome changes with the clock alone);
- surveys: sent or answered since, or inserted since (by id), or on a dirty ticket;
- calls: rang in the last hours (still being updated) or inserted since (by id);
- contacts: inserted since (by id), or on a ticket whose level changed.

Ticket.updated_at has no index, so the incremental refresh does not scan it; a nightly
reconciliation does, once, to catch a change that wrote no event (a bulk update by hand).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from contacts.models import (
    OPEN_STATUSES,
    CallRecord,
    Contact,
    Direction,
    Ticket,
    TicketEvent,
    TicketEventKind,
)
from satisfaction.models import Survey

from ..models import (
    CallHalfHour,
    ContactHalfHour,
    DurationDaily,
    ProgrammeDaily,
    RollupState,
    RuleDaily,
    SurveyDaily,
    TicketDaily,
    TopicDaily,
)
from .rollup_rows import (
    PARIS,
    call_rows,
    chunks,
    contact_rows,
    day_ranges,
    days_of,
    month_ranges,
    survey_rows,
    ticket_rows,
)

STATE = "main"
# Transactions that started before the watermark may commit after it: look back this far.
OVERLAP = timedelta(minutes=10)
# Calls are updated after they ring (answered, hung up): re-read the last hours each time.
CALL_LOOKBACK = timedelta(hours=3)
BATCH = 2000

TICKET_ROLLUPS = (TicketDaily, TopicDaily, ProgrammeDaily, RuleDaily, DurationDaily)
ALL_ROLLUPS = (*TICKET_ROLLUPS, SurveyDaily, CallHalfHour, ContactHalfHour)


@dataclass
class RefreshReport:
    ticket_days: int = 0
    survey_days: int = 0
    call_days: int = 0
    contact_days: int = 0
    seconds: float = 0.0
    skipped: bool = False
    detail: dict[str, float] = field(default_factory=dict)

    @property
    def days(self) -> int:
        return self.ticket_days + self.survey_days + self.call_days + self.contact_days


def _insert(model, rows: list) -> None:
    """Write rollup rows in day order, with their week and month: rows of one day then sit
    together on disk, and a dashboard's range of days reads few, contiguous pages."""
    if not rows:
        return
    if hasattr(rows[0], "week"):
        for row in rows:
            row.week = row.day - timedelta(days=row.day.weekday())
            row.month = row.day.replace(day=1)
    rows.sort(key=lambda row: row.day)
    model.objects.bulk_create(rows, batch_size=BATCH)


def _replace(models_rows: dict[type, list], first: date, last: date, models: Iterable[type]):
    for model in models:
        model.objects.filter(day__gte=first, day__lte=last).delete()
        _insert(model, models_rows.get(model) or [])


def recompute_ticket_days(*, days: Iterable[date], now: datetime | None = None) -> int:
    """Recompute the ticket rollups of these (local) days. Call inside a transaction."""
    now = now or timezone.now()
    ranges = day_ranges(days)
    for first, last in ranges:
        _replace(ticket_rows(first, last, now), first, last, TICKET_ROLLUPS)
    return sum((b - a).days + 1 for a, b in ranges)


def recompute_survey_days(*, days: Iterable[date]) -> int:
    ranges = day_ranges(days)
    for first, last in ranges:
        _replace({SurveyDaily: survey_rows(first, last)}, first, last, [SurveyDaily])
    return sum((b - a).days + 1 for a, b in ranges)


def recompute_call_days(*, days: Iterable[date]) -> int:
    ranges = day_ranges(days)
    for first, last in ranges:
        _replace({CallHalfHour: call_rows(first, last)}, first, last, [CallHalfHour])
    return sum((b - a).days + 1 for a, b in ranges)


def recompute_contact_days(*, days: Iterable[date]) -> int:
    ranges = day_ranges(days)
    for first, last in ranges:
        _replace({ContactHalfHour: contact_rows(first, last)}, first, last, [ContactHalfHour])
    return sum((b - a).days + 1 for a, b in ranges)


# --- the incremental refresh -------------------------------------------------------------------


_ID_SOURCES = {"contact": Contact, "call": CallRecord, "survey": Survey}


def _current_marks() -> dict[str, int]:
    return {
        name: model.objects.aggregate(m=Max("pk"))["m"] or 0 for name, model in _ID_SOURCES.items()
    }


def _floor(state: RollupState, name: str) -> int:
    """Ids above this one may be new since the run before last (see RollupState.id_marks)."""
    marks = state.id_marks.get(name) or [0, 0]
    return int(marks[0])


def _shift_marks(state: RollupState, current: dict[str, int], *, reset: bool = False) -> None:
    state.id_marks = {
        name: [value if reset else (state.id_marks.get(name) or [0, value])[1], value]
        for name, value in current.items()
    }


def _ticket_days_for_ids(ids: set[int]) -> set[date]:
    days: set[date] = set()
    for chunk in chunks(sorted(ids)):
        days |= days_of(Ticket.objects.filter(pk__in=chunk), "created_at")
    return days


def _dirty(state: RollupState, now: datetime) -> dict[str, set[date]]:
    since = (state.watermark or now) - OVERLAP
    open_tickets = Ticket.objects.filter(status__in=sorted(OPEN_STATUSES))
    # Tickets touched since: any event (the (kind, at) index answers this), a new contact
    # threaded onto them, or a save of an open ticket.
    changed: set[int] = set(
        TicketEvent.objects.filter(kind__in=TicketEventKind.values, at__gte=since)
        .order_by()
        .values_list("ticket_id", flat=True)
        .distinct()
    )
    new_contacts = Contact.objects.filter(pk__gt=_floor(state, "contact"))
    changed |= set(new_contacts.order_by().values_list("ticket_id", flat=True).distinct())
    changed |= set(open_tickets.filter(updated_at__gte=since).values_list("pk", flat=True))
    ticket_days = _ticket_days_for_ids(changed)
    ticket_days |= days_of(Ticket.objects.filter(created_at__gte=since), "created_at")
    # Deadlines that fell due since the last run change the SLA figures with no write at all;
    # the first-answer deadline is the current level's, met by an answer at that level only.
    ticket_days |= days_of(
        open_tickets.filter(
            Q(
                first_response_due_at__gte=since,
                first_response_due_at__lte=now,
                level_first_responded_at__isnull=True,
            )
            | Q(resolution_due_at__gte=since, resolution_due_at__lte=now)
        ),
        "created_at",
    )
    survey_days = days_of(
        Survey.objects.filter(
            Q(sent_at__gte=since) | Q(answered_at__gte=since) | Q(pk__gt=_floor(state, "survey"))
        ),
        "sent_at",
    )
    for chunk in chunks(sorted(changed)):
        survey_days |= days_of(Survey.objects.filter(ticket_id__in=chunk), "sent_at")
    call_days = days_of(
        CallRecord.objects.filter(
            Q(rang_at__gte=since - CALL_LOOKBACK) | Q(pk__gt=_floor(state, "call"))
        ),
        "rang_at",
    )
    contact_days = days_of(new_contacts.filter(direction=Direction.INBOUND), "occurred_at")
    for chunk in chunks(sorted(changed)):
        contact_days |= days_of(
            Contact.objects.filter(ticket_id__in=chunk, direction=Direction.INBOUND),
            "occurred_at",
        )
    return {
        "tickets": ticket_days,
        "surveys": survey_days,
        "calls": call_days,
        "contacts": contact_days,
    }


def _locked_state(*, wait: bool) -> RollupState | None:
    RollupState.objects.get_or_create(name=STATE)
    qs = RollupState.objects.select_for_update(skip_locked=not wait)
    return qs.filter(name=STATE).first()


def rollup_refresh(*, now: datetime | None = None) -> RefreshReport:
    """Bring the rollups up to date with what changed since the last run.

    Safe to run at any time and twice at once: a run that finds another one holding the lock
    returns at once (skipped), and the next run picks up what it would have done. The first
    run on an empty state rebuilds everything.
    """
    started = _time.monotonic()
    now = now or timezone.now()
    with transaction.atomic():
        state = _locked_state(wait=False)
        if state is None:
            return RefreshReport(skipped=True)
        if state.watermark is None:
            report = _rebuild(state, now)
        else:
            marks = _current_marks()
            dirty = _dirty(state, now)
            found = _time.monotonic() - started
            report = RefreshReport(
                ticket_days=recompute_ticket_days(days=dirty["tickets"], now=now),
                survey_days=recompute_survey_days(days=dirty["surveys"]),
                call_days=recompute_call_days(days=dirty["calls"]),
                contact_days=recompute_contact_days(days=dirty["contacts"]),
                detail={"find_seconds": round(found, 3)},
            )
            _shift_marks(state, marks)
            state.watermark = now
        report.seconds = _time.monotonic() - started
        state.last_run_at = timezone.now()
        state.last_run_ms = int(report.seconds * 1000)
        state.last_run_days = report.days
        state.save()
    return report


def rollup_reconcile(*, now: datetime | None = None) -> RefreshReport:
    """Recompute the days of tickets saved since the last reconciliation, found by scanning
    Ticket.updated_at (no index: run it nightly, not every few minutes)."""
    started = _time.monotonic()
    now = now or timezone.now()
    with transaction.atomic():
        state = _locked_state(wait=True)
        since = (state.reconciled_at or state.watermark or now) - OVERLAP
        days = days_of(Ticket.objects.filter(updated_at__gte=since), "created_at")
        report = RefreshReport(ticket_days=recompute_ticket_days(days=days, now=now))
        contact_ids = Ticket.objects.filter(updated_at__gte=since).values("pk")
        report.contact_days = recompute_contact_days(
            days=days_of(
                Contact.objects.filter(ticket_id__in=contact_ids, direction=Direction.INBOUND),
                "occurred_at",
            )
        )
        state.reconciled_at = now
        state.save(update_fields=["reconciled_at"])
    report.seconds = _time.monotonic() - started
    return report


def _source_span() -> tuple[date, date] | None:
    firsts, lasts = [], []
    for model, name in (
        (Ticket, "created_at"),
        (Survey, "sent_at"),
        (CallRecord, "rang_at"),
        (Contact, "occurred_at"),
    ):
        agg = model.objects.aggregate(first=Min(name), last=Max(name))
        if agg["first"] is not None:
            firsts.append(timezone.localtime(agg["first"], PARIS).date())
            lasts.append(timezone.localtime(agg["last"], PARIS).date())
    if not firsts:
        return None
    return min(firsts), max(lasts)


def _rebuild(
    state: RollupState, now: datetime, progress: Callable[[str], None] | None = None
) -> RefreshReport:
    marks = _current_marks()
    for model in ALL_ROLLUPS:
        model.objects.all().delete()
    report = RefreshReport()
    span = _source_span()
    if span is not None:
        for first, last in month_ranges(*span):
            for model_rows in (
                ticket_rows(first, last, now),
                {SurveyDaily: survey_rows(first, last)},
                {CallHalfHour: call_rows(first, last)},
                {ContactHalfHour: contact_rows(first, last)},
            ):
                for model, rows in model_rows.items():
                    _insert(model, rows)
            n = (last - first).days + 1
            report.ticket_days += n
            report.survey_days += n
            report.call_days += n
            report.contact_days += n
            if progress:
                progress(f"{first:%Y-%m} done")
    state.watermark = now
    state.reconciled_at = now
    state.rebuilt_at = now
    _shift_marks(state, marks, reset=True)
    return report


def rollup_rebuild(
    *, now: datetime | None = None, progress: Callable[[str], None] | None = None
) -> RefreshReport:
    """Recompute every rollup from the source tables, in one transaction (readers keep the
    old figures until it commits). Waits for a refresh in progress to finish."""
    started = _time.monotonic()
    now = now or timezone.now()
    with transaction.atomic():
        state = _locked_state(wait=True)
        report = _rebuild(state, now, progress)
        report.seconds = _time.monotonic() - started
        state.last_run_at = timezone.now()
        state.last_run_ms = int(report.seconds * 1000)
        state.last_run_days = report.days
        state.save()
    return report
