"""The outbox through the real broker and worker (CI's PostgreSQL + Redis run): a task
delivered three times sends once, and a message whose task was lost is sent by the sweep.
The worker sends to its default EMAIL_HOST/EMAIL_PORT (127.0.0.1:1025), where an aiosmtpd
server stands in for the mail server."""

import socket
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from outbox import services
from outbox.models import MessageKind, MessageState, OutboxMessage
from outbox.tasks import deliver_message
from tests.markers import requires_broker
from tests.outbox.conftest import ScriptedServer

pytestmark = [
    pytest.mark.worker,
    requires_broker,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs service: PostgreSQL shared with the worker (set DATABASE_URL=postgres://…)",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WORKER_SMTP = ("127.0.0.1", 1025)


@pytest.fixture
def worker_smtp():
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        try:
            probe.bind(WORKER_SMTP)
        except OSError:
            pytest.skip("port 1025 is taken by another program: the worker's SMTP stand-in")
    handler = ScriptedServer()
    controller = Controller(handler, hostname=WORKER_SMTP[0], port=WORKER_SMTP[1])
    controller.start()
    yield handler
    controller.stop()


def wait_for(pk, states, seconds=60) -> OutboxMessage:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = OutboxMessage.objects.get(pk=pk)
        if message.state in states:
            return message
        time.sleep(0.3)
    raise AssertionError(f"message {pk} still {message.state}: is a worker on the mail queue?")


def test_a_task_delivered_three_times_sends_once(worker_smtp):
    message = services.message_enqueue(
        kind=MessageKind.SLA_ALERT, to="chef@example.fr", subject="Alerte", body_text="x"
    )
    deliver_message.delay(message.pk)
    deliver_message.delay(message.pk)
    message = wait_for(message.pk, {MessageState.SENT})
    time.sleep(1.5)  # the redelivered tasks had time to run: they must send nothing
    assert len(worker_smtp.accepted) == 1
    assert worker_smtp.accepted[0]["Message-ID"] == f"<{message.message_id}>"


def test_the_sweep_sends_a_message_whose_task_was_lost(worker_smtp):
    lost = OutboxMessage.objects.create(
        kind=MessageKind.SLA_ALERT,
        recipients=["chef@example.fr"],
        from_email="crm@example.fr",
        subject="Perdu",
        body_text="x",
        message_id=services.new_message_id(),
        next_attempt_at=timezone.now() - timedelta(minutes=5),
    )
    assert services.outbox_sweep()["lost"] == 1
    wait_for(lost.pk, {MessageState.SENT})
    assert len(worker_smtp.accepted) == 1
