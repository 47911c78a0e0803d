"""Helpers of the workspace, replies and satisfaction tests: a ticket as the workspace sees
it (a thread on several channels, notes of two levels, triage facts), and media in tmp."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import Team, TeamMembership
from contacts.models import (
    CallRecord,
    Channel,
    Contact,
    Direction,
    InternalNote,
    Status,
    TicketEvent,
    TicketEventKind,
    ViewerConsent,
)
from contacts.services import viewer_refresh_search_text
from tests.factories import TicketFactory, ViewerFactory, brand


def team(code: str) -> Team:
    return Team.objects.get(code=code)


def join(user, code: str) -> Team:
    t = team(code)
    TeamMembership.objects.get_or_create(team=t, user=user)
    return t


def viewer_with_address(**kwargs):
    defaults = dict(
        civility="Mme",
        first_name="Hélène",
        last_name="Lefèvre",
        address_line1="12 rue des Écoles",
        postcode="29150",
        city="Châteaulin",
        email="helene.lefevre@example.fr",
    )
    defaults.update(kwargs)
    viewer = ViewerFactory(**defaults)
    viewer_refresh_search_text(viewer=viewer)
    return viewer


def inbound_email(ticket, *, body="Bonjour, quand sera rediffusé le documentaire ?", **kwargs):
    defaults = dict(
        ticket=ticket,
        viewer=ticket.viewer,
        channel=Channel.EMAIL,
        direction=Direction.INBOUND,
        subject=ticket.subject,
        body_text=body,
        sender_address=ticket.viewer.emails.first().email if ticket.viewer else "",
        message_id=f"viewer-{ticket.pk}-{Contact.objects.count()}@orange.fr",
        occurred_at=ticket.created_at,
    )
    defaults.update(kwargs)
    return Contact.objects.create(**defaults)


def workspace_ticket(*, level=1, brand_code="france2", contacts=3, viewer=None, **kwargs):
    """A triaged ticket in the right team, with `contacts` inbound emails, one phone call, a
    level-1 and a level-2 note, and its triage explanation."""
    team_code = {1: "n1-call-centre", 2: f"srt-{brand_code[:7]}", 3: "mediator-programmes"}[level]
    viewer = viewer or viewer_with_address()
    ticket = TicketFactory(
        level=level,
        brand=brand(brand_code),
        team=team(team_code),
        viewer=viewer,
        status=Status.TRIAGED,
        subject="Rediffusion du documentaire sur les phares bretons",
        triage_explanation="Règle « rediffusion » : niveau 1, centre d'appels.",
        triage_decision={"source": "rules", "matched_rules": ["replay"]},
        first_response_due_at=timezone.now() + timedelta(days=2),
        resolution_due_at=timezone.now() + timedelta(days=5),
        created_at=timezone.now() - timedelta(hours=3),
        **kwargs,
    )
    for i in range(contacts):
        inbound_email(
            ticket,
            body=f"Message {i}: <b>quand</b> ?",
            body_html=f"<p>Message {i} : <b>quand</b> ?</p>" if i == 0 else "",
            occurred_at=ticket.created_at + timedelta(minutes=i),
        )
    call_contact = Contact.objects.create(
        ticket=ticket,
        viewer=viewer,
        channel=Channel.PHONE,
        direction=Direction.INBOUND,
        subject="Appel",
        body_text="A rappelé pour la même question.",
        occurred_at=ticket.created_at + timedelta(minutes=30),
        meta={"outcome": "triage"},
    )
    CallRecord.objects.create(
        call_id=f"call-{ticket.pk}",
        brand=ticket.brand,
        caller_number="+33612345678",
        viewer=viewer,
        contact=call_contact,
        rang_at=call_contact.occurred_at,
        wait_seconds=42,
        handling_seconds=185,
    )
    TicketEvent.objects.create(
        ticket=ticket, kind=TicketEventKind.TRIAGED, from_value="new", to_value="triaged"
    )
    return ticket


def add_notes(ticket, *, agent, srt):
    InternalNote.objects.create(ticket=ticket, author=agent, level=1, body="Note niveau un")
    InternalNote.objects.create(ticket=ticket, author=srt, level=2, body="Note confidentielle SRT")


def consent(viewer, kind="survey", granted=True):
    return ViewerConsent.objects.create(viewer=viewer, kind=kind, granted=granted, source="test")
