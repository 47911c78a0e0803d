"""The triage through a real Celery worker and broker (CI's PostgreSQL + Redis run): a burst
of tickets opened in one transaction is triaged exactly once each, batches included."""

import time

import pytest
from django.db import connection, transaction

from contacts.models import Contact, Direction, Status, Ticket, TicketEvent, TicketEventKind
from contacts.services import ticket_open
from tests.factories import ViewerFactory, brand
from tests.markers import requires_broker

pytestmark = [
    pytest.mark.worker,
    requires_broker,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs service: PostgreSQL shared with the worker (set DATABASE_URL=postgres://…)",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MESSAGES = [
    ("Rediffusion", "Bonjour, quand sera rediffusé le documentaire sur les abeilles ?"),
    ("Médiateur", "Votre réponse ne me satisfait pas : je saisis le médiateur."),
    ("Sous-titres", "Les sous-titres pour sourds et malentendants étaient absents hier soir."),
]


def test_a_burst_is_triaged_once_each_by_the_worker():
    viewer = ViewerFactory()
    with transaction.atomic():
        ids = []
        for i in range(60):
            subject, body = MESSAGES[i % len(MESSAGES)]
            ticket = ticket_open(
                channel="email", brand=brand("france2"), viewer=viewer, subject=subject
            )
            Contact.objects.create(
                ticket=ticket,
                viewer=viewer,
                channel="email",
                direction=Direction.INBOUND,
                subject=subject,
                body_text=body,
                occurred_at=ticket.created_at,
            )
            ids.append(ticket.pk)
    tickets = Ticket.objects.filter(pk__in=ids)
    deadline = time.monotonic() + 90
    while tickets.filter(status=Status.NEW).exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not tickets.filter(status=Status.NEW).exists(), (
        "no worker triaged the tickets within 90 s (is a worker consuming the triage queue?)"
    )
    events = TicketEvent.objects.filter(ticket_id__in=ids, kind=TicketEventKind.TRIAGED)
    assert events.count() == len(ids)
    assert set(tickets.values_list("level", flat=True)) == {1, 2, 3}


def test_an_intake_batch_is_triaged_by_batch_messages_once_each():
    from contacts.services.tickets import TicketOpening, ticket_open_many

    viewer = ViewerFactory()
    with transaction.atomic():
        opened = ticket_open_many(
            openings=[
                TicketOpening(
                    channel="email",
                    brand=brand("france2"),
                    viewer=viewer,
                    subject=MESSAGES[i % len(MESSAGES)][0],
                )
                for i in range(120)
            ]
        )
        Contact.objects.bulk_create(
            [
                Contact(
                    ticket=ticket,
                    viewer=viewer,
                    channel="email",
                    direction=Direction.INBOUND,
                    subject=MESSAGES[i % len(MESSAGES)][0],
                    body_text=MESSAGES[i % len(MESSAGES)][1],
                    occurred_at=ticket.created_at,
                )
                for i, ticket in enumerate(opened)
            ]
        )
    ids = [t.pk for t in opened]
    tickets = Ticket.objects.filter(pk__in=ids)
    deadline = time.monotonic() + 90
    while tickets.filter(status=Status.NEW).exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not tickets.filter(status=Status.NEW).exists(), (
        "no worker triaged the tickets within 90 s (is a worker consuming the triage queue?)"
    )
    events = TicketEvent.objects.filter(ticket_id__in=ids, kind=TicketEventKind.TRIAGED)
    assert events.count() == len(ids)
    assert set(tickets.values_list("version", flat=True)) == {2}
    assert set(tickets.values_list("level", flat=True)) == {1, 2, 3}
