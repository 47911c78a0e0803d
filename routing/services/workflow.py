"""Moving tickets between levels and teams, and handing out work.

Escalation (1 → 2 → 3), sending back down (3 → 2 → 1) and re-routing by staff each need a
reason, are checked against ``accounts.permissions``, lock the ticket row, put the ticket in
the new team's queue (unassigned, `triaged`, SLA due dates counted afresh from now for the new
level; at a new level the first-answer clock runs again until that level answers) and leave a
TicketEvent next to the automatic decision. Escalation to level 3 opens the mediation case file.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import permissions
from accounts.models import Team, TeamMembership, User
from contacts.models import (
    PRIORITY_RANK,
    Genre,
    SlaState,
    Status,
    Ticket,
    TicketEvent,
    TicketEventKind,
)
from contacts.selectors import ticket_scope_q
from contacts.services import StaleTicket, ticket_assign

from .. import rules
from ..sla import iso_or_none, sla_due_dates, sla_targets_for
from .policies import live_policy

logger = logging.getLogger(__name__)

# Statuses from which a ticket can be moved to another level or team.
MOVABLE = (Status.TRIAGED, Status.IN_PROGRESS, Status.WAITING_VIEWER, Status.WAITING_INTERNAL)


class RoutingError(ValueError):
    """A move the workflow refuses (message for the user)."""


class ReasonRequired(RoutingError):
    def __init__(self) -> None:
        super().__init__(_("A reason is required."))


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired
    return reason


def team_for_level(*, level: int, ticket: Ticket) -> Team | None:
    """The default team of ``level`` for this ticket, as the live policy's defaults say:
    the call centre; the SRT of the ticket's national brand; the news or programmes mediator."""
    defaults = live_policy().defaults
    if level == 1:
        code = defaults.level1_team
    elif level == 2:
        brand = rules.national_brand(ticket.brand.code if ticket.brand_id else "")
        code = defaults.level2_teams.get(brand or "", defaults.level2_fallback_team)
    else:
        is_news = ticket.topic in defaults.news_topics or bool(
            ticket.programme_id and ticket.programme.genre == Genre.NEWS
        )
        code = defaults.level3_news_team if is_news else defaults.level3_programmes_team
    team = Team.objects.filter(code=code, is_active=True).first()
    if team is None:
        logger.warning("no active team %r for level %s", code, level)
    return team


def _lock(ticket: Ticket, expected_version: int | None) -> Ticket:
    # `of=self`: PostgreSQL refuses FOR UPDATE on the nullable side of the outer joins.
    locked = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("brand", "programme", "team")
        .get(pk=ticket.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise StaleTicket(locked)
    return locked


def _describe(ticket: Ticket) -> dict:
    return {
        "level": ticket.level,
        "team": ticket.team.code if ticket.team_id else "",
        "topic": ticket.topic,
        "status": ticket.status,
        "assignee": ticket.assignee_id,
    }


def _place(ticket: Ticket, *, level: int, team: Team | None, now: datetime) -> str:
    """Put the (locked) ticket in ``team``'s queue at ``level``, due dates counted from now.

    At another level the first answer is due again (an acknowledgement of the level: the
    answer given below or above does not count); a move between teams of the same level keeps
    the answer already given at this level. The SLA state starts again on time: returns the
    state before the move, for :func:`_record_sla_reset`.
    """
    if level != ticket.level:
        ticket.level_first_responded_at = None
    previous_state = ticket.sla_state
    ticket.level = level
    ticket.team = team
    ticket.assignee = None
    ticket.status = Status.TRIAGED
    ticket.sla_paused_at = None
    ticket.sla_state = SlaState.OK
    targets = sla_targets_for(level=level, channel=ticket.channel, tags=ticket.tags or [])
    ticket.first_response_due_at, ticket.resolution_due_at = sla_due_dates(
        targets=targets, team=team, start=now
    )
    return previous_state


def _record_sla_reset(
    ticket: Ticket, *, previous_state: str, by: User, now: datetime, move: str
) -> None:
    """The move put an at-risk or breached ticket back on time: say so in its history (the
    breach itself stays recorded by its own event). No email, no priority change."""
    if previous_state == ticket.sla_state:
        return
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEventKind.SLA,
        actor=by,
        at=now,
        from_value=previous_state,
        to_value=ticket.sla_state,
        data={
            "move": move,
            "first_response_due_at": iso_or_none(ticket.first_response_due_at),
            "resolution_due_at": iso_or_none(ticket.resolution_due_at),
        },
    )


def _save(ticket: Ticket) -> Ticket:
    ticket.version = F("version") + 1
    ticket.save()
    ticket.refresh_from_db()
    return ticket


def _open_mediation_case(*, ticket: Ticket, by: User | None, reason: str) -> None:
    """Open the case file through the mediation app, if it is installed with that service."""
    try:
        from mediation.services import case_open_from_escalation
    except ImportError:
        logger.warning(
            "mediation.services.case_open_from_escalation is not available: no case opened "
            "for ticket %s",
            ticket.reference,
        )
        return
    case_open_from_escalation(ticket=ticket, by=by, reason=reason)


def ticket_escalate(
    *, ticket: Ticket, by: User, reason: str, expected_version: int | None = None
) -> Ticket:
    """Move the ticket up one level (1 → 2 → 3) with a reason, into that level's default team.

    Raises ReasonRequired, PermissionDenied (``escalate`` in accounts.permissions: agents
    escalate their level-1 tickets only, SRT staff levels 1 and 2), RoutingError (not an open
    triaged ticket), StaleTicket. Level 3 opens the mediation case in the same transaction.
    """
    reason = _reason(reason)
    permissions.require(by, "escalate", ticket)
    with transaction.atomic():
        locked = _lock(ticket, expected_version)
        permissions.require(by, "escalate", locked)
        if locked.status not in MOVABLE:
            raise RoutingError(_("Only a triaged, open ticket can be escalated."))
        before = _describe(locked)
        now = timezone.now()
        level = locked.level + 1
        previous_state = _place(
            locked, level=level, team=team_for_level(level=level, ticket=locked), now=now
        )
        locked = _save(locked)
        TicketEvent.objects.create(
            ticket=locked,
            kind=TicketEventKind.ESCALATED,
            actor=by,
            at=now,
            from_value=str(before["level"]),
            to_value=str(level),
            reason=reason,
            data={"from": before, "to": _describe(locked)},
        )
        _record_sla_reset(
            locked, previous_state=previous_state, by=by, now=now, move=TicketEventKind.ESCALATED
        )
        if level == 3:
            _open_mediation_case(ticket=locked, by=by, reason=reason)
    return locked


def ticket_send_back(
    *, ticket: Ticket, by: User, reason: str, expected_version: int | None = None
) -> Ticket:
    """Move the ticket down one level (3 → 2 → 1) with a reason, into that level's team.

    Raises ReasonRequired, PermissionDenied (``send_back``: SRT staff to the call centre,
    mediators to the SRT), RoutingError, StaleTicket.
    """
    reason = _reason(reason)
    permissions.require(by, "send_back", ticket)
    with transaction.atomic():
        locked = _lock(ticket, expected_version)
        permissions.require(by, "send_back", locked)
        if locked.status not in MOVABLE:
            raise RoutingError(_("Only a triaged, open ticket can be sent back."))
        before = _describe(locked)
        now = timezone.now()
        level = locked.level - 1
        previous_state = _place(
            locked, level=level, team=team_for_level(level=level, ticket=locked), now=now
        )
        locked = _save(locked)
        TicketEvent.objects.create(
            ticket=locked,
            kind=TicketEventKind.SENT_BACK,
            actor=by,
            at=now,
            from_value=str(before["level"]),
            to_value=str(level),
            reason=reason,
            data={"from": before, "to": _describe(locked)},
        )
        _record_sla_reset(
            locked, previous_state=previous_state, by=by, now=now, move=TicketEventKind.SENT_BACK
        )
    return locked


def ticket_reroute(
    *,
    ticket: Ticket,
    by: User,
    reason: str,
    level: int | None = None,
    team: Team | None = None,
    topic: str | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Correct the triage: another level, team and/or topic, with a reason.

    The event records the rules that had decided (from the stored decision) so that override
    rates per rule can be counted (``routing.selectors.override_rates``). A team must serve
    the final level (a team chosen without a level brings its own); a new level without a
    team goes to that level's default team. Moving to level 3 opens the mediation case, as an
    escalation does.
    """
    from contacts.models import Topic

    reason = _reason(reason)
    permissions.require(by, "reroute", ticket)
    if level is not None and level not in (1, 2, 3):
        raise RoutingError(_("Unknown level."))
    if topic is not None and topic != "" and topic not in Topic.values:
        raise RoutingError(_("Unknown topic."))
    with transaction.atomic():
        locked = _lock(ticket, expected_version)
        permissions.require(by, "reroute", locked)
        if locked.status not in MOVABLE:
            raise RoutingError(_("Only a triaged, open ticket can be re-routed."))
        before = _describe(locked)
        # A team chosen alone brings its level along.
        if level is None and team is not None:
            level = team.level
        new_level = level if level is not None else locked.level
        if team is not None and team.level != new_level:
            raise RoutingError(
                _("Team %(team)s does not work at level %(level)s.")
                % {"team": team.name, "level": new_level}
            )
        new_topic = topic if topic is not None else locked.topic
        if team is None and new_level != locked.level:
            if new_topic != locked.topic:
                locked.topic = new_topic  # the default team may depend on the topic
            team = team_for_level(level=new_level, ticket=locked)
        new_team = team if team is not None else locked.team
        if (new_level, new_team and new_team.pk, new_topic) == (
            locked.level,
            locked.team_id,
            locked.topic,
        ):
            raise RoutingError(_("Nothing to change."))
        now = timezone.now()
        locked.topic = new_topic
        previous_state = locked.sla_state
        if new_level != locked.level or new_team != locked.team:
            previous_state = _place(locked, level=new_level, team=new_team, now=now)
        locked = _save(locked)
        decision = locked.triage_decision or {}
        after = _describe(locked)
        TicketEvent.objects.create(
            ticket=locked,
            kind=TicketEventKind.REROUTED,
            actor=by,
            at=now,
            from_value=f"{before['level']}/{before['team']}/{before['topic']}"[:64],
            to_value=f"{after['level']}/{after['team']}/{after['topic']}"[:64],
            reason=reason,
            data={
                "rules": list(decision.get("matched_rules") or []),
                "source": decision.get("source", ""),
                "policy_version": locked.triage_policy_version,
                "automatic": {k: decision.get(k) for k in ("level", "team", "topic", "priority")},
                "from": before,
                "to": after,
            },
        )
        _record_sla_reset(
            locked, previous_state=previous_state, by=by, now=now, move=TicketEventKind.REROUTED
        )
        if new_level == 3 and before["level"] != 3:
            _open_mediation_case(ticket=locked, by=by, reason=reason)
    return locked


# --- taking work -------------------------------------------------------------------------------


def _urgency_order() -> list:
    rank = Case(
        *[When(priority=p, then=Value(r)) for p, r in PRIORITY_RANK.items()],
        default=Value(2),
        output_field=IntegerField(),
    )
    return [rank.asc(), F("resolution_due_at").asc(nulls_last=True), F("id").asc()]


def ticket_take_next(*, user: User) -> Ticket | None:
    """Give ``user`` the most urgent unassigned triaged ticket of their teams' queues.

    Most urgent: highest priority, then earliest resolution due date. On PostgreSQL the
    candidate row is claimed with SELECT … FOR UPDATE SKIP LOCKED, so agents pressing the
    button at the same instant each get a different ticket without waiting for each other;
    on SQLite the transaction holds the database's write lock from its start, which
    serialises them. Returns None when the queues are empty.
    """
    permissions.require(user, "view_queue")
    team_ids = list(
        TeamMembership.objects.filter(user=user, team__is_active=True).values_list(
            "team_id", flat=True
        )
    )
    if not team_ids:
        return None
    candidates = (
        Ticket.objects.filter(
            ticket_scope_q(user, work=True),
            team_id__in=team_ids,
            status=Status.TRIAGED,
            assignee__isnull=True,
        )
        .order_by(*_urgency_order())
        .only("id", "version")
    )
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True, of=("self",))
    with transaction.atomic():
        ticket = candidates.first()
        if ticket is None:
            return None
        return ticket_assign(ticket=ticket, to=user, by=user)
