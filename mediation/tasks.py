"""Mediation's Celery tasks: thin, ids as arguments, safe to run twice.

Emails leave through `send_*` tasks (routed to the mail queue); the reminder sweep runs from
beat (CELERY_BEAT_SCHEDULE["mediation-remind-comment-requests"]).
"""

from __future__ import annotations

import logging
import smtplib
from email.utils import make_msgid

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import CommentRequest, CommentRequestStatus, CommentStatus, OpinionComment

log = logging.getLogger(__name__)

_RETRY = {
    "autoretry_for": (smtplib.SMTPException, OSError),
    "retry_backoff": 30,
    "retry_backoff_max": 1800,
    "max_retries": 8,
}


def _send(*, subject: str, body: str, to: str, message_id: str | None = None) -> None:
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"Message-ID": message_id or make_msgid(domain=settings.EMAIL_MESSAGE_ID_DOMAIN)},
    )
    message.send()


@shared_task(**_RETRY)
def send_comment_request(request_id: int, reminder: bool = False) -> None:
    """Email a department its request for comment (or the reminder), with the link."""
    from .services import comment_request_url

    request = CommentRequest.objects.select_related("case", "sent_by").filter(pk=request_id).first()
    if request is None or request.status != CommentRequestStatus.SENT:
        return
    with translation.override("fr"):
        context = {
            "request": request,
            "case": request.case,
            "url": comment_request_url(request=request),
            "reminder": reminder,
        }
        body = render_to_string("emails/mediation/comment_request.txt", context).strip()
        subject = (
            _("Reminder: %(title)s") if reminder else _("Request for comment: %(title)s")
        ) % {"title": request.case.title}
    _send(subject=f"[{request.case.reference}] {subject}", body=body, to=request.recipient_email)


@shared_task
def remind_comment_requests() -> int:
    """Beat: remind departments whose answer is due within two working days. Each request is
    claimed by a conditional update, so a second run (or a second beat) sends nothing more."""
    from frt_crm.celery import enqueue_on_commit

    from .selectors import comment_requests_to_remind
    from .services import comment_request_claim_reminder

    sent = 0
    for request_id in comment_requests_to_remind(today=timezone.localdate()):
        if comment_request_claim_reminder(request_id=request_id):
            enqueue_on_commit(send_comment_request, request_id, True)
            sent += 1
    return sent


@shared_task(**_RETRY)
def send_comment_confirmation(comment_id: int) -> None:
    """Email a commenter the link that confirms their address (their comment then waits for
    moderation)."""
    from .services import comment_confirmation_url

    comment = OpinionComment.objects.select_related("opinion").filter(pk=comment_id).first()
    if comment is None or comment.status != CommentStatus.UNCONFIRMED:
        return
    with translation.override("fr"):
        body = render_to_string(
            "emails/mediation/comment_confirm.txt",
            {"comment": comment, "url": comment_confirmation_url(comment=comment)},
        ).strip()
        subject = _("Confirm your comment on “%(title)s”") % {"title": comment.opinion.title}
    _send(subject=subject, body=body, to=comment.email)
