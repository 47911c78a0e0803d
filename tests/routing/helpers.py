"""Helpers of the routing tests: teams (reference data) and tickets as triage leaves them."""

import threading
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from accounts.models import Team, TeamMembership
from contacts.models import Contact, Direction, Status, Ticket
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


@contextmanager
def held_by_another_worker(ticket):
    """While the block runs, another connection holds ``ticket``'s row lock, as a worker in
    the middle of its triage would (PostgreSQL, transactional tests)."""
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                Ticket.objects.select_for_update().get(pk=ticket.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        yield
    finally:
        release.set()
        thread.join(timeout=30)


def frozen_at(moment: datetime):
    """The clock stopped at ``moment`` (time-machine), for SLA arithmetic."""
    import time_machine

    return time_machine.travel(moment, tick=False)


def answered(ticket, by):
    """``by`` sends the viewer an email answer through the replies service; the ticket after."""
    from replies.services import reply_send

    ticket = Ticket.objects.get(pk=ticket.pk)
    reply_send(
        ticket=ticket,
        by=by,
        channel="email",
        subject="Votre question",
        body="Madame,\nNous avons bien reçu votre message.",
        expected_version=ticket.version,
    )
    return Ticket.objects.get(pk=ticket.pk)


def classifier_in_use_calling_level_3(text: str):
    """Put in use a tiny classifier that has seen ``text`` only as a mediator's case (level 3),
    and turn the live policy's second opinion on, so that it raises ``text`` when the rules
    leave it at level 1."""
    from routing import classifier
    from routing.services import classifier_store, reset_caches

    model = classifier.train(
        texts=[text] * 4 + ["merci pour cette belle émission"] * 4,
        topics=["programme_info"] * 4 + ["praise"] * 4,
        levels=[3] * 4 + [1] * 4,
    )
    classifier_store(model=model, metrics={}, source="test", examples=8, by=None, activate=True)
    # And the live policy asks it for a second opinion, as a manager would set it.
    from routing.models import PolicyVersion

    live = PolicyVersion.objects.get(state=PolicyVersion.State.LIVE)
    PolicyVersion.objects.filter(pk=live.pk).update(
        defaults={**live.defaults, "review_threshold": 0.3}
    )
    reset_caches()
    return model
