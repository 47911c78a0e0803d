"""SLA clocks: due dates from the SLA policies on the team's business calendar, pauses, and the
sweep that marks tickets at risk or breached.

Due dates count from the receipt of the request (``Ticket.created_at``) at triage, and from the
moment of the move after an escalation, a send-back or a re-routing. The first-answer clock runs
until the first answer *at the current level* (``Ticket.level_first_responded_at``): a level-2
acknowledgement is due even when level 1 had already answered the viewer. While a ticket waits
for the viewer the clock is paused (``contacts.services.tickets`` stamps ``sla_paused_at``);
when it resumes, :func:`resume_after_pause` pushes the due dates by the *working* time spent
waiting (the SLA_RESUME_HOOK setting names it).

The SLA state (ok, at risk, breached) describes the running clocks now: the sweep raises it and
also lowers it when the clocks changed (the first answer at the level given, due dates pushed by
a pause or a policy change). Each change is a TicketEvent(kind=sla), so a breach stays on record
after the state went down; reporting counts breaches from the due dates and the answer times,
never from the current state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Team, TeamMembership
from contacts.models import (
    Priority,
    SlaState,
    Status,
    Ticket,
    TicketEvent,
    TicketEventKind,
)

from . import config_cache
from .business_calendar import BusinessCalendar, add_calendar_months
from .models import SlaPolicy, SlaUnit

logger = logging.getLogger(__name__)

GDPR_TAG = "rgpd"
# Built-in targets when no SLA policy row matches (a deleted row must not stop triage):
# DESIGN.md's table, level 1 email/web.
_FALLBACK = (2, SlaUnit.WORKING_DAYS, 5, SlaUnit.WORKING_DAYS)
_STATE_RANK = {SlaState.OK: 0, SlaState.AT_RISK: 1, SlaState.BREACHED: 2}
# Statuses whose clock runs; waiting for the viewer is paused, new has no due date yet.
RUNNING_STATUSES = (Status.TRIAGED, Status.IN_PROGRESS, Status.WAITING_INTERNAL)
_PRIORITIES_UP = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


@dataclass(frozen=True)
class Targets:
    """The targets of one SLA policy (or the built-in fallback)."""

    first_amount: int
    first_unit: str
    resolution_amount: int
    resolution_unit: str
    policy_id: int | None = None

    @classmethod
    def of(cls, policy: SlaPolicy | None) -> Targets:
        if policy is None:
            return cls(*_FALLBACK)
        return cls(
            policy.first_response_amount,
            policy.first_response_unit,
            policy.resolution_amount,
            policy.resolution_unit,
            policy.pk,
        )


def calendar_for_team(team: Team | None) -> BusinessCalendar:
    """The team's opening hours (09:00–18:00 without a team or with inconsistent hours)."""
    if team is None:
        return BusinessCalendar()
    try:
        return BusinessCalendar(opens_at=team.opens_at, closes_at=team.closes_at)
    except (TypeError, ValueError):
        logger.warning("team %s has inconsistent opening hours; using 09:00–18:00", team.code)
        return BusinessCalendar()


def pick_policy(
    policies: list[SlaPolicy], *, level: int, channel: str, tags: list[str] | tuple[str, ...]
) -> SlaPolicy | None:
    """The most specific active policy for a ticket among ``policies`` (pure, no query)."""
    kind = SlaPolicy.Kind.GDPR if GDPR_TAG in (tags or ()) else SlaPolicy.Kind.STANDARD
    for wanted in (kind, SlaPolicy.Kind.STANDARD):
        fitting = [
            p
            for p in policies
            if p.is_active
            and p.kind == wanted
            and p.level in (None, level)
            and p.channel in ("", channel)
        ]
        if fitting:
            return max(fitting, key=lambda p: p.specificity)
    return None


def active_sla_policies() -> list[SlaPolicy]:
    """Every active SLA policy (a handful of rows), cached for TRIAGE_CONFIG_CACHE_SECONDS."""
    return config_cache.cached(
        "sla_policies", lambda: list(SlaPolicy.objects.filter(is_active=True))
    )


def sla_targets_for(*, level: int, channel: str, tags: list[str] | tuple[str, ...]) -> Targets:
    """The targets of the most specific active SLA policy for a ticket."""
    return Targets.of(pick_policy(active_sla_policies(), level=level, channel=channel, tags=tags))


def add_target(cal: BusinessCalendar, start: datetime, amount: int, unit: str) -> datetime:
    if unit == SlaUnit.WORKING_DAYS:
        return cal.add_working_days(start, amount)
    if unit == SlaUnit.WORKING_HOURS:
        return cal.add_working_hours(start, amount)
    if unit == SlaUnit.CALENDAR_DAYS:
        return start + timedelta(days=amount)
    if unit == SlaUnit.CALENDAR_MONTHS:
        return add_calendar_months(start, amount)
    raise ValueError(f"unknown SLA unit {unit!r}")


def allowance_seconds(cal: BusinessCalendar, amount: int, unit: str) -> float:
    """The whole time a target grants, in the unit's own currency (working or calendar)."""
    if unit == SlaUnit.WORKING_DAYS:
        return amount * cal.day_seconds
    if unit == SlaUnit.WORKING_HOURS:
        return amount * 3600.0
    if unit == SlaUnit.CALENDAR_DAYS:
        return amount * 86400.0
    return amount * 30 * 86400.0


def is_working_unit(unit: str) -> bool:
    return unit in (SlaUnit.WORKING_DAYS, SlaUnit.WORKING_HOURS)


def sla_due_dates(
    *, targets: Targets, team: Team | None, start: datetime
) -> tuple[datetime, datetime]:
    """(first answer due, resolution due) from ``start`` on the team's calendar."""
    cal = calendar_for_team(team)
    return (
        add_target(cal, start, targets.first_amount, targets.first_unit),
        add_target(cal, start, targets.resolution_amount, targets.resolution_unit),
    )


def resume_after_pause(*, ticket: Ticket, paused_at: datetime, resumed_at: datetime) -> None:
    """Push the ticket's due dates by the time it waited for the viewer (SLA_RESUME_HOOK).

    Called by ``contacts.services.tickets`` inside its transaction, on the locked ticket, which
    it saves afterwards: this function only changes the due dates in memory. Working-time
    targets move by the *working* time of the pause (a pause over a weekend costs nothing);
    calendar targets (the GDPR month) by the elapsed time.
    """
    if resumed_at <= paused_at:
        return
    targets = sla_targets_for(level=ticket.level, channel=ticket.channel, tags=ticket.tags or [])
    cal = calendar_for_team(ticket.team)
    working = cal.working_seconds_between(paused_at, resumed_at)
    elapsed = resumed_at - paused_at

    def shifted(due: datetime, unit: str) -> datetime:
        if is_working_unit(unit):
            return cal.add_working_seconds(due, working) if working > 0 else due
        return due + elapsed

    if ticket.first_response_due_at and ticket.level_first_responded_at is None:
        ticket.first_response_due_at = shifted(ticket.first_response_due_at, targets.first_unit)
    if ticket.resolution_due_at:
        ticket.resolution_due_at = shifted(ticket.resolution_due_at, targets.resolution_unit)


def _deadline_state(
    *, cal: BusinessCalendar, now: datetime, due: datetime, amount: int, unit: str, ratio: float
) -> str:
    if now >= due:
        return SlaState.BREACHED
    allowance = allowance_seconds(cal, amount, unit)
    if is_working_unit(unit):
        remaining = cal.working_seconds_between(now, due)
    else:
        remaining = (due - now).total_seconds()
    if remaining <= (1.0 - ratio) * allowance:
        return SlaState.AT_RISK
    return SlaState.OK


def sla_state_of(*, ticket: Ticket, targets: Targets, cal: BusinessCalendar, now: datetime) -> str:
    """ok, at_risk (at least SLA_AT_RISK_RATIO of the time used) or breached, for the first
    answer at the current level (until it is given) and the resolution; the worse of the two."""
    ratio = settings.SLA_AT_RISK_RATIO
    states = [SlaState.OK]
    if ticket.first_response_due_at and ticket.level_first_responded_at is None:
        states.append(
            _deadline_state(
                cal=cal,
                now=now,
                due=ticket.first_response_due_at,
                amount=targets.first_amount,
                unit=targets.first_unit,
                ratio=ratio,
            )
        )
    if ticket.resolution_due_at:
        states.append(
            _deadline_state(
                cal=cal,
                now=now,
                due=ticket.resolution_due_at,
                amount=targets.resolution_amount,
                unit=targets.resolution_unit,
                ratio=ratio,
            )
        )
    return max(states, key=lambda s: _STATE_RANK[s])


def raised_priority(priority: str) -> str:
    """One step up, never above urgent."""
    index = _PRIORITIES_UP.index(priority) if priority in _PRIORITIES_UP else 1
    return _PRIORITIES_UP[min(index + 1, len(_PRIORITIES_UP) - 1)]


def _sweep_candidates(*, now: datetime, horizon: datetime) -> Q:
    """Running, unpaused tickets whose state may differ from their clocks.

    On time with a deadline within the horizon (it may rise); at risk (it may rise or fall:
    a handful of tickets, whatever their deadlines); breached but with no clock past due any
    more (the first answer at the level given late, due dates pushed): it falls. A ticket
    whose clock is past due stays breached and is not read again until it moves or resolves.
    """
    unanswered_at_level = Q(level_first_responded_at__isnull=True)
    may_rise = Q(sla_state=SlaState.OK) & (
        Q(resolution_due_at__lte=horizon)
        | (unanswered_at_level & Q(first_response_due_at__lte=horizon))
    )
    may_fall = Q(sla_state=SlaState.BREACHED, resolution_due_at__gt=now) & (
        ~unanswered_at_level
        | Q(first_response_due_at__gt=now)
        | Q(first_response_due_at__isnull=True)
    )
    return may_rise | Q(sla_state=SlaState.AT_RISK) | may_fall


def sla_sweep(*, now: datetime | None = None, limit: int = 20000) -> dict[str, int]:
    """Bring the SLA state of running tickets in line with their clocks.

    Rising (ok → at risk → breached): the priority goes one step up and the team's leads get
    one email, enqueued after commit. Falling (the first answer at the level was given, the
    due dates were pushed by a pause or a policy gives more time): the state goes down with
    its event only; the priority stays where it is (staff lower it by hand) and nobody is
    told. A breach stays on record as its TicketEvent(kind=sla) whatever the state later.

    Each change is a conditional update on the state and the clocks read (a concurrent sweep,
    answer, pause or move wins; nothing is recorded twice) plus one TicketEvent(kind=sla).
    The candidates come from the partial index on open tickets (``ticket_queue_idx``): the
    closed history is never read. Safe to run as often as wanted.
    """
    now = now or timezone.now()
    horizon = now + timedelta(days=settings.SLA_RISK_HORIZON_DAYS)
    candidates = (
        Ticket.objects.filter(status__in=RUNNING_STATUSES, sla_paused_at__isnull=True)
        .filter(_sweep_candidates(now=now, horizon=horizon))
        .only(
            "id",
            "level",
            "channel",
            "tags",
            "team_id",
            "priority",
            "sla_state",
            "first_response_due_at",
            "level_first_responded_at",
            "resolution_due_at",
        )
        .order_by("resolution_due_at", "id")[:limit]
    )
    teams = {t.pk: t for t in Team.objects.all()}
    policies = list(SlaPolicy.objects.filter(is_active=True))
    calendars: dict[int | None, BusinessCalendar] = {}
    counts = {"checked": 0, SlaState.AT_RISK: 0, SlaState.BREACHED: 0, "lowered": 0}
    for ticket in candidates.iterator(chunk_size=2000):
        counts["checked"] += 1
        if ticket.team_id not in calendars:
            calendars[ticket.team_id] = calendar_for_team(teams.get(ticket.team_id))
        cal = calendars[ticket.team_id]
        targets = Targets.of(
            pick_policy(policies, level=ticket.level, channel=ticket.channel, tags=ticket.tags)
        )
        state = sla_state_of(ticket=ticket, targets=targets, cal=cal, now=now)
        if state == ticket.sla_state:
            continue
        rising = _STATE_RANK[state] > _STATE_RANK[ticket.sla_state]
        priority = raised_priority(ticket.priority) if rising else ticket.priority
        with transaction.atomic():
            changed = Ticket.objects.filter(
                pk=ticket.pk,
                status__in=RUNNING_STATUSES,
                sla_paused_at__isnull=True,
                sla_state=ticket.sla_state,
                first_response_due_at=ticket.first_response_due_at,
                resolution_due_at=ticket.resolution_due_at,
                level_first_responded_at__isnull=ticket.level_first_responded_at is None,
            ).update(
                sla_state=state,
                priority=priority,
                version=F("version") + 1,
                updated_at=now,
            )
            if not changed:
                continue
            data = {
                "first_response_due_at": iso_or_none(ticket.first_response_due_at),
                "first_answered_at_level": iso_or_none(ticket.level_first_responded_at),
                "resolution_due_at": iso_or_none(ticket.resolution_due_at),
            }
            if rising:
                data["priority"] = [ticket.priority, priority]
            TicketEvent.objects.create(
                ticket_id=ticket.pk,
                kind=TicketEventKind.SLA,
                from_value=ticket.sla_state,
                to_value=state,
                at=now,
                data=data,
            )
            if rising:
                # Written to the outbox in this transaction: the alert is as sure as the change.
                sla_notify_team_leads(ticket_id=ticket.pk, state=state)
        counts[state if rising else "lowered"] += 1
    return counts


def iso_or_none(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def sla_notify_team_leads(*, ticket_id: int, state: str) -> int:
    """Email the leads of the ticket's team that it is at risk or breached (one message of the
    outbox, to all of them); returns the number of recipients. Written once per state change,
    in the sweep's transaction that records it."""
    ticket = Ticket.objects.select_related("team", "brand").filter(pk=ticket_id).first()
    if ticket is None or ticket.team_id is None:
        return 0
    recipients = sorted(
        {
            email
            for email in TeamMembership.objects.filter(
                team_id=ticket.team_id, is_lead=True, user__is_active=True
            ).values_list("user__email", flat=True)
            if email
        }
    )
    if not recipients:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        label = SlaState(state).label
        subject = _("[%(ref)s] SLA: %(state)s") % {"ref": ticket.reference, "state": label}
        due = ticket.first_response_due_at if ticket.level_first_responded_at is None else None
        due = due or ticket.resolution_due_at
        body = _(
            "Ticket %(ref)s of the queue “%(team)s” is now: %(state)s.\n"
            "Subject: %(subject)s\nDue: %(due)s\nPriority: %(priority)s\n\n%(url)s"
        ) % {
            "ref": ticket.reference,
            "team": ticket.team.name,
            "state": label,
            "subject": ticket.subject or "—",
            "due": timezone.localtime(due).strftime("%d/%m/%Y %H:%M") if due else "—",
            "priority": ticket.get_priority_display(),
            "url": f"{settings.SITE_URL}/tickets/{ticket.pk}/",
        }
    from outbox.models import MessageKind
    from outbox.services import message_enqueue

    message_enqueue(
        kind=MessageKind.SLA_ALERT,
        to=recipients,
        subject=subject,
        body_text=body,
        headers={"Auto-Submitted": "auto-generated", "X-FRT-Ticket": ticket.reference},
        ticket=ticket,
    )
    return len(recipients)
