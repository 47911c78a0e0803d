"""The outbox's one write path: a message is written (`message_enqueue`), delivered once
(`message_deliver`), retried by a person (`message_retry`), bounced (`message_mark_bounced`),
and found again by the sweep (`outbox_sweep`).

Delivery claims the row by a conditional update (queued → sending), sends it over SMTP with
its stored Message-ID, and records the outcome with another conditional update (sending → …):
a redelivered task, a second worker or a double click sends nothing more.

A temporary failure (no connection, a timeout, a 4xx answer) defers the message with an
exponential back-off (1, 2, 4, 8, 16, 32, then every 60 minutes) until `MAX_ATTEMPTS`, then it
fails; a permanent one (5xx) fails at once. The sweep (beat, every minute) puts due deferred
messages back in the queue, re-sends queued ones whose task message was lost (queued for more
than a minute), and rescues messages left `sending` by a worker that died.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.utils import make_msgid

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from accounts.models import User

from .models import FailureKind, MessageKind, MessageState, OutboxMessage

logger = logging.getLogger(__name__)

# Attempts before a temporary failure becomes final (about 4 hours of back-off in all).
MAX_ATTEMPTS = 10
BACKOFF_CAP_MINUTES = 60
# A queued message whose task has not claimed it after this long lost its task message.
LOST_AFTER = timedelta(minutes=1)
# Messages the sweep dispatches in one run (the rest wait for the next minute).
SWEEP_LIMIT = 500
# What a final outcome means to the app that caused the message, called in the transaction
# that records it (one line per kind, rather than signals): a reply that was not delivered
# starts the first-answer clock again.
OUTCOME_HANDLERS: dict[str, str] = {
    MessageKind.REPLY: "replies.services.reply_delivery_changed",
}


class OutboxError(ValueError):
    """A request on a message that its state does not allow (message for the user)."""


def new_message_id() -> str:
    """A fresh Message-ID, bare (no angle brackets)."""
    return make_msgid(domain=settings.EMAIL_MESSAGE_ID_DOMAIN).strip("<>")


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 1, 2, 4 … minutes, at most an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), BACKOFF_CAP_MINUTES))


def _stuck_after() -> timedelta:
    # A task that runs longer than its hard time limit was killed: its `sending` row is free.
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


# --- writing -----------------------------------------------------------------------------------


def message_enqueue(
    *,
    kind: str,
    to: str | Iterable[str],
    subject: str,
    body_text: str,
    body_html: str = "",
    from_email: str = "",
    reply_to: str = "",
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
    contact: models.Model | None = None,
    ticket: models.Model | None = None,
    cause: models.Model | None = None,
    created_by: User | None = None,
) -> OutboxMessage:
    """Write one message to send, in the caller's transaction, and ask for its delivery once
    that transaction commits (a rolled-back action sends nothing; a lost task message is found
    by the sweep).

    `message_id` (bare) is the one the caller already stored (a reply's contact); otherwise a
    new one. `contact` is the outbound contact the message is (its thread entry, whose
    delivery status follows the message's state), `ticket` the ticket it concerns, `cause`
    any other object it is about (a survey, a request for comment).
    """
    from frt_crm.celery import enqueue_on_commit

    from . import tasks

    if kind not in MessageKind.values:
        raise ValueError(f"unknown message kind {kind!r}")
    recipients = [to] if isinstance(to, str) else list(to)
    recipients = [r.strip() for r in recipients if r and r.strip()]
    message = OutboxMessage.objects.create(
        kind=kind,
        recipients=recipients,
        subject=" ".join((subject or "").split())[:300],
        body_text=body_text,
        body_html=body_html,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        reply_to=reply_to,
        headers=dict(headers or {}),
        message_id=(message_id or "").strip().strip("<>") or new_message_id(),
        contact=contact,
        ticket=ticket,
        cause_type=ContentType.objects.get_for_model(cause) if cause is not None else None,
        cause_id=cause.pk if cause is not None else None,
        created_by=created_by if created_by is not None and created_by.is_authenticated else None,
        next_attempt_at=timezone.now(),
    )
    enqueue_on_commit(tasks.deliver_message, message.pk)
    return message


# --- delivering --------------------------------------------------------------------------------


def _email(message: OutboxMessage) -> EmailMultiAlternatives:
    headers = {**message.headers, "Message-ID": f"<{message.message_id}>"}
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=message.from_email,
        to=message.recipients,
        reply_to=[message.reply_to] if message.reply_to else None,
        headers=headers,
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    return email


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def classify_failure(exc: BaseException) -> tuple[bool, int | None, str, str]:
    """(permanent, SMTP code, the server's answer, FailureKind) of a failed attempt."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = list(exc.recipients.items())
        codes = [code for _address, (code, _msg) in answers]
        answer = "; ".join(f"{a}: {c} {_text(m)}" for a, (c, m) in answers) or str(exc)
        permanent = bool(codes) and all(code >= 500 for code in codes)
        code = max(codes) if codes else None
        kind = FailureKind.RECIPIENT_REFUSED if permanent else FailureKind.TEMPORARY
        return permanent, code, answer, kind
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        answer = f"{code} {_text(exc.smtp_error)}"
        if code >= 500:
            return True, code, answer, FailureKind.REJECTED
        return False, code, answer, FailureKind.TEMPORARY
    answer = f"{exc.__class__.__name__}: {exc}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return False, None, answer, FailureKind.UNREACHABLE
    if isinstance(exc, TimeoutError | socket.timeout):
        return False, None, answer, FailureKind.TIMEOUT
    if isinstance(exc, OSError):
        return False, None, answer, FailureKind.UNREACHABLE
    return False, None, answer, FailureKind.ERROR


def message_deliver(*, message_pk: int) -> str:
    """Send one queued message over SMTP, once, and record the outcome. Returns the new
    state, or '' when the message was not queued (already sent, being sent, deferred until
    later, or gone): a redelivered task does nothing."""
    now = timezone.now()
    claimed = OutboxMessage.objects.filter(pk=message_pk, state=MessageState.QUEUED).update(
        state=MessageState.SENDING,
        claimed_at=now,
        last_attempt_at=now,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return ""
    message = OutboxMessage.objects.get(pk=message_pk)
    if not message.recipients:
        return _finish(message, MessageState.FAILED, failure=FailureKind.NO_RECIPIENT)
    try:
        with get_connection(fail_silently=False) as connection:
            connection.send_messages([_email(message)])
    except Exception as exc:  # noqa: BLE001 — every failure is recorded on the row
        permanent, code, answer, failure = classify_failure(exc)
        if failure == FailureKind.ERROR:
            logger.exception("outbox message %s: unexpected error while sending", message_pk)
        else:
            logger.warning("outbox message %s not sent: %s", message_pk, answer)
        fields = {"last_code": code, "last_answer": answer[:2000], "failure": failure}
        if permanent or message.attempts >= MAX_ATTEMPTS:
            return _finish(message, MessageState.FAILED, **fields)
        return _finish(
            message,
            MessageState.DEFERRED,
            next_attempt_at=timezone.now() + backoff(message.attempts),
            **fields,
        )
    return _finish(
        message,
        MessageState.SENT,
        sent_at=timezone.now(),
        last_code=250,
        last_answer="",
        failure=FailureKind.NONE,
    )


# After the SMTP server accepted a message, recording it must outlast a database blip: a row
# left `sending` is sent again by the sweep (the fault-injection tests caught one mail sent
# twice after pg_terminate_backend). The update is conditional, so retrying it is safe.
FINISH_RETRY_DELAYS = (0.2, 0.5, 1, 2, 4, 8)


def _finish(message: OutboxMessage, state: str, **fields) -> str:
    from django.db import InterfaceError, OperationalError, connection

    for delay in (*FINISH_RETRY_DELAYS, None):
        try:
            return _finish_once(message, state, **fields)
        except (OperationalError, InterfaceError):
            if delay is None:
                raise
            logger.warning(
                "outbox message %s: recording %s failed, trying again", message.pk, state
            )
            connection.close()  # a dead connection is replaced on the next query
            time.sleep(delay)
    return ""  # not reached


def _finish_once(message: OutboxMessage, state: str, **fields) -> str:
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(pk=message.pk, state=MessageState.SENDING).update(
            state=state, claimed_at=None, **fields
        )
        if not updated:
            # The sweep took it back meanwhile (this attempt outlived the time limit).
            return ""
        message.refresh_from_db()
        _after_change(message)
    return state


def _after_change(message: OutboxMessage) -> None:
    """Keep the outbound contact's delivery status in step, and tell the causing app of a
    final outcome. Called in the transaction that changed the state."""
    if message.contact_id:
        from contacts.models import Contact, DeliveryStatus

        status = {
            MessageState.SENT: DeliveryStatus.SENT,
            MessageState.FAILED: DeliveryStatus.FAILED,
            MessageState.BOUNCED: DeliveryStatus.BOUNCED,
        }.get(message.state, DeliveryStatus.PENDING)
        with translation.override(settings.LANGUAGE_CODE):
            error = str(message.reason) if message.failure else ""
        Contact.objects.filter(pk=message.contact_id).update(
            delivery_status=status, delivery_error=error
        )
    handler = OUTCOME_HANDLERS.get(message.kind)
    if handler and message.state in (
        MessageState.SENT,
        MessageState.FAILED,
        MessageState.BOUNCED,
    ):
        import_string(handler)(message=message)


# --- people and bounces ------------------------------------------------------------------------

RETRYABLE = (MessageState.FAILED, MessageState.BOUNCED, MessageState.DEFERRED)


def message_retry(
    *,
    message: OutboxMessage,
    by: User,
    recipients: list[str] | None = None,
    request=None,
) -> bool:
    """Queue a failed, bounced or deferred message again, now, with a fresh attempt budget
    and the same Message-ID; `recipients` replaces the addresses (fixed since). The caller
    checked that `by` may do it. Audited. False when the message was no longer retryable."""
    from accounts.services import audit_record
    from frt_crm.celery import enqueue_on_commit

    from . import tasks

    with transaction.atomic():
        old = message.state
        fields = {
            "state": MessageState.QUEUED,
            "attempts": 0,
            "next_attempt_at": timezone.now(),
            "failure": FailureKind.NONE,
        }
        if recipients:
            fields["recipients"] = recipients
        updated = OutboxMessage.objects.filter(pk=message.pk, state__in=RETRYABLE).update(**fields)
        if not updated:
            return False
        message.refresh_from_db()
        _after_change(message)
        audit_record(
            actor=by,
            action="outbox.retry",
            obj=message,
            data={"kind": message.kind, "from": old, "to": message.recipients},
            request=request,
        )
        enqueue_on_commit(tasks.deliver_message, message.pk)
    return True


def message_mark_bounced(*, message_ids: Iterable[str], reason: str) -> OutboxMessage | None:
    """A bounce came back for one of these Message-IDs: its message is marked bounced (and its
    contact, and what it means to its cause). Returns the message, or None when none matches."""
    ids = [i.strip().strip("<>") for i in message_ids if i and i.strip().strip("<>")]
    if not ids:
        return None
    message = OutboxMessage.objects.filter(message_id__in=ids).first()
    if message is None:
        return None
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(pk=message.pk, state=MessageState.SENT).update(
            state=MessageState.BOUNCED,
            failure=FailureKind.BOUNCED,
            last_answer=(reason or "")[:2000],
            bounced_at=timezone.now(),
        )
        message.refresh_from_db()
        if updated:
            _after_change(message)
    return message


# --- the sweep ---------------------------------------------------------------------------------


def outbox_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Beat, every minute: rescue messages stuck `sending` (a dead worker), queue due deferred
    ones, and dispatch them with the queued ones whose task message was lost. Safe to run
    twice at once: each row moves by a conditional update and delivery claims it."""
    from frt_crm.celery import enqueue_on_commit

    from . import tasks

    now = now or timezone.now()
    rescued = OutboxMessage.objects.filter(
        state=MessageState.SENDING, claimed_at__lt=now - _stuck_after()
    ).update(
        state=MessageState.DEFERRED,
        claimed_at=None,
        next_attempt_at=now,
        failure=FailureKind.INTERRUPTED,
    )
    due = list(
        OutboxMessage.objects.filter(state=MessageState.DEFERRED, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    if due:
        OutboxMessage.objects.filter(pk__in=due, state=MessageState.DEFERRED).update(
            state=MessageState.QUEUED, next_attempt_at=now
        )
    lost = list(
        OutboxMessage.objects.filter(
            state=MessageState.QUEUED, next_attempt_at__lte=now - LOST_AFTER
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    if lost:
        OutboxMessage.objects.filter(pk__in=lost, state=MessageState.QUEUED).update(
            next_attempt_at=now
        )
    for pk in [*due, *lost]:
        enqueue_on_commit(tasks.deliver_message, pk)
    return {"rescued": rescued, "due": len(due), "lost": len(lost)}
