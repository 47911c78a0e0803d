"""Requests for comment: a mediator asks a department (newsroom, programme unit, technical
service) for its comment, by email to a named person with a signed one-time link to a page
where they answer without an account; a reminder before the deadline; the answer filed in the
case.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record

from ..models import Case, CaseEventKind, CommentRequest, CommentRequestStatus
from .cases import add_working_days, event_add

# A department has ten working days to answer, and its link works two more weeks after that
# (late answers are still worth filing); the reminder goes two working days before the due date.
COMMENT_DUE_WORKING_DAYS = 10
LINK_GRACE_DAYS = 14
REMINDER_WORKING_DAYS_BEFORE = 2
_SALT = "mediation.comment-request"


class LinkInvalid(Exception):
    """Not a link we issued, or not for this case, or revoked: shown as "not found"."""


class LinkExpired(Exception):
    def __init__(self, request: CommentRequest) -> None:
        self.request = request
        super().__init__("expired")


class LinkUsed(Exception):
    def __init__(self, request: CommentRequest) -> None:
        self.request = request
        super().__init__("used")


def _end_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


def comment_request_token(*, request: CommentRequest) -> str:
    """The signed token of the request's link (the same every time it is asked for)."""
    # No timestamp in the signature: expiry is the request's `expires_at`, so the reminder can
    # repeat the very link of the first email.
    return signing.Signer(salt=_SALT).sign_object(
        {"r": request.pk, "c": request.case_id, "n": request.token_nonce}
    )


def comment_request_url(*, request: CommentRequest) -> str:
    """The absolute link sent to the department."""
    path = reverse(
        "mediation:comment_answer",
        kwargs={
            "reference": request.case.reference,
            "token": comment_request_token(request=request),
        },
    )
    return f"{settings.SITE_URL}{path}"


def comment_request_for_link(*, reference: str, token: str) -> CommentRequest:
    """The request a link stands for, if it may still be answered.

    Raises LinkInvalid (bad signature, another case's reference, revoked nonce, cancelled
    request), LinkUsed (already answered: a link works once) or LinkExpired.
    """
    try:
        payload = signing.Signer(salt=_SALT).unsign_object(token)
        request_id, case_id, nonce = int(payload["r"]), int(payload["c"]), str(payload["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise LinkInvalid from None
    request = (
        CommentRequest.objects.select_related("case", "case__programme", "case__brand")
        .filter(pk=request_id, case_id=case_id, case__reference=reference)
        .first()
    )
    if request is None or not secrets.compare_digest(request.token_nonce, nonce):
        raise LinkInvalid
    if request.status == CommentRequestStatus.CANCELLED:
        raise LinkInvalid
    if request.status == CommentRequestStatus.ANSWERED:
        raise LinkUsed(request)
    if timezone.now() >= request.expires_at:
        raise LinkExpired(request)
    return request


def comment_request_send(
    *,
    case: Case,
    by: User,
    department: str,
    recipient_name: str,
    recipient_email: str,
    question: str,
    due_on: date | None = None,
) -> CommentRequest:
    """Ask a department for its comment: stores the request and emails its link on commit."""
    if not case.is_open:
        raise ValidationError(_("This case is closed."))
    today = timezone.localdate()
    due_on = due_on or add_working_days(start=today, days=COMMENT_DUE_WORKING_DAYS)
    if due_on < today:
        raise ValidationError(_("The deadline cannot be in the past."))
    if not question.strip():
        raise ValidationError(_("Write the question."))
    with transaction.atomic():
        request = CommentRequest.objects.create(
            case=case,
            department=department.strip(),
            recipient_name=recipient_name.strip(),
            recipient_email=recipient_email.strip().lower(),
            question=question.strip(),
            token_nonce=secrets.token_hex(16),
            sent_by=by,
            due_on=due_on,
            expires_at=_end_of_day(due_on + timedelta(days=LINK_GRACE_DAYS)),
        )
        event_add(
            case=case,
            kind=CaseEventKind.RFC_SENT,
            by=by,
            text=f"{request.department} — {request.recipient_name}",
            data={"request": request.pk, "due_on": due_on.isoformat()},
        )
        audit_record(
            actor=by,
            action="mediation.rfc.send",
            obj=case,
            data={"request": request.pk, "to": request.recipient_email},
        )
        comment_request_email_enqueue(request=request, by=by)
    return request


def comment_request_email_enqueue(
    *, request: CommentRequest, reminder: bool = False, by: User | None = None
) -> None:
    """The request's email (or its reminder), with its link, as a message of the outbox:
    written in the caller's transaction, sent after commit; the case page shows its state."""
    from outbox.models import MessageKind
    from outbox.services import message_enqueue

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
    message_enqueue(
        kind=MessageKind.COMMENT_REMINDER if reminder else MessageKind.COMMENT_REQUEST,
        to=request.recipient_email,
        subject=f"[{request.case.reference}] {subject}",
        body_text=body,
        cause=request,
        created_by=by,
    )


def comment_request_answer(
    *, request: CommentRequest, answer: str, answered_by_name: str, ip: str | None = None
) -> CommentRequest:
    """File the department's answer in the case. Works once: a conditional update on the
    `sent` state, so a double submit or a second use of the link files nothing more."""
    answer = (answer or "").strip()
    if not answer:
        raise ValidationError(_("Write your answer."))
    now = timezone.now()
    with transaction.atomic():
        updated = CommentRequest.objects.filter(
            pk=request.pk, status=CommentRequestStatus.SENT, expires_at__gt=now
        ).update(
            status=CommentRequestStatus.ANSWERED,
            answer=answer,
            answered_by_name=(answered_by_name or request.recipient_name).strip()[:200],
            answered_at=now,
        )
        if not updated:
            raise LinkUsed(request)
        request.refresh_from_db()
        event_add(
            case=request.case,
            kind=CaseEventKind.RFC_ANSWERED,
            by=None,
            text=f"{request.department} — {request.answered_by_name}",
            data={"request": request.pk},
        )
        audit_record(
            actor=None,
            action="mediation.rfc.answer",
            obj=request.case,
            data={"request": request.pk, "by": request.answered_by_name, "ip": ip or ""},
        )
    return request


def comment_request_cancel(*, request: CommentRequest, by: User) -> CommentRequest:
    """Withdraw a request: its link stops working."""
    with transaction.atomic():
        updated = CommentRequest.objects.filter(
            pk=request.pk, status=CommentRequestStatus.SENT
        ).update(status=CommentRequestStatus.CANCELLED)
        if not updated:
            raise ValidationError(_("This request is no longer waiting."))
        request.status = CommentRequestStatus.CANCELLED
        audit_record(
            actor=by, action="mediation.rfc.cancel", obj=request.case, data={"request": request.pk}
        )
    return request


def comment_request_reminder_due_on(*, today: date) -> date:
    """Requests due on or before this date get their reminder today."""
    return add_working_days(start=today, days=REMINDER_WORKING_DAYS_BEFORE)


def comment_request_claim_reminder(*, request_id: int) -> bool:
    """Claim the reminder of one request and write its email to the outbox (a conditional
    update: at most one reminder, even when the beat task runs twice). True if it was due."""
    now = timezone.now()
    with transaction.atomic():
        claimed = CommentRequest.objects.filter(
            pk=request_id,
            status=CommentRequestStatus.SENT,
            reminder_sent_at__isnull=True,
            expires_at__gt=now,
        ).update(reminder_sent_at=now)
        if claimed:
            request = CommentRequest.objects.select_related("case").get(pk=request_id)
            comment_request_email_enqueue(request=request, reminder=True)
            event_add(
                case=request.case,
                kind=CaseEventKind.RFC_REMINDED,
                by=None,
                text=f"{request.department} — {request.recipient_name}",
                data={"request": request.pk},
            )
    return bool(claimed)
