"""Replies to viewers: the one write path of an answer (email or letter), and the delivery of
emails by SMTP.

A reply is an outbound `Contact` on the ticket. `reply_send` records it under the ticket's
row lock (refusing a form opened on an older version of the ticket: `StaleTicket`), stamps
the first answer, and asks for its delivery: an email becomes a message of the outbox (sent
after commit, retried, its state shown on the ticket), a letter goes to the `render_letter`
task (PDF for the mailroom's print batch).

The first-answer clock stops when staff send (the agent did the work; a mail server's delay
is not theirs); if that reply finally fails or bounces, the clock runs again
(`reply_delivery_changed`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.utils import formataddr

from django.conf import settings
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
from outbox.models import FINAL_FAILURES, FailureKind, MessageKind, OutboxMessage
from outbox.services import message_enqueue, message_retry, new_message_id

from ..models import ReplyChannel, ResponseTemplate

logger = logging.getLogger(__name__)

MAX_SUBJECT = 300


class ReplyError(ValueError):
    """A reply that cannot be sent as asked (message for the user)."""


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
    """Ask for the delivery of an outbound contact: an email `pending` becomes a message of the
    outbox (written now, in the caller's transaction, sent after commit), a letter `to_print`
    goes to `render_letter` (its PDF, then the mailroom's print batch).

    The entry point for other apps that create reply contacts themselves (the mediation's
    answer to every viewer of a case): it also fills the email's threading headers from the
    viewer's last message when the caller did not, stores the Message-ID bare, and keeps the
    viewer's postal address on a letter that has none. An email that already has its outbox
    message is left alone (calling this twice sends once).
    """
    from frt_crm.celery import enqueue_on_commit

    from .. import tasks

    if contact.direction != Direction.OUTBOUND:
        raise ValueError("only outbound contacts are delivered")
    if contact.channel == Channel.EMAIL and contact.delivery_status == DeliveryStatus.PENDING:
        if OutboxMessage.objects.filter(contact_id=contact.pk).exists():
            return
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
        parts = reply_email_parts(contact=contact)
        kind = MessageKind.REPLY
        if (contact.meta or {}).get("kind") == "acknowledgement":
            # A web-form acknowledgement written before the outbox, sent again: its own text.
            kind = MessageKind.ACKNOWLEDGEMENT
            parts.update(body_text=contact.body_text, body_html="")
        message_enqueue(
            kind=kind,
            contact=contact,
            ticket=contact.ticket,
            created_by=contact.author,
            **parts,
        )
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


def reply_email_parts(*, contact: Contact) -> dict:
    """The email of an outbound contact as the outbox keeps it: recipient, subject, text and
    HTML, sender, headers (threading), Message-ID."""
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
    headers = {"X-FRT-Ticket": ticket.reference}
    if contact.in_reply_to:
        headers["In-Reply-To"] = _bracket(contact.in_reply_to)
        references = [r for r in (contact.references or "").split() if r] or [contact.in_reply_to]
        headers["References"] = " ".join(_bracket(r) for r in references)
    return {
        "to": [(contact.meta or {}).get("to", "")],
        "subject": contact.subject,
        "body_text": text,
        "body_html": html,
        "from_email": formataddr((name, address)),
        "reply_to": address,
        "headers": headers,
        "message_id": contact.message_id,
    }


def _restart_first_answer_clock(contact: Contact, message: OutboxMessage) -> None:
    """A reply that stopped the first-answer clock was not delivered: the viewer has no
    answer, so the clock runs again from where it was (the next delivered or pending reply
    written after it, if any, stops it instead), and the ticket says so."""
    ticket = Ticket.objects.select_for_update(of=("self",)).get(pk=contact.ticket_id)
    changed = []
    undelivered = [DeliveryStatus.FAILED, DeliveryStatus.BOUNCED]
    later = (
        Contact.objects.filter(
            ticket_id=ticket.pk,
            direction=Direction.OUTBOUND,
            channel__in=[Channel.EMAIL, Channel.LETTER],
            author__isnull=False,
            occurred_at__gt=contact.occurred_at,
        )
        .exclude(delivery_status__in=undelivered)
        .exclude(pk=contact.pk)
        .order_by("occurred_at", "id")
        .values_list("occurred_at", flat=True)
        .first()
    )
    for name in ("first_responded_at", "level_first_responded_at"):
        if getattr(ticket, name) == contact.occurred_at:
            setattr(ticket, name, later)
            changed.append(name)
    if not changed:
        return
    ticket.version = F("version") + 1
    ticket.save(update_fields=[*changed, "version", "updated_at"])
    TicketEvent.objects.create(
        ticket_id=ticket.pk,
        kind=TicketEventKind.SLA,
        to_value="answer_undelivered",
        reason=_("The answer was not delivered: the first-answer clock runs again."),
        data={"contact": contact.pk, "message": message.pk, "cleared": changed},
    )


def reply_delivery_changed(*, message: OutboxMessage) -> None:
    """The outbox's handler for replies (called in the transaction that records a final
    outcome). A reply failed or bounced: the ticket's history says so, a refused recipient's
    address is marked failing on the viewer card, and if this reply had stopped the
    first-answer clock, the clock runs again (README: "the first-answer clock rule")."""
    if message.state not in FINAL_FAILURES or not message.contact_id:
        return
    contact = Contact.objects.select_related("ticket").get(pk=message.contact_id)
    with translation.override(settings.LANGUAGE_CODE):
        reason = str(message.reason)
    TicketEvent.objects.create(
        ticket=contact.ticket,
        kind=TicketEventKind.REPLIED,
        to_value=message.state,
        reason=reason[:2000],
        data={"contact": contact.pk, "delivery": message.state, "message": message.pk},
    )
    refused = message.failure in (FailureKind.RECIPIENT_REFUSED, FailureKind.BOUNCED)
    if refused and contact.viewer_id and message.recipients:
        ViewerEmail.objects.filter(
            viewer_id=contact.viewer_id, email__in=message.recipients, is_failing=False
        ).update(is_failing=True, failing_since=timezone.now(), failure_reason=reason[:300])
    if contact.author_id:
        _restart_first_answer_clock(contact, message)
    logger.warning("reply %s not delivered: %s", contact.pk, message.failure)


def reply_retry(*, contact: Contact, by: User) -> None:
    """Send a failed (or bounced) email reply again, to the viewer's working address now
    (after it was fixed, or the server is back), with the same Message-ID. A staff send: the
    first-answer clock stops again if it was running."""
    permissions.require(by, "work", contact.ticket)
    message = OutboxMessage.objects.filter(contact_id=contact.pk).first()
    # A reply that failed before the outbox existed has no message yet: it gets one now.
    legacy = message is None and contact.delivery_status in (
        DeliveryStatus.FAILED,
        DeliveryStatus.BOUNCED,
    )
    if contact.channel != Channel.EMAIL or not (legacy or (message and message.is_final_failure)):
        raise ReplyError(_("Only a failed email can be sent again."))
    to = reply_email_recipient(ticket=contact.ticket)
    if not to:
        raise ReplyError(_("The viewer has no working email address: answer by letter."))
    with transaction.atomic():
        meta = {**(contact.meta or {}), "to": to, "retried_by": by.pk}
        if legacy:
            Contact.objects.filter(pk=contact.pk).update(
                delivery_status=DeliveryStatus.PENDING, delivery_error="", meta=meta
            )
            contact.refresh_from_db()
            reply_deliver(contact=contact)
        elif message_retry(message=message, by=by, recipients=[to]):
            Contact.objects.filter(pk=contact.pk).update(meta=meta)
        else:
            raise ReplyError(_("Only a failed email can be sent again."))
        now = timezone.now()
        locked = Ticket.objects.select_for_update(of=("self",)).get(pk=contact.ticket_id)
        # Only a reply written by staff stops the clock (not an acknowledgement sent again).
        stamps = [
            name
            for name in ("first_responded_at", "level_first_responded_at")
            if contact.author_id and getattr(locked, name) is None
        ]
        for name in stamps:
            setattr(locked, name, now)
        if stamps:
            locked.save(update_fields=[*stamps, "updated_at"])
    contact.refresh_from_db()
