"""Replies to viewers: the one write path of an answer (email or letter), and the delivery of
emails by SMTP.

A reply is an outbound `Contact` on the ticket. `reply_send` records it under the ticket's
row lock (refusing a form opened on an older version of the ticket: `StaleTicket`), stamps
the first answer, and asks after commit for its delivery: the `send_email_reply` task for an
email, the `render_letter` task (PDF for the mailroom's print batch) for a letter.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import permissions
from accounts.models import User
from contacts.models import (
    Channel,
    Contact,
    DeliveryStatus,
    Direction,
    Status,
    Ticket,
    TicketEvent,
    TicketEventKind,
    Viewer,
    ViewerEmail,
)
from contacts.services import StaleTicket

from ..models import ReplyChannel, ResponseTemplate

logger = logging.getLogger(__name__)

MAX_SUBJECT = 300


class ReplyError(ValueError):
    """A reply that cannot be sent as asked (message for the user)."""


class TransientDeliveryError(Exception):
    """The mail server could not take the message now: try again later."""


# --- addresses and headers ---------------------------------------------------------------------


def brand_sender(ticket: Ticket) -> tuple[str, str]:
    """(display name, address) replies of this ticket come from: the brand's reply address,
    its national brand's, or the default sender."""
    brand = ticket.brand
    address = ""
    if brand is not None:
        address = brand.email_address or (brand.parent.email_address if brand.parent_id else "")
    name = f"{brand.name} — Relations téléspectateurs" if brand else "Relations téléspectateurs"
    return name, address or settings.DEFAULT_FROM_EMAIL


def _bare(message_id: str | None) -> str:
    return (message_id or "").strip().strip("<>").strip()


def _bracket(message_id: str) -> str:
    return f"<{_bare(message_id)}>"


def pick_recipient(*, emails: list[ViewerEmail], last_sender: str = "") -> str:
    """Where an email reply goes, from the viewer's addresses (primary first) and the address
    they last wrote from: that one if it still works, else the first working one; ''."""
    working = [e.email for e in emails if not e.is_failing]
    if last_sender and last_sender.lower() in working:
        return last_sender.lower()
    return working[0] if working else ""


def reply_email_recipient(*, ticket: Ticket) -> str:
    """Where an email reply to this ticket goes (see `pick_recipient`). Two queries."""
    if ticket.viewer_id is None:
        return ""
    emails = list(
        ViewerEmail.objects.filter(viewer_id=ticket.viewer_id).order_by("-is_primary", "id")
    )
    last_from = (
        Contact.objects.filter(ticket=ticket, direction=Direction.INBOUND, channel=Channel.EMAIL)
        .exclude(sender_address="")
        .order_by("-occurred_at", "-id")
        .values_list("sender_address", flat=True)
        .first()
    )
    return pick_recipient(emails=emails, last_sender=last_from or "")


def postal_address_lines(viewer: Viewer | None) -> list[str]:
    """The viewer's postal address as printed in an envelope's window; [] when incomplete."""
    if viewer is None or not viewer.address_line1.strip() or not viewer.city.strip():
        return []
    civility = {"M.": "Monsieur", "Mme": "Madame"}.get(viewer.civility, "")
    name = " ".join(p for p in (civility, viewer.first_name, viewer.last_name) if p).strip()
    lines = [name, viewer.organisation]
    lines += [viewer.address_line1, viewer.address_line2]
    lines.append(f"{viewer.postcode} {viewer.city.upper()}".strip())
    if viewer.country and viewer.country.upper() != "FR":
        lines.append(viewer.country.upper())
    return [line.strip() for line in lines if line and line.strip()]


def reply_subject(*, ticket: Ticket, subject: str) -> str:
    """The subject with the ticket reference in front ("[FTV-2026-000123] …"), once."""
    subject = " ".join((subject or "").split())
    if ticket.reference.lower() not in subject.lower():
        subject = f"[{ticket.reference}] {subject or ticket.subject or ''}".strip()
    return subject[:MAX_SUBJECT]


def _thread_parent(ticket: Ticket) -> Contact | None:
    """The viewer's last message with a Message-ID: the reply answers it."""
    return (
        Contact.objects.filter(ticket=ticket, direction=Direction.INBOUND)
        .exclude(message_id__isnull=True)
        .exclude(message_id="")
        .order_by("-occurred_at", "-id")
        .first()
    )


def _threading(ticket: Ticket) -> tuple[str, str]:
    """(In-Reply-To, References), bare ids: the viewer's answer to our mail names them, and
    the intake threads it back onto the ticket."""
    parent = _thread_parent(ticket)
    if parent is None:
        return "", ""
    chain = [r for r in (parent.references or "").split() if r]
    chain.append(parent.message_id)
    chain = list(dict.fromkeys(_bare(r) for r in chain if _bare(r)))[-20:]
    return _bare(parent.message_id), " ".join(chain)


def new_message_id() -> str:
    return _bare(make_msgid(domain=settings.EMAIL_MESSAGE_ID_DOMAIN))


# --- preview -----------------------------------------------------------------------------------


@dataclass
class ReplyPreview:
    channel: str
    subject: str
    body: str
    sender: str = ""
    recipient: str = ""
    address: list[str] = field(default_factory=list)
    letter_html: str = ""
    problems: list[str] = field(default_factory=list)


def reply_preview(
    *, ticket: Ticket, by: User, channel: str, subject: str, body: str
) -> ReplyPreview:
    """What the viewer will receive, before sending: the email as sent, or the letter's page."""
    preview = ReplyPreview(
        channel=channel, subject=reply_subject(ticket=ticket, subject=subject), body=body
    )
    if channel == ReplyChannel.EMAIL:
        name, address = brand_sender(ticket)
        preview.sender = f"{name} <{address}>"
        preview.recipient = reply_email_recipient(ticket=ticket)
        if not preview.recipient:
            preview.problems.append(_("The viewer has no working email address."))
    elif channel == ReplyChannel.LETTER:
        from .letters import letter_html

        preview.address = postal_address_lines(ticket.viewer)
        if not preview.address:
            preview.problems.append(_("The viewer's postal address is incomplete."))
        preview.letter_html = letter_html(
            ticket=ticket,
            subject=preview.subject,
            body=body,
            address=preview.address,
            date=timezone.localdate(),
        )
    from .templates import VARIABLE_RE

    left = sorted(set(VARIABLE_RE.findall(body or "")))
    if left:
        preview.problems.append(
            _("Unknown variables left in the text: %(names)s") % {"names": ", ".join(left)}
        )
    if "[" in (body or "") and "]" in (body or "") and "[Votre réponse ici]" in body:
        preview.problems.append(_("The template's placeholder has not been replaced."))
    return preview


# --- sending -----------------------------------------------------------------------------------


def _lock(ticket: Ticket, expected_version: int | None) -> Ticket:
    locked = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("brand", "viewer")
        .get(pk=ticket.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise StaleTicket(locked)
    return locked


def reply_send(
    *,
    ticket: Ticket,
    by: User,
    channel: str,
    subject: str,
    body: str,
    template: ResponseTemplate | None = None,
    expected_version: int | None,
) -> Contact:
    """Answer the viewer by email or letter: one outbound contact on the ticket.

    Requires `work` on the ticket. Raises ReplyError (empty text, no working email, no postal
    address, closed ticket), StaleTicket (the ticket changed since `expected_version`: the
    caller shows the new state; nothing is recorded, so nothing is sent twice).
    Side effects: stamps the ticket's first answer (ever, and at its current level), moves a
    `triaged` ticket to `in_progress`, bumps its version, records a `replied` event; after
    commit, enqueues the email's sending or the letter's PDF.
    """
    permissions.require(by, "work", ticket)
    if channel not in ReplyChannel.values:
        raise ReplyError(_("Choose email or letter."))
    body = (body or "").strip()
    if not body:
        raise ReplyError(_("The reply is empty."))
    with transaction.atomic():
        locked = _lock(ticket, expected_version)
        permissions.require(by, "work", locked)
        if locked.status == Status.CLOSED or locked.merged_into_id:
            raise ReplyError(_("This ticket is closed: open a new one to write again."))
        now = timezone.now()
        meta: dict = (
            {"template": template.pk, "template_version": template.version} if template else {}
        )
        name, from_address = brand_sender(locked)
        if channel == ReplyChannel.EMAIL:
            to = reply_email_recipient(ticket=locked)
            if not to:
                raise ReplyError(_("The viewer has no working email address: answer by letter."))
            in_reply_to, references = _threading(locked)
            meta["to"] = to
            contact = Contact.objects.create(
                ticket=locked,
                viewer=locked.viewer,
                channel=Channel.EMAIL,
                direction=Direction.OUTBOUND,
                occurred_at=now,
                subject=reply_subject(ticket=locked, subject=subject),
                body_text=body,
                sender_address=from_address,
                message_id=new_message_id(),
                in_reply_to=in_reply_to,
                references=references,
                author=by,
                delivery_status=DeliveryStatus.PENDING,
                meta=meta,
            )
        else:
            address = postal_address_lines(locked.viewer)
            if not address:
                raise ReplyError(_("The viewer's postal address is incomplete: fix it first."))
            meta["address"] = address
            contact = Contact.objects.create(
                ticket=locked,
                viewer=locked.viewer,
                channel=Channel.LETTER,
                direction=Direction.OUTBOUND,
                occurred_at=now,
                subject=reply_subject(ticket=locked, subject=subject),
                body_text=body,
                author=by,
                delivery_status=DeliveryStatus.TO_PRINT,
                meta=meta,
            )
        old_status = locked.status
        if locked.first_responded_at is None:
            locked.first_responded_at = now
        # The first answer at this level stops its first-answer (acknowledgement) clock;
        # the SLA sweep then brings an at-risk state back down.
        if locked.level_first_responded_at is None:
            locked.level_first_responded_at = now
        if locked.status == Status.TRIAGED:
            locked.status = Status.IN_PROGRESS
        locked.version = F("version") + 1
        locked.save(
            update_fields=[
                "first_responded_at",
                "level_first_responded_at",
                "status",
                "version",
                "updated_at",
            ]
        )
        locked.refresh_from_db()
        if old_status != locked.status:
            TicketEvent.objects.create(
                ticket=locked,
                kind=TicketEventKind.STATUS,
                actor=by,
                at=now,
                from_value=old_status,
                to_value=locked.status,
                reason=_("Answered"),
            )
        TicketEvent.objects.create(
            ticket=locked,
            kind=TicketEventKind.REPLIED,
            actor=by,
            at=now,
            to_value=channel,
            data={"contact": contact.pk, **({"template": template.pk} if template else {})},
        )
        reply_deliver(contact=contact)
    ticket.version = locked.version
    ticket.status = locked.status
    ticket.first_responded_at = locked.first_responded_at
    ticket.level_first_responded_at = locked.level_first_responded_at
    return contact


def reply_deliver(*, contact: Contact) -> None:
    """Ask for the delivery of an outbound contact once the transaction commits: an email
    `pending` goes to the `send_email_reply` task, a letter `to_print` to `render_letter`
    (its PDF, then the mailroom's print batch).

    The entry point for other apps that create reply contacts themselves (the mediation's
    answer to every viewer of a case): it also fills the email's threading headers from the
    viewer's last message when the caller did not, stores the Message-ID bare, and keeps the
    viewer's postal address on a letter that has none.
    """
    from frt_crm.celery import enqueue_on_commit

    from .. import tasks

    if contact.direction != Direction.OUTBOUND:
        raise ValueError("only outbound contacts are delivered")
    if contact.channel == Channel.EMAIL and contact.delivery_status == DeliveryStatus.PENDING:
        updates = {}
        if not contact.message_id or contact.message_id != _bare(contact.message_id):
            updates["message_id"] = _bare(contact.message_id) or new_message_id()
        if not contact.in_reply_to:
            in_reply_to, references = _threading(contact.ticket)
            if in_reply_to:
                updates.update(in_reply_to=in_reply_to, references=references)
        if "to" not in (contact.meta or {}):
            to = reply_email_recipient(ticket=contact.ticket)
            updates["meta"] = {**(contact.meta or {}), "to": to}
        if updates:
            Contact.objects.filter(pk=contact.pk).update(**updates)
            for key, value in updates.items():
                setattr(contact, key, value)
        enqueue_on_commit(tasks.send_email_reply, contact.pk)
    elif contact.channel == Channel.LETTER and contact.delivery_status == DeliveryStatus.TO_PRINT:
        if not (contact.meta or {}).get("address"):
            # The address as it is today, kept with the letter (the PDF and the batch list).
            meta = {**(contact.meta or {}), "address": postal_address_lines(contact.viewer)}
            Contact.objects.filter(pk=contact.pk).update(meta=meta)
            contact.meta = meta
        enqueue_on_commit(tasks.render_letter, contact.pk)


# --- email delivery ----------------------------------------------------------------------------


def _quote(parent: Contact | None) -> str:
    if parent is None or not (parent.body_text or "").strip():
        return ""
    with translation.override("fr"):
        when = timezone.localtime(parent.occurred_at).strftime("%d/%m/%Y %H:%M")
    header = f"Le {when}, {parent.sender_address or 'vous'} a écrit :"
    lines = (parent.body_text or "").strip().splitlines()[:60]
    return header + "\n" + "\n".join(f"> {line}" for line in lines)


def reply_email_message(*, contact: Contact) -> EmailMultiAlternatives:
    """The email of an outbound contact, headers and all (also used by tests and previews)."""
    ticket = contact.ticket
    name, address = brand_sender(ticket)
    parent = (
        Contact.objects.filter(ticket=ticket, message_id=contact.in_reply_to).first()
        if contact.in_reply_to
        else None
    )
    context = {
        "contact": contact,
        "ticket": ticket,
        "brand": ticket.brand,
        "body": contact.body_text,
        "quote": _quote(parent),
    }
    with translation.override("fr"):
        text = render_to_string("emails/reply.txt", context)
        html = render_to_string("emails/reply.html", context)
    headers = {
        "Message-ID": _bracket(contact.message_id),
        "X-FRT-Ticket": ticket.reference,
    }
    if contact.in_reply_to:
        headers["In-Reply-To"] = _bracket(contact.in_reply_to)
        references = [r for r in (contact.references or "").split() if r] or [contact.in_reply_to]
        headers["References"] = " ".join(_bracket(r) for r in references)
    message = EmailMultiAlternatives(
        subject=contact.subject,
        body=text,
        from_email=formataddr((name, address)),
        to=[contact.meta.get("to", "")],
        reply_to=[address],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message


def reply_email_deliver(*, contact_id: int) -> bool:
    """Send a pending email reply by SMTP; mark it sent. Safe to run twice: a contact that is
    no longer `pending` is left alone. Returns whether it sent.

    Raises TransientDeliveryError when the server may take it later; a refusal of the
    recipient is final (the contact is marked failed and the address failing).
    """
    contact = (
        Contact.objects.select_related("ticket__brand__parent", "ticket__viewer")
        .filter(pk=contact_id, channel=Channel.EMAIL, direction=Direction.OUTBOUND)
        .first()
    )
    if contact is None or contact.delivery_status != DeliveryStatus.PENDING:
        return False
    if not contact.meta.get("to"):
        reply_mark_failed(contact_id=contact_id, error=_("No recipient address."))
        return False
    message = reply_email_message(contact=contact)
    try:
        with get_connection(fail_silently=False) as connection:
            connection.send_messages([message])
    except smtplib.SMTPRecipientsRefused as exc:
        reply_mark_failed(contact_id=contact_id, error=_describe_refusal(exc), recipient=True)
        return False
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientDeliveryError(f"{exc.__class__.__name__}: {exc}") from exc
    Contact.objects.filter(pk=contact_id, delivery_status=DeliveryStatus.PENDING).update(
        delivery_status=DeliveryStatus.SENT, delivery_error=""
    )
    return True


def _describe_refusal(exc: smtplib.SMTPRecipientsRefused) -> str:
    parts = []
    for address, (code, text) in exc.recipients.items():
        detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        parts.append(f"{address}: {code} {detail}")
    return "; ".join(parts) or str(exc)


def reply_note_attempt(*, contact_id: int, error: str, attempt: int) -> None:
    """Keep the last error of a failed attempt on the contact while it is retried."""
    Contact.objects.filter(pk=contact_id, delivery_status=DeliveryStatus.PENDING).update(
        delivery_error=_("Attempt %(n)s failed, trying again: %(error)s")
        % {"n": attempt, "error": error}
    )


def reply_mark_failed(*, contact_id: int, error: str, recipient: bool = False) -> None:
    """The email could not be delivered: the ticket page shows it with the error, and a
    refused recipient's address is marked failing on the viewer card."""
    with transaction.atomic():
        updated = Contact.objects.filter(
            pk=contact_id, delivery_status=DeliveryStatus.PENDING
        ).update(delivery_status=DeliveryStatus.FAILED, delivery_error=error[:2000])
        if not updated:
            return
        contact = Contact.objects.select_related("ticket").get(pk=contact_id)
        TicketEvent.objects.create(
            ticket=contact.ticket,
            kind=TicketEventKind.REPLIED,
            to_value="failed",
            reason=error[:2000],
            data={"contact": contact_id, "delivery": "failed"},
        )
        if recipient and contact.viewer_id and contact.meta.get("to"):
            ViewerEmail.objects.filter(
                viewer_id=contact.viewer_id, email=contact.meta["to"], is_failing=False
            ).update(is_failing=True, failing_since=timezone.now(), failure_reason=error[:300])
    logger.warning("reply %s not delivered: %s", contact_id, error)


def reply_retry(*, contact: Contact, by: User) -> None:
    """Send a failed email reply again (after the address was fixed, or the server is back)."""
    permissions.require(by, "work", contact.ticket)
    if contact.channel != Channel.EMAIL or contact.delivery_status != DeliveryStatus.FAILED:
        raise ReplyError(_("Only a failed email can be sent again."))
    to = reply_email_recipient(ticket=contact.ticket)
    if not to:
        raise ReplyError(_("The viewer has no working email address: answer by letter."))
    with transaction.atomic():
        Contact.objects.filter(pk=contact.pk, delivery_status=DeliveryStatus.FAILED).update(
            delivery_status=DeliveryStatus.PENDING,
            delivery_error="",
            meta={**contact.meta, "to": to, "retried_by": by.pk},
        )
        contact.refresh_from_db()
        reply_deliver(contact=contact)
