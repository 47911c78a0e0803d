"""Helpers of the routing tests: teams (reference data) and tickets as triage leaves them."""

from datetime import datetime
from zoneinfo import ZoneInfo

from accounts.models import Team, TeamMembership
from contacts.models import Contact, Direction, Status
from tests.factories import TicketFactory

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def team(code: str) -> Team:
    """Teams are reference data loaded by a migration (accounts 0003)."""
    return Team.objects.get(code=code)


def join(user, code: str, *, lead: bool = False) -> Team:
    t = team(code)
    TeamMembership.objects.get_or_create(team=t, user=user, defaults={"is_lead": lead})
    return t


def new_ticket(*, body: str, subject: str = "", channel: str = "email", **kwargs):
    """A ticket left `new` by the intake, with its first inbound contact."""
    ticket = TicketFactory(
        status=Status.NEW, subject=subject, channel=channel, topic="", team=None, **kwargs
    )
    Contact.objects.create(
        ticket=ticket,
        viewer=ticket.viewer,
        channel=channel,
        direction=Direction.INBOUND,
        subject=subject,
        body_text=body,
        occurred_at=ticket.created_at,
    )
    return ticket


def queued_ticket(code: str, **kwargs):
    """A triaged ticket in team `code`'s queue."""
    t = team(code)
    kwargs.setdefault("level", t.level)
    kwargs.setdefault("status", Status.TRIAGED)
    return TicketFactory(team=t, **kwargs)
