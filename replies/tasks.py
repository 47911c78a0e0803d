"""Celery tasks of the replies (routed to the `mail` queue): thin, ids as arguments, safe to
run twice."""

from __future__ import annotations

from celery import shared_task

from . import services

EMAIL_MAX_RETRIES = 6


def _backoff(retries: int) -> int:
    """1, 2, 4 … minutes between attempts, at most an hour."""
    return min(60 * 2**retries, 3600)


@shared_task(bind=True, max_retries=EMAIL_MAX_RETRIES, acks_late=True)
def send_email_reply(self, contact_id: int) -> None:
    """Send one email reply by SMTP. A server that cannot take it now is tried again with a
    growing delay; after the last attempt (or at once when tasks run in-process, where there
    is nobody to retry) the reply is marked failed and shows so on the ticket."""
    try:
        services.reply_email_deliver(contact_id=contact_id)
    except services.TransientDeliveryError as exc:
        attempt = self.request.retries + 1
        if self.request.is_eager or self.request.retries >= self.max_retries:
            services.reply_mark_failed(contact_id=contact_id, error=str(exc))
            return
        services.reply_note_attempt(contact_id=contact_id, error=str(exc), attempt=attempt)
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=3)
def render_letter(contact_id: int) -> None:
    """Render a reply letter's PDF and keep it on the contact."""
    services.letter_render(contact_id=contact_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=3)
def render_print_batch(batch_id: int) -> None:
    """Render the mailroom's print batch: its list, then every letter, as one PDF."""
    services.print_batch_render(batch_id=batch_id)
