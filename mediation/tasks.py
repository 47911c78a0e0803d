"""Mediation's Celery tasks: thin, ids as arguments, safe to run twice.

Emails (requests for comment, reminders, comment confirmations) are written to the outbox by
the services and leave through it; the reminder sweep runs from beat
(CELERY_BEAT_SCHEDULE["mediation-remind-comment-requests"]).
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task
def remind_comment_requests() -> int:
    """Beat: remind departments whose answer is due within two working days. Each request is
    claimed by a conditional update (its reminder written to the outbox in the same
    transaction), so a second run (or a second beat) sends nothing more."""
    from .selectors import comment_requests_to_remind
    from .services import comment_request_claim_reminder

    sent = 0
    for request_id in comment_requests_to_remind(today=timezone.localdate()):
        if comment_request_claim_reminder(request_id=request_id):
            sent += 1
    return sent
