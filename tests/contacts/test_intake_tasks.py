"""The intake's Celery tasks run on their own queues, and are safe to run twice."""

import pytest

from contacts.models import Contact, DeliveryStatus
from contacts.tasks import ocr_letter_scan, poll_mailbox
from frt_crm.celery import app
from outbox.models import MessageKind
from outbox.services import message_enqueue
from outbox.tasks import deliver_message
from tests.factories import TicketFactory


@pytest.mark.parametrize(
    ("task", "queue"),
    [(deliver_message, "mail"), (poll_mailbox, "mail"), (ocr_letter_scan, "ocr")],
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

    message = message_enqueue(
        kind=MessageKind.ACKNOWLEDGEMENT,
        to="v@example.fr",
        subject=ack.subject,
        body_text=f"Référence {ticket.reference}",
        message_id=ack.message_id,
        contact=ack,
        ticket=ticket,
    )  # outside a transaction: delivered at once

    deliver_message.delay(message.pk)  # redelivered by the broker

    assert len(mailoutbox) == 1
    assert mailoutbox[0].extra_headers["Message-ID"] == f"<{ack.message_id}>"
    ack.refresh_from_db()
    assert ack.delivery_status == DeliveryStatus.SENT
