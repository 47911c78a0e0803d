"""Opinions (avis): drafted in the case, reviewed by the other mediator or a manager,
published on the brand's public page; every viewer of the case answered at once; viewers'
comments, email-checked and pre-moderated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.utils import make_msgid

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts import permissions
from accounts.models import User
from accounts.services import audit_record
from contacts.models import (
    STATUS_TRANSITIONS,
    Channel,
    Contact,
    DeliveryStatus,
    Direction,
    Outcome,
    Status,
    Ticket,
    Viewer,
)
from contacts.services import fold, ticket_change_status

from ..models import (
    Case,
    CaseEventKind,
    CaseTicket,
    CommentStatus,
    Opinion,
    OpinionComment,
    OpinionReply,
    OpinionStatus,
)
from .cases import event_add

# --- identities --------------------------------------------------------------------------------

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE_RE = re.compile(r"(?:\+33\s?|0)[1-9](?:[\s.-]?\d{2}){4}")


def _case_viewers(case: Case) -> list[Viewer]:
    return list(
        Viewer.objects.filter(tickets__mediation_links__case=case)
        .prefetch_related("emails", "phones")
        .distinct()
    )


def _identity_terms(viewers: list[Viewer]) -> tuple[list[str], list[str]]:
    """What identifies the case's viewers: (full names, emails, phones, organisations) matched
    whatever their case, and lone last names, matched only as written (capitalised) so that a
    Mr Blanc does not forbid the word "blanc"."""
    anycase: set[str] = set()
    as_written: set[str] = set()
    for viewer in viewers:
        if viewer.last_name and len(viewer.last_name) > 2:
            as_written.add(viewer.last_name)
            if viewer.first_name:
                anycase.add(f"{viewer.first_name} {viewer.last_name}")
        if viewer.organisation:
            anycase.add(viewer.organisation)
        anycase.update(e.email for e in viewer.emails.all())
        anycase.update(p.number for p in viewer.phones.all())
    return (
        sorted(anycase, key=len, reverse=True),
        sorted(as_written, key=len, reverse=True),
    )


def _word(term: str) -> str:
    return rf"(?<!\w){re.escape(term)}(?!\w)"


def redact_identities(*, text: str, case: Case) -> str:
    """The text with the case's viewers' names, emails and phone numbers replaced by […].

    Used to prefill the public question from the complaints; the mediator rereads it.
    """
    text = _EMAIL_RE.sub("[…]", text or "")
    text = _PHONE_RE.sub("[…]", text)
    anycase, as_written = _identity_terms(_case_viewers(case))
    for term in anycase:
        text = re.sub(_word(term), "[…]", text, flags=re.IGNORECASE)
    for term in as_written:
        text = re.sub(_word(term), "[…]", text)
    return text


def opinion_identity_leaks(*, opinion: Opinion) -> list[str]:
    """Viewers' identities (names, emails, phones) found in the opinion's public text, and any
    email address or phone number at all.

    Publication is refused while any remain: the public page shows the question "with viewers'
    identities removed".
    """
    public = " ".join([opinion.title, opinion.question, opinion.department_answer, opinion.body])
    folded = fold(public)
    anycase, as_written = _identity_terms(_case_viewers(opinion.case))
    found = {t for t in anycase if re.search(_word(fold(t)), folded)}
    found |= {t for t in as_written if re.search(_word(t), public)}
    found |= {m.group(0) for m in _EMAIL_RE.finditer(public)}
    found |= {m.group(0) for m in _PHONE_RE.finditer(public)}
    return sorted(found)


# --- drafting, review, publication -------------------------------------------------------------


def _require(user: User, action: str, obj) -> None:
    if not permissions.can(user, action, obj):
        raise PermissionDenied


def opinion_save_draft(
    *, case: Case, by: User, title: str, question: str, department_answer: str, body: str
) -> Opinion:
    """Create or edit the case's opinion. Editing an opinion that was in review or approved
    sends it back to draft: a reviewer approves a text, not whatever it later becomes."""
    if not all(v.strip() for v in (title, question, body)):
        raise ValidationError(_("Title, question and opinion are required."))
    with transaction.atomic():
        opinion = Opinion.objects.select_for_update().filter(case=case).first()
        if opinion is None:
            opinion = Opinion(case=case, author=by)
        _require(by, "change", opinion)
        if opinion.status == OpinionStatus.PUBLISHED:
            raise ValidationError(_("A published opinion cannot be edited."))
        created = opinion.pk is None
        opinion.title = title.strip()[:300]
        opinion.question = question.strip()
        opinion.department_answer = department_answer.strip()
        opinion.body = body.strip()
        if opinion.status != OpinionStatus.DRAFT:
            opinion.status = OpinionStatus.DRAFT
            opinion.reviewed_by = None
            opinion.reviewed_at = None
        opinion.save()
        event_add(
            case=case,
            kind=CaseEventKind.OPINION,
            by=by,
            text=_("Opinion drafted") if created else _("Opinion edited"),
        )
        audit_record(actor=by, action="mediation.opinion.save", obj=opinion)
    return opinion


def opinion_submit(*, opinion: Opinion, by: User) -> Opinion:
    """Send the draft for review by the other mediator or a manager."""
    _require(by, "change", opinion)
    with transaction.atomic():
        updated = Opinion.objects.filter(pk=opinion.pk, status=OpinionStatus.DRAFT).update(
            status=OpinionStatus.IN_REVIEW, submitted_at=timezone.now(), review_comment=""
        )
        if not updated:
            raise ValidationError(_("Only a draft can be sent for review."))
        opinion.refresh_from_db()
        event_add(case=opinion.case, kind=CaseEventKind.OPINION, by=by, text=_("Sent for review"))
        audit_record(actor=by, action="mediation.opinion.submit", obj=opinion)
    return opinion


def opinion_review(*, opinion: Opinion, by: User, approve: bool, comment: str = "") -> Opinion:
    """Approve the opinion, or send it back to draft with a comment. Never by its author."""
    _require(by, "review", opinion)
    if not approve and not comment.strip():
        raise ValidationError(_("Say what should change."))
    to = OpinionStatus.APPROVED if approve else OpinionStatus.DRAFT
    with transaction.atomic():
        updated = Opinion.objects.filter(pk=opinion.pk, status=OpinionStatus.IN_REVIEW).update(
            status=to, reviewed_by=by, reviewed_at=timezone.now(), review_comment=comment.strip()
        )
        if not updated:
            raise ValidationError(_("This opinion is not waiting for review."))
        opinion.refresh_from_db()
        event_add(
            case=opinion.case,
            kind=CaseEventKind.OPINION,
            by=by,
            text=_("Approved") if approve else _("Returned for changes"),
            data={"comment": comment.strip()[:300]},
        )
        audit_record(
            actor=by,
            action="mediation.opinion.review",
            obj=opinion,
            data={"approve": approve, "comment": comment.strip()},
        )
    return opinion


def opinion_publish(*, opinion: Opinion, by: User) -> Opinion:
    """Publish an approved opinion on the brand's public page (and its feed).

    Refused while the public text names a viewer of the case (ValidationError listing them).
    """
    _require(by, "publish", opinion)
    if opinion.status != OpinionStatus.APPROVED:
        raise ValidationError(_("Only an approved opinion can be published."))
    leaks = opinion_identity_leaks(opinion=opinion)
    if leaks:
        raise ValidationError(
            _("The public text still identifies viewers: %(terms)s") % {"terms": ", ".join(leaks)}
        )
    case = opinion.case
    if not case.brand_id:
        raise ValidationError(
            _("Give the case its brand first: the opinion is published on that brand's page.")
        )
    brand = case.brand.national
    with transaction.atomic():
        now = timezone.now()
        updated = Opinion.objects.filter(pk=opinion.pk, status=OpinionStatus.APPROVED).update(
            status=OpinionStatus.PUBLISHED,
            published_at=now,
            brand=brand,
            slug=slugify(opinion.title)[:120] or "avis",
            search_text=fold(
                " ".join([opinion.title, opinion.question, opinion.department_answer, opinion.body])
            ),
        )
        if not updated:
            raise ValidationError(_("Only an approved opinion can be published."))
        opinion.refresh_from_db()
        event_add(case=case, kind=CaseEventKind.OPINION, by=by, text=_("Published"))
        audit_record(actor=by, action="mediation.opinion.publish", obj=opinion)
    return opinion


def opinion_public_url(*, opinion: Opinion) -> str:
    brand_code = opinion.brand.code if opinion.brand_id else "groupe"
    path = reverse(
        "mediation:public_opinion",
        kwargs={"brand": brand_code, "pk": opinion.pk, "slug": opinion.slug or "avis"},
    )
    return f"{settings.SITE_URL}{path}"


# --- answering every viewer of the case --------------------------------------------------------


@dataclass
class ReplySummary:
    emails: int = 0
    letters: int = 0
    already_answered: int = 0
    resolved: int = 0
    without_address: list[str] = field(default_factory=list)


def _working_email(viewer: Viewer) -> str:
    emails = [e for e in viewer.emails.all() if not e.is_failing]
    emails.sort(key=lambda e: (not e.is_primary, e.pk))
    return emails[0].email if emails else ""


def _has_postal_address(viewer: Viewer) -> bool:
    return bool(viewer.address_line1 and viewer.postcode and viewer.city)


def opinion_reply_text(*, opinion: Opinion, ticket: Ticket, message: str) -> str:
    """The answer to one viewer, in the viewer's language (French by default)."""
    viewer = ticket.viewer
    with translation.override(getattr(viewer, "language", "") or "fr"):
        return render_to_string(
            "emails/mediation/opinion_reply.txt",
            {
                "viewer": viewer,
                "ticket": ticket,
                "opinion": opinion,
                "message": message,
                "url": opinion_public_url(opinion=opinion),
                "mediator": opinion.case.mediator or opinion.author,
            },
        ).strip()


def opinion_reply_subject(*, opinion: Opinion, ticket: Ticket) -> str:
    with translation.override(getattr(ticket.viewer, "language", "") or "fr"):
        return _("[%(ref)s] The mediator's opinion: %(title)s") % {
            "ref": ticket.reference,
            "title": opinion.title,
        }


def _resolve(ticket: Ticket, by: User, opinion: Opinion) -> bool:
    """Resolve the ticket with the mediation outcome, when its status allows."""
    if ticket.status == Status.NEW:
        # Not triaged yet (a ticket gathered from a burst): the opinion answers it anyway.
        ticket = ticket_change_status(
            ticket=ticket, to=Status.TRIAGED, by=by, reason=_("Answered by the mediation")
        )
    if Status.RESOLVED not in STATUS_TRANSITIONS[ticket.status]:
        return False
    ticket_change_status(
        ticket=ticket,
        to=Status.RESOLVED,
        by=by,
        outcome=Outcome.MEDIATION,
        reason=_("The mediator's opinion %(case)s") % {"case": opinion.case.reference},
    )
    return True


def _deliver(contact: Contact) -> None:
    """Send one reply through the workspace's reply machinery: emails through its mail task
    (threading headers, retries, failures shown on the ticket), letters rendered to PDF for
    the mailroom's print batch."""
    from replies.services import reply_deliver

    reply_deliver(contact=contact)


def opinion_answer_viewers(*, opinion: Opinion, by: User, message: str = "") -> ReplySummary:
    """Answer every viewer whose ticket is in the case, from the published opinion.

    One outbound contact per ticket (email if the viewer has a working address, else a letter
    to print), one `OpinionReply` row per ticket so that running it twice answers nobody twice
    (tickets added to the case later get theirs on the next run), and each ticket resolved
    with the outcome "mediation". Emails are sent after commit by a task per contact.
    """
    _require(by, "reply", opinion)
    if opinion.status != OpinionStatus.PUBLISHED:
        raise ValidationError(_("Publish the opinion before answering the viewers."))
    summary = ReplySummary()
    links = (
        CaseTicket.objects.filter(case=opinion.case)
        .select_related("ticket__viewer", "ticket__brand")
        .prefetch_related("ticket__viewer__emails")
        .order_by("ticket_id")
    )
    with transaction.atomic():
        done = set(OpinionReply.objects.filter(opinion=opinion).values_list("ticket_id", flat=True))
        for link in links:
            ticket = link.ticket
            if ticket.pk in done:
                summary.already_answered += 1
                continue
            viewer = ticket.viewer
            email = _working_email(viewer) if viewer else ""
            if not email and not (viewer and _has_postal_address(viewer)):
                summary.without_address.append(ticket.reference)
                continue
            is_email = bool(email)
            # Outbound contacts are created here until the workspace's reply service exists.
            contact = Contact.objects.create(
                ticket=ticket,
                viewer=viewer,
                channel=Channel.EMAIL if is_email else Channel.LETTER,
                direction=Direction.OUTBOUND,
                subject=opinion_reply_subject(opinion=opinion, ticket=ticket),
                body_text=opinion_reply_text(opinion=opinion, ticket=ticket, message=message),
                author=by,
                sender_address=(ticket.brand.email_address if ticket.brand_id else "")
                or settings.DEFAULT_FROM_EMAIL,
                message_id=make_msgid(domain=settings.EMAIL_MESSAGE_ID_DOMAIN)
                if is_email
                else None,
                delivery_status=DeliveryStatus.PENDING if is_email else DeliveryStatus.TO_PRINT,
                meta={"mediation_opinion": opinion.pk, "to": email}
                if is_email
                else {"mediation_opinion": opinion.pk},
            )
            OpinionReply.objects.create(opinion=opinion, ticket=ticket, contact=contact)
            if is_email:
                summary.emails += 1
            else:
                summary.letters += 1
            if _resolve(ticket, by, opinion):
                summary.resolved += 1
            _deliver(contact)
        if summary.emails or summary.letters:
            event_add(
                case=opinion.case,
                kind=CaseEventKind.REPLIED,
                by=by,
                text=_("%(emails)s email(s), %(letters)s letter(s)")
                % {"emails": summary.emails, "letters": summary.letters},
                data={"emails": summary.emails, "letters": summary.letters},
            )
            audit_record(
                actor=by,
                action="mediation.opinion.reply",
                obj=opinion,
                data={"emails": summary.emails, "letters": summary.letters},
            )
    return summary


# --- viewers' comments -------------------------------------------------------------------------

COMMENTS_PER_IP_PER_HOUR = 5
CONFIRMATION_MAX_AGE = 48 * 3600
_COMMENT_SALT = "mediation.comment-confirm"


class RateLimited(Exception):
    """Too many comments from one address: try again later."""


def comment_confirmation_token(*, comment: OpinionComment) -> str:
    return signing.dumps({"c": comment.pk}, salt=_COMMENT_SALT)


def comment_confirmation_url(*, comment: OpinionComment) -> str:
    token = comment_confirmation_token(comment=comment)
    return settings.SITE_URL + reverse("mediation:comment_confirm", kwargs={"token": token})


def comment_submit(
    *, opinion: Opinion, author_name: str, email: str, body: str, ip: str | None
) -> OpinionComment:
    """Take a viewer's comment on a published opinion: rate-limited per IP address, kept
    unconfirmed until its author follows the link emailed to them (sent on commit)."""
    if opinion.status != OpinionStatus.PUBLISHED:
        raise ValidationError(_("Comments are open on published opinions only."))
    if not (author_name.strip() and email.strip() and body.strip()):
        raise ValidationError(_("Name, email and comment are required."))
    key = f"mediation:comments:ip:{ip or 'unknown'}"
    # add() creates the counter with its hour-long expiry only if absent; incr() is atomic on
    # the shared cache backends (database, Redis), so the limit holds across processes.
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=3600)
        count = 1
    if count > COMMENTS_PER_IP_PER_HOUR:
        raise RateLimited
    with transaction.atomic():
        comment = OpinionComment.objects.create(
            opinion=opinion,
            author_name=author_name.strip()[:100],
            email=email.strip().lower(),
            body=body.strip()[:4000],
        )
        comment_confirmation_enqueue(comment=comment)
    return comment


def comment_confirmation_enqueue(*, comment: OpinionComment) -> None:
    """The link that confirms a commenter's address, as a message of the outbox (sent after
    commit)."""
    from outbox.models import MessageKind
    from outbox.services import message_enqueue

    with translation.override("fr"):
        body = render_to_string(
            "emails/mediation/comment_confirm.txt",
            {"comment": comment, "url": comment_confirmation_url(comment=comment)},
        ).strip()
        subject = _("Confirm your comment on “%(title)s”") % {"title": comment.opinion.title}
    message_enqueue(
        kind=MessageKind.COMMENT_CONFIRMATION,
        to=comment.email,
        subject=subject,
        body_text=body,
        cause=comment,
    )


def comment_confirm(*, token: str) -> OpinionComment | None:
    """Confirm a comment's email address: it enters moderation. None for a bad, expired or
    already used link."""
    try:
        comment_id = int(
            signing.loads(token, salt=_COMMENT_SALT, max_age=CONFIRMATION_MAX_AGE)["c"]
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    updated = OpinionComment.objects.filter(pk=comment_id, status=CommentStatus.UNCONFIRMED).update(
        status=CommentStatus.PENDING, confirmed_at=timezone.now()
    )
    if not updated:
        return None
    return OpinionComment.objects.select_related("opinion", "opinion__brand").get(pk=comment_id)


def comment_moderate(
    *, comment: OpinionComment, by: User, approve: bool, reason: str = ""
) -> OpinionComment:
    """Approve a confirmed comment (it appears on the public page) or reject it, with a reason."""
    _require(by, "moderate", comment)
    if not approve and not reason.strip():
        raise ValidationError(_("Give the reason for the rejection."))
    to = CommentStatus.APPROVED if approve else CommentStatus.REJECTED
    with transaction.atomic():
        updated = OpinionComment.objects.filter(pk=comment.pk, status=CommentStatus.PENDING).update(
            status=to,
            moderated_by=by,
            moderated_at=timezone.now(),
            rejection_reason="" if approve else reason.strip()[:300],
        )
        if not updated:
            raise ValidationError(_("This comment is not waiting for moderation."))
        comment.refresh_from_db()
        audit_record(
            actor=by,
            action="mediation.comment.moderate",
            obj=comment,
            data={"approve": approve, "reason": reason.strip()},
        )
    return comment
