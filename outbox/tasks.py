"""The outbox's Celery tasks (the `mail` queue): thin, ids as arguments, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def deliver_message(message_pk: int) -> str:
    """Send one outbox message once; failures are recorded on the row (deferred with its next
    attempt, or failed), never raised: the sweep, not the broker, retries."""
    return services.message_deliver(message_pk=message_pk)


@shared_task
def sweep_outbox() -> dict[str, int]:
    """Beat, every minute: due deferred messages, lost task messages, stuck `sending` rows."""
    return services.outbox_sweep()
