"""Applying the triage decision to a new ticket, exactly once, and finding lost ones again."""

from __future__ import annotations

import json
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
from .policies import decide_live_many

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
    triaged = _triage_batch([ticket_id], size=batch, take_along=batch > 1)
    return next((t for t in triaged if t.pk == ticket_id), None)


def ticket_triage_many(
    *, ticket_ids: list[int], batch: int = 0, take_along: bool = False
) -> list[Ticket]:
    """Triage these tickets, those still `new`, as `ticket_triage` does each: exactly once, under
    row locks and a conditional update on `new`. One transaction per ``batch`` tickets
    (TRIAGE_BATCH_SIZE by default): one claim, one read of the facts, one UPDATE, one INSERT of
    the events, one commit for the lot. What the intake sends when a batch of new tickets
    commits (one message for the batch instead of one per ticket).

    A ticket another worker holds (locked) is left to it. With ``take_along`` (real workers),
    a transaction with fewer tickets than ``batch`` also takes other waiting tickets along, as
    `ticket_triage` does with ``batch`` > 1. Returns the tickets of ``ticket_ids`` this call
    triaged (not those taken along).
    """
    size = batch or settings.TRIAGE_BATCH_SIZE
    wanted = set(ticket_ids)
    triaged: list[Ticket] = []
    ids = list(dict.fromkeys(ticket_ids))
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        done = _triage_batch(chunk, size=size, take_along=take_along)
        triaged += [t for t in done if t.pk in wanted]
    return triaged


def _triage_batch(ticket_ids: list[int], *, size: int, take_along: bool) -> list[Ticket]:
    """One transaction: claim ``ticket_ids`` still new (with ``take_along``, other waiting
    tickets too, up to ``size`` in all), decide and store them all. Returns every ticket it
    triaged."""
    # Cheap looks first: most redelivered or batched-away messages end here. A ticket this
    # process triaged in a batch needs no query at all (it never goes back to `new`).
    ids = [pk for pk in ticket_ids if pk not in config_cache.recently_triaged]
    if not ids:
        return []
    if not Ticket.objects.filter(pk__in=ids, status=Status.NEW).exists():
        return []
    with transaction.atomic():
        _commit_without_waiting_for_disk()
        claimed = _claim(ticket_ids=ids, size=size if take_along else 0)
        if not claimed:
            return []
        tickets = list(
            Ticket.objects.select_related("brand", "programme", "viewer")
            .filter(pk__in=claimed, status=Status.NEW)
            .order_by("pk")
        )
        triaged = _apply(tickets)
    if take_along:
        config_cache.recently_triaged.update(t.pk for t in triaged)
    return triaged


def _claim(*, ticket_ids: list[int], size: int) -> list[int]:
    """Lock tickets ``ticket_ids`` still new, then other new tickets up to ``size`` in all
    (``size`` 0: none).

    When another worker holds all of ``ticket_ids`` (they are in that worker's batch), take up
    to ``size`` other waiting tickets instead. SQLite has no row locks: its transactions take
    the database's write lock from their start, so they run one at a time anyway.
    """
    locking = connection.features.has_select_for_update_skip_locked
    new = Ticket.objects.filter(status=Status.NEW)
    own = new.filter(pk__in=ticket_ids)
    if locking:
        own = own.select_for_update(skip_locked=True)
    claimed = list(own.values_list("pk", flat=True))
    if not claimed and not (locking and size > len(ticket_ids)):
        return []
    if size > len(claimed) and size > len(ticket_ids):
        # The partial index on `new` tickets by creation date serves this query.
        others = new.exclude(pk__in=ticket_ids).order_by("created_at", "id")
        if locking:
            others = others.select_for_update(skip_locked=True)
        claimed += list(others.values_list("pk", flat=True)[: size - len(claimed)])
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
    decisions = decide_live_many([facts[ticket.pk] for ticket in tickets])
    for ticket, decision in zip(tickets, decisions, strict=True):
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
                    "second_opinion": "second-avis" in decision.tags,
                },
            )
        )
    changed = _store(tickets)
    if changed != len(tickets):
        # Cannot happen under the row locks; should it, the whole batch is left to retry.
        raise RuntimeError(f"triage batch: {changed} of {len(tickets)} tickets were still new")
    TicketEvent.objects.bulk_create(events)
    return tickets


def _store(tickets: list[Ticket]) -> int:
    """Write the triage fields of these tickets, still conditional on `new`; returns how many
    rows changed.

    On PostgreSQL one UPDATE … FROM unnest(arrays): each column's values travel as one array
    parameter. Django's bulk_update builds a CASE WHEN per field and ticket instead (750
    expressions for 50 tickets), whose compilation took about two thirds of a triage's time.
    """
    if connection.vendor != "postgresql":
        return Ticket.objects.filter(status=Status.NEW).bulk_update(tickets, _TRIAGE_FIELDS)
    qn = connection.ops.quote_name
    pk_field = Ticket._meta.pk
    fields = [pk_field, *(Ticket._meta.get_field(name) for name in _TRIAGE_FIELDS)]
    arrays, columns, sets, params = [], [], [], []
    for field in fields:
        values = [getattr(ticket, field.attname) for ticket in tickets]
        column = qn(field.column)
        if field.get_internal_type() == "JSONField":
            # As text, read back as jsonb: encoded with the field's own encoder, as save() does.
            params.append([json.dumps(v, cls=field.encoder) for v in values])
            arrays.append("%s::text[]")
            read = f"v.{column}::jsonb"
        else:
            params.append([field.get_db_prep_save(v, connection) for v in values])
            arrays.append(f"%s::{field.cast_db_type(connection)}[]")
            read = f"v.{column}"
        columns.append(column)
        if field is not pk_field:
            sets.append(f"{column} = {read}")
    table, pk = qn(Ticket._meta.db_table), qn(Ticket._meta.pk.column)
    status = qn(Ticket._meta.get_field("status").column)
    sql = (
        f"UPDATE {table} AS t SET {', '.join(sets)} "
        f"FROM unnest({', '.join(arrays)}) AS v({', '.join(columns)}) "
        f"WHERE t.{pk} = v.{pk} AND t.{status} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, str(Status.NEW)])
        return cursor.rowcount


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
    lost by the broker, a worker killed mid-task), TRIAGE_BATCH_SIZE tickets per message.
    Re-enqueuing a ticket whose first message is merely late is harmless: the task is
    idempotent. Returns how many were enqueued."""
    from frt_crm.celery import enqueue_on_commit

    from ..tasks import triage_tickets

    if older_than is None:  # timedelta(0) means "every ticket left new", not the default
        older_than = timedelta(minutes=settings.TRIAGE_STALLED_AFTER_MINUTES)
    cutoff = timezone.now() - older_than
    ids = list(
        Ticket.objects.filter(status=Status.NEW, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    size = settings.TRIAGE_BATCH_SIZE
    for start in range(0, len(ids), size):
        enqueue_on_commit(triage_tickets, ids[start : start + size])
    if ids:
        logger.warning("triage sweep: %d ticket(s) left new were enqueued again", len(ids))
    return len(ids)
