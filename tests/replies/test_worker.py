"""An email reply through the real broker and worker (CI's PostgreSQL + Redis run): the task
is routed to the `mail` queue, the worker sends by SMTP (to a loopback server standing at the
worker's EMAIL_HOST/EMAIL_PORT, 127.0.0.1:1025 by default) and marks the reply sent."""

import socket
import time
from email import message_from_bytes, policy

import pytest
from django.db import connection

from contacts.models import Contact, DeliveryStatus, Direction
from replies import services
from tests.markers import requires_broker
from tests.workspace.helpers import workspace_ticket

pytestmark = [
    pytest.mark.worker,
    requires_broker,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs service: PostgreSQL shared with the worker (set DATABASE_URL=postgres://…)",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WORKER_SMTP = ("127.0.0.1", 1025)  # the worker's default EMAIL_HOST / EMAIL_PORT


class Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def worker_smtp():
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        try:
            probe.bind(WORKER_SMTP)
        except OSError:
            pytest.skip("port 1025 is taken by another program: the worker's SMTP stand-in")
    sink = Sink()
    controller = Controller(sink, hostname=WORKER_SMTP[0], port=WORKER_SMTP[1])
    controller.start()
    yield sink
    controller.stop()


def test_the_worker_sends_the_email_reply_with_its_threading_headers(agent, worker_smtp):
    ticket = workspace_ticket()
    contact = services.reply_send(
        ticket=ticket,
        by=agent,
        channel="email",
        subject="Votre question",
        body="Madame,\nLe documentaire sera rediffusé jeudi.",
        expected_version=ticket.version,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        contact.refresh_from_db()
        if contact.delivery_status != DeliveryStatus.PENDING:
            break
        time.sleep(0.3)
    assert contact.delivery_status == DeliveryStatus.SENT, (
        f"not sent within 60 s ({contact.delivery_status}: {contact.delivery_error}); "
        "is a worker consuming the mail queue?"
    )
    inbound = Contact.objects.filter(
        ticket=ticket, direction=Direction.INBOUND, channel="email"
    ).latest("occurred_at")
    [sent] = worker_smtp.messages
    assert sent["Message-ID"] == f"<{contact.message_id}>"
    assert sent["In-Reply-To"] == f"<{inbound.message_id}>"
    assert ticket.reference in sent["Subject"]
