"""The intake's Celery tasks run on their own queues, and are safe to run twice."""

import pytest

from contacts.models import Contact, DeliveryStatus
from contacts.tasks import ocr_letter_scan, poll_mailbox, send_acknowledgement
from frt_crm.celery import app
from tests.factories import TicketFactory


@pytest.mark.parametrize(
    ("task", "queue"),
    [(send_acknowledgement, "mail"), (poll_mailbox, "mail"), (ocr_letter_scan, "ocr")],
)
def test_tasks_are_routed_to_their_queue(task, queue):
    route = app.amqp.router.route({}, task.name, args=(1,), kwargs={})
    assert route["queue"].name == queue


@pytest.mark.django_db
def test_an_acknowledgement_is_sent_once(intake_env, mailoutbox):
    ticket = TicketFactory()
    ack = Contact.objects.create(
        ticket=ticket,
        viewer=ticket.viewer,
        channel="email",
        direction="out",
        subject=f"[{ticket.reference}] Nous avons bien reçu votre message",
        message_id=f"frt-crm.{ticket.reference}.1.a@crm.example.fr",
        delivery_status=DeliveryStatus.PENDING,
        meta={"to": "v@example.fr"},
    )

    send_acknowledgement.delay(ack.pk)
    send_acknowledgement.delay(ack.pk)  # redelivered by the broker

    assert len(mailoutbox) == 1
    assert mailoutbox[0].extra_headers["Message-ID"] == f"<{ack.message_id}>"
    ack.refresh_from_db()
    assert ack.delivery_status == DeliveryStatus.SENT and ticket.reference in ack.body_text
