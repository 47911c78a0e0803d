"""Celery tasks of the replies (routed to the `mail` queue): thin, ids as arguments, safe to
run twice. Emails leave through the outbox (`outbox.tasks.deliver_message`)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=3)
def render_letter(contact_id: int) -> None:
    """Render a reply letter's PDF and keep it on the contact."""
    services.letter_render(contact_id=contact_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=3)
def render_print_batch(batch_id: int) -> None:
    """Render the mailroom's print batch: its list, then every letter, as one PDF."""
    services.print_batch_render(batch_id=batch_id)


@shared_task
def send_email_reply(contact_id: int) -> None:
    """Kept for task messages queued before the outbox existed: hands the pending reply to
    the outbox (which sends it once); does nothing for a reply that already has its message."""
    from contacts.models import Contact

    contact = Contact.objects.select_related("ticket").filter(pk=contact_id).first()
    if contact is not None and contact.direction == "out":
        services.reply_deliver(contact=contact)
