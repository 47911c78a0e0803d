"""Celery tasks of the routing app: thin, ids as arguments, safe to run twice.

They run on the `triage` queue (CELERY_TASK_ROUTES: routing.tasks.*), so that a burst of
new tickets never waits behind mail or OCR work, and the reverse.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from . import services, sla
from .services.triage import ticket_triage_many

# A database that restarts or fails over answers OperationalError/InterfaceError for a few
# seconds: retry with exponential backoff (1 s, 2 s, 4 s… capped at 60 s, with jitter).
_DB_ERRORS = (OperationalError, InterfaceError)


# Both triage tasks: retried on database errors; acknowledged on receipt, unlike the
# project's default: the unacked-message bookkeeping in Redis costs about as much as a triage,
# and nothing is lost without it, since the database is the record: a ticket whose message
# died with a worker is still `new` and the sweep (triage_sweep) enqueues it again.
_TRIAGE_OPTIONS = {
    "autoretry_for": _DB_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": False,
}


@shared_task(**_TRIAGE_OPTIONS)
def triage_tickets(ticket_ids: list[int]) -> None:
    """Triage these `new` tickets (those already triaged are skipped): what the intake sends
    when a batch of new tickets commits, one message for up to TRIAGE_BATCH_SIZE tickets.

    In a worker, a message with fewer tickets takes other waiting ones along; run in-process
    (eager: the embedded default, tests) it triages these tickets only.
    """
    eager = bool(getattr(triage_tickets.request, "is_eager", False))
    ticket_triage_many(ticket_ids=list(ticket_ids), take_along=not eager)


@shared_task(**_TRIAGE_OPTIONS)
def triage_ticket(ticket_id: int) -> None:
    """Triage a `new` ticket; a no-op if it was already triaged.

    A worker takes other waiting tickets along (TRIAGE_BATCH_SIZE, see the service); run
    in-process (eager: the embedded default, tests) it triages this ticket only.
    """
    eager = bool(getattr(triage_ticket.request, "is_eager", False))
    batch = 1 if eager else settings.TRIAGE_BATCH_SIZE
    services.ticket_triage(ticket_id=ticket_id, batch=batch)


@shared_task(autoretry_for=_DB_ERRORS, retry_backoff=True, max_retries=3)
def triage_sweep() -> int:
    """Beat: enqueue again the tickets left `new` for more than a few minutes."""
    return services.triage_sweep_stalled()


@shared_task(autoretry_for=_DB_ERRORS, retry_backoff=True, max_retries=3)
def sla_sweep() -> dict:
    """Beat: mark tickets at risk or breached, raise their priority, notify the leads."""
    return sla.sla_sweep()


@shared_task(
    autoretry_for=(*_DB_ERRORS, ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=5,
)
def sla_notify_leads(ticket_id: int, state: str) -> int:
    """Email the team's leads about one SLA state change (enqueued once per change)."""
    return sla.sla_notify_team_leads(ticket_id=ticket_id, state=state)
