"""The outbox delivers each message once over real SMTP (aiosmtpd on loopback): a refused
connection or a 4xx defers it with a growing delay, a 5xx fails it, a redelivered task sends
nothing more, the Message-ID never changes, and the sweep finds what a lost task left."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone, translation

from outbox import services
from outbox.models import FailureKind, MessageKind, MessageState, OutboxMessage
from outbox.tasks import deliver_message, sweep_outbox

pytestmark = pytest.mark.django_db


def write(**kw) -> OutboxMessage:
    """A message written in a transaction, as the services do; its task runs on commit."""
    kw.setdefault("kind", MessageKind.SLA_ALERT)
    kw.setdefault("to", ["chef@example.fr"])
    kw.setdefault("subject", "Ticket en retard")
    kw.setdefault("body_text", "Bonjour,\nun ticket est en retard.")
    with transaction.atomic():
        return services.message_enqueue(**kw)


def test_accepted_message_is_sent_with_its_message_id(smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = write(headers={"X-FRT-Ticket": "FTV-2026-000001"})
    message.refresh_from_db()
    assert message.state == MessageState.SENT and message.sent_at is not None
    assert message.attempts == 1 and message.last_code == 250
    [received] = smtp.accepted
    assert received["Message-ID"] == f"<{message.message_id}>"
    assert received["X-FRT-Ticket"] == "FTV-2026-000001"


def test_connection_refused_defers_with_the_next_try_in_a_minute(
    smtp_down, django_capture_on_commit_callbacks
):
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        message = write()
    message.refresh_from_db()
    assert message.state == MessageState.DEFERRED
    assert message.failure == FailureKind.UNREACHABLE and message.attempts == 1
    assert before + timedelta(seconds=55) < message.next_attempt_at < before + timedelta(minutes=2)
    with translation.override("fr"):
        assert message.reason == "Le serveur de messagerie est injoignable."
    assert "Errno" in message.last_answer  # kept for administrators, never shown in pages


def test_a_4xx_defers_then_the_sweep_sends_it_with_the_same_message_id(
    smtp, django_capture_on_commit_callbacks
):
    smtp.script = ["451 4.3.0 Mailbox busy, try again later"]
    with django_capture_on_commit_callbacks(execute=True):
        message = write()
    message.refresh_from_db()
    assert message.state == MessageState.DEFERRED and message.last_code == 451
    assert message.failure == FailureKind.TEMPORARY

    # Not due yet: the sweep leaves it alone.
    assert services.outbox_sweep(now=timezone.now())["due"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.outbox_sweep(now=message.next_attempt_at)
    assert counts["due"] == 1
    message.refresh_from_db()
    assert message.state == MessageState.SENT and message.attempts == 2
    assert [m["Message-ID"] for m in smtp.attempts] == [f"<{message.message_id}>"] * 2
    assert len(smtp.accepted) == 1


def test_a_5xx_fails_at_once_and_the_sweep_does_not_try_again(
    smtp, django_capture_on_commit_callbacks
):
    smtp.script = ["554 5.7.1 Message rejected as spam"]
    with django_capture_on_commit_callbacks(execute=True):
        message = write()
    message.refresh_from_db()
    assert message.state == MessageState.FAILED and message.last_code == 554
    with translation.override("fr"):
        assert message.reason == "Le serveur de messagerie a refusé le message. (code 554)"
    services.outbox_sweep(now=timezone.now() + timedelta(days=1))
    assert len(smtp.attempts) == 1


def test_a_refused_recipient_fails(smtp, django_capture_on_commit_callbacks):
    smtp.refuse_rcpt = "550 5.1.1 User unknown"
    with django_capture_on_commit_callbacks(execute=True):
        message = write()
    message.refresh_from_db()
    assert message.state == MessageState.FAILED
    assert message.failure == FailureKind.RECIPIENT_REFUSED and message.last_code == 550


def test_a_redelivered_task_sends_once(smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = write()
    # The broker delivers the task again (a worker lost after sending, a double enqueue).
    assert deliver_message(message.pk) == ""
    deliver_message.delay(message.pk)
    assert len(smtp.accepted) == 1
    message.refresh_from_db()
    assert message.attempts == 1


def test_the_sweep_finds_a_message_whose_task_was_lost(smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the enqueue never happens
        message = write()
    assert OutboxMessage.objects.get(pk=message.pk).state == MessageState.QUEUED
    # Within a minute the task may still be on its way: left alone.
    assert services.outbox_sweep(now=timezone.now())["lost"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.outbox_sweep(now=timezone.now() + timedelta(minutes=2))
    assert counts["lost"] == 1
    message.refresh_from_db()
    assert message.state == MessageState.SENT and len(smtp.accepted) == 1


def test_the_sweep_rescues_a_message_left_sending_by_a_dead_worker(
    smtp, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        message = write()
    long_ago = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 120)
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=MessageState.SENDING, claimed_at=long_ago, attempts=1
    )
    with django_capture_on_commit_callbacks(execute=True):
        counts = sweep_outbox()
    assert counts["rescued"] == 1
    message.refresh_from_db()
    assert message.state == MessageState.SENT and message.attempts == 2
    assert smtp.accepted[0]["Message-ID"] == f"<{message.message_id}>"


def test_a_message_being_sent_now_is_not_taken_by_the_sweep(
    smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        message = write()
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=MessageState.SENDING, claimed_at=timezone.now()
    )
    assert services.outbox_sweep(now=timezone.now() + timedelta(minutes=2)) == {
        "rescued": 0,
        "due": 0,
        "lost": 0,
    }
    assert smtp.attempts == []


def test_back_off_doubles_to_an_hour_and_gives_up_after_the_last_attempt(
    smtp_down, django_capture_on_commit_callbacks
):
    assert [services.backoff(n).total_seconds() // 60 for n in range(1, 10)] == [
        1,
        2,
        4,
        8,
        16,
        32,
        60,
        60,
        60,
    ]
    with django_capture_on_commit_callbacks(execute=True):
        message = write()
    for _ in range(services.MAX_ATTEMPTS - 1):
        message.refresh_from_db()
        assert message.state == MessageState.DEFERRED
        with django_capture_on_commit_callbacks(execute=True):
            services.outbox_sweep(now=message.next_attempt_at)
    message.refresh_from_db()
    assert message.state == MessageState.FAILED
    assert message.attempts == services.MAX_ATTEMPTS


def test_a_rolled_back_action_sends_nothing(smtp, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                services.message_enqueue(
                    kind=MessageKind.SLA_ALERT, to="a@example.fr", subject="S", body_text="B"
                )
                raise RuntimeError("the action failed")
        except RuntimeError:
            pass
    assert not OutboxMessage.objects.exists() and smtp.attempts == []


def test_retry_of_a_failed_message_is_audited_and_sends_the_same_message_id(
    smtp, manager, django_capture_on_commit_callbacks
):
    from accounts.models import AuditEvent

    smtp.script = ["554 5.7.1 rejected"]
    with django_capture_on_commit_callbacks(execute=True):
        message = write()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.message_retry(message=message, by=manager)
    message.refresh_from_db()
    assert message.state == MessageState.SENT
    assert smtp.accepted[0]["Message-ID"] == f"<{message.message_id}>"
    assert AuditEvent.objects.filter(action="outbox.retry", actor=manager).count() == 1
    assert not services.message_retry(message=message, by=manager)  # sent: nothing to retry


def test_a_database_blip_after_the_server_accepted_does_not_send_it_twice(
    smtp, django_capture_on_commit_callbacks, monkeypatch
):
    """Found by the fault-injection tests: a connection cut between the SMTP server's 250 and
    the row's update left it `sending`, and the sweep sent it again. The update is retried."""
    from unittest import mock

    from django.db import OperationalError, connection

    real = services._finish_once
    calls = []

    def cut_once(message, state, **fields):
        calls.append(state)
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        return real(message, state, **fields)

    monkeypatch.setattr(services, "_finish_once", cut_once)
    monkeypatch.setattr(services, "FINISH_RETRY_DELAYS", (0, 0))
    with mock.patch.object(connection, "close"), django_capture_on_commit_callbacks(execute=True):
        message = write()
    message.refresh_from_db()
    assert calls == [MessageState.SENT, MessageState.SENT]
    assert message.state == MessageState.SENT
    assert services.outbox_sweep(now=timezone.now() + timedelta(hours=1))["rescued"] == 0
    assert len(smtp.accepted) == 1
