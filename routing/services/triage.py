"""Applying the triage decision to a new ticket, exactly once, and finding lost ones again."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Team
from contacts.models import SlaState, Status, Ticket, TicketEvent, TicketEventKind

from .. import config_cache, rules
from ..sla import sla_due_dates, sla_targets_for
from .facts import facts_for_tickets
from .policies import decide_live

logger = logging.getLogger(__name__)


def _active_teams() -> dict[str, Team]:
    return {t.code: t for t in Team.objects.filter(is_active=True)}


def team_by_code(code: str) -> Team | None:
    """The active team with this code (teams are read once per TRIAGE_CONFIG_CACHE_SECONDS)."""
    if not code:
        return None
    team = config_cache.cached("teams", _active_teams).get(code)
    if team is None:
        logger.warning("triage chose team %r, which does not exist or is inactive", code)
    return team


def ticket_triage(*, ticket_id: int, batch: int = 1) -> Ticket | None:
    """Decide and apply level, team, topic, priority, tags and SLA due dates of a `new` ticket.

    Idempotent: only a ticket still `new` becomes `triaged`, under a row lock and by a
    conditional update on its status (a redelivered message, a sweep's re-enqueue or a
    concurrent worker finds it no longer `new` and does nothing). Stores the decision (JSON),
    its explanation and the policy version, and writes one TicketEvent(kind=triaged) naming the
    rules that decided.

    With ``batch`` > 1 (real workers, TRIAGE_BATCH_SIZE), the same transaction also takes up
    to ``batch`` - 1 other tickets waiting in `new`, oldest first, skipping rows another
    worker holds (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL): during a burst, tickets are
    triaged by the dozen, with one read of the facts and one commit, and their own messages
    then find nothing to do. A message whose ticket another worker is triaging at that moment
    takes the next waiting batch instead, so that every worker process keeps busy.

    Returns ticket ``ticket_id`` triaged, or None when there was nothing to do.
    """
    # Cheap looks first: most redelivered or batched-away messages end here. A ticket this
    # process triaged in a batch needs no query at all (it never goes back to `new`).
    if ticket_id in config_cache.recently_triaged:
        return None
    if not Ticket.objects.filter(pk=ticket_id, status=Status.NEW).exists():
        return None
    with transaction.atomic():
        _commit_without_waiting_for_disk()
        claimed = _claim(ticket_id=ticket_id, batch=batch)
        if not claimed:
            return None
        tickets = list(
            Ticket.objects.select_related("brand", "programme", "viewer")
            .filter(pk__in=claimed, status=Status.NEW)
            .order_by("pk")
        )
        triaged = _apply(tickets)
    if batch > 1:
        config_cache.recently_triaged.update(t.pk for t in triaged)
    return next((t for t in triaged if t.pk == ticket_id), None)


def _claim(*, ticket_id: int, batch: int) -> list[int]:
    """Lock ticket ``ticket_id`` if still new, then other new tickets up to ``batch`` in all.

    When another worker holds ticket ``ticket_id`` (it is in that worker's batch), take up to
    ``batch`` other waiting tickets instead. SQLite has no row locks: its transactions take
    the database's write lock from their start, so they run one at a time anyway.
    """
    locking = connection.features.has_select_for_update_skip_locked
    new = Ticket.objects.filter(status=Status.NEW)
    own = new.filter(pk=ticket_id)
    if locking:
        own = own.select_for_update(skip_locked=True)
    claimed = list(own.values_list("pk", flat=True))
    if not claimed and not (locking and batch > 1):
        return []
    if batch > 1:
        # The partial index on `new` tickets by creation date serves this query.
        others = new.exclude(pk=ticket_id).order_by("created_at", "id")
        if locking:
            others = others.select_for_update(skip_locked=True)
        claimed += list(others.values_list("pk", flat=True)[: batch - len(claimed)])
    return claimed


_TRIAGE_FIELDS = [
    "status",
    "level",
    "team",
    "topic",
    "priority",
    "tags",
    "triaged_at",
    "triage_explanation",
    "triage_decision",
    "triage_policy_version",
    "first_response_due_at",
    "resolution_due_at",
    "sla_state",
    "version",
    "updated_at",
]


def _apply(tickets: list[Ticket]) -> list[Ticket]:
    """Decide and store each ticket, all locked by the caller's transaction and still `new`:
    one UPDATE for the batch (still conditional on `new`) and one INSERT of the events."""
    if not tickets:
        return []
    facts = facts_for_tickets(tickets)
    now = timezone.now()
    events = []
    for ticket in tickets:
        decision = decide_live(facts[ticket.pk])
        team = team_by_code(decision.team)
        tags = list(ticket.tags or [])
        tags.extend(t for t in decision.tags if t not in tags)
        targets = sla_targets_for(level=decision.level, channel=ticket.channel, tags=tags)
        first_due, resolution_due = sla_due_dates(
            targets=targets, team=team, start=ticket.created_at
        )
        stored = decision.as_dict()
        stored["sla_policy"] = targets.policy_id
        stored["facts"] = _facts_summary(facts[ticket.pk])
        ticket.status, ticket.level, ticket.team = Status.TRIAGED, decision.level, team
        ticket.topic, ticket.priority, ticket.tags = decision.topic or "", decision.priority, tags
        ticket.triaged_at, ticket.triage_explanation = now, decision.explanation
        ticket.triage_decision = stored
        ticket.triage_policy_version = decision.policy_version
        ticket.first_response_due_at, ticket.resolution_due_at = first_due, resolution_due
        ticket.sla_state, ticket.version, ticket.updated_at = SlaState.OK, ticket.version + 1, now
        events.append(
            TicketEvent(
                ticket_id=ticket.pk,
                kind=TicketEventKind.TRIAGED,
                from_value=Status.NEW,
                to_value=Status.TRIAGED,
                at=now,
                data={
                    "level": decision.level,
                    "team": decision.team,
                    "topic": decision.topic or "",
                    "priority": decision.priority,
                    "rules": list(decision.matched_rules),
                    "source": decision.source,
                    "policy_version": decision.policy_version,
                },
            )
        )
    changed = Ticket.objects.filter(status=Status.NEW).bulk_update(tickets, _TRIAGE_FIELDS)
    if changed != len(tickets):
        # Cannot happen under the row locks; should it, the whole batch is left to retry.
        raise RuntimeError(f"triage batch: {changed} of {len(tickets)} tickets were still new")
    TicketEvent.objects.bulk_create(events)
    return tickets


def _commit_without_waiting_for_disk() -> None:
    """On PostgreSQL, let this transaction commit without waiting for the WAL flush.

    A crash may then lose the last fraction of a second of triage results, never corrupt
    anything: those tickets are still `new`, and the sweep triages them again with the same
    (deterministic) decision. Waiting for the disk was the largest single cost of a triage.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _facts_summary(facts: rules.Facts) -> dict:
    """The history facts the decision saw (the text itself is on the contact)."""
    return {
        "open_tickets": facts.open_tickets,
        "earlier_answers": facts.earlier_answers,
        "repeat_contacts_same_subject": facts.repeat_contacts_same_subject,
        "has_attachments": facts.has_attachments,
        "sender_kind": facts.sender_kind,
    }


def triage_sweep_stalled(*, older_than: timedelta | None = None, limit: int = 2000) -> int:
    """Enqueue the triage again for tickets left `new` longer than ``older_than`` (a message
    lost by the broker, a worker killed mid-task). Re-enqueuing a ticket whose first message
    is merely late is harmless: the task is idempotent. Returns how many were enqueued."""
    from frt_crm.celery import enqueue_on_commit

    from ..tasks import triage_ticket

    older_than = older_than or timedelta(minutes=settings.TRIAGE_STALLED_AFTER_MINUTES)
    cutoff = timezone.now() - older_than
    ids = list(
        Ticket.objects.filter(status=Status.NEW, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for ticket_id in ids:
        enqueue_on_commit(triage_ticket, ticket_id)
    if ids:
        logger.warning("triage sweep: %d ticket(s) left new were enqueued again", len(ids))
    return len(ids)
