"""Reply letters: the PDF on the brand's letterhead (WeasyPrint), and the mailroom's print
batches (`to_print` → `printed` → `posted`).

The address block sits where a French window envelope (DL/C5 "fenêtre à droite", window
100 × 45 mm, 20 mm from the right edge and about 50 mm from the top) shows it: 100 mm from
the left edge of the A4 sheet, 50 mm from its top, once folded in three.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date
from io import BytesIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts import permissions
from accounts.models import User
from contacts.models import Attachment, Channel, Contact, DeliveryStatus, Direction, Ticket

from ..models import PrintBatch

logger = logging.getLogger(__name__)


def _paragraphs(body: str) -> list[str]:
    blocks = [b.strip() for b in (body or "").replace("\r\n", "\n").split("\n\n")]
    return [b for b in blocks if b]


def letter_html(*, ticket: Ticket, subject: str, body: str, address: list[str], date: date) -> str:
    """The letter as HTML for WeasyPrint (and for the preview in the reply box)."""
    brand = ticket.brand
    national = brand.national if brand else None
    with translation.override("fr"):
        return render_to_string(
            "letters/letter.html",
            {
                "ticket": ticket,
                "brand": brand,
                "colour": (brand.colour if brand else "") or "#1f2a44",
                "letterhead": (brand.letterhead if brand else "")
                or (national.letterhead if national else ""),
                "legal_mentions": (brand.legal_mentions if brand else "")
                or (national.legal_mentions if national else ""),
                # The reference has its own line ("Nos références"): not twice in the subject.
                "subject": subject.replace(f"[{ticket.reference}]", "").strip(),
                "paragraphs": _paragraphs(body),
                "address": address,
                "place_date": f"Paris, le {date_format(date, 'j F Y')}",
            },
        )


def _contact_letter_html(contact: Contact) -> str:
    return letter_html(
        ticket=contact.ticket,
        subject=contact.subject,
        body=contact.body_text,
        address=list(contact.meta.get("address") or []),
        date=timezone.localtime(contact.occurred_at).date(),
    )


def _render(html_pages: list[str]):
    from weasyprint import HTML

    base = str(settings.BASE_DIR)
    documents = [HTML(string=html, base_url=base).render() for html in html_pages]
    if not documents:
        raise ValueError("nothing to render")
    pages = [page for document in documents for page in document.pages]
    return documents[0].copy(pages), len(pages)


def letter_pdf(*, contact: Contact) -> bytes:
    """The PDF of one reply letter."""
    document, _count = _render([_contact_letter_html(contact)])
    out = BytesIO()
    document.write_pdf(out)
    return out.getvalue()


def letter_attachment(contact: Contact) -> Attachment | None:
    pk = (contact.meta or {}).get("letter_attachment")
    return Attachment.objects.filter(pk=pk, contact=contact).first() if pk else None


def letter_render(*, contact_id: int) -> Attachment | None:
    """Store the letter's PDF as an attachment of its contact (once: safe to run twice)."""
    contact = (
        Contact.objects.select_related("ticket__brand__parent", "ticket__viewer", "author")
        .filter(pk=contact_id, channel=Channel.LETTER, direction=Direction.OUTBOUND)
        .first()
    )
    if contact is None:
        return None
    existing = letter_attachment(contact)
    if existing is not None:
        return existing
    data = letter_pdf(contact=contact)
    name = f"{contact.ticket.reference}-courrier-{contact.pk}.pdf"
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        existing = letter_attachment(locked)
        if existing is not None:
            return existing
        attachment = Attachment(
            contact=locked,
            filename=name,
            content_type="application/pdf",
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        attachment.file.save(name, ContentFile(data), save=False)
        attachment.save()
        locked.meta = {**locked.meta, "letter_attachment": attachment.pk}
        locked.save(update_fields=["meta"])
    return attachment


# --- the mailroom's print batches --------------------------------------------------------------


def letters_to_print():
    """Letters waiting for the next batch, oldest first (the mailroom's page)."""
    return (
        Contact.objects.filter(
            delivery_status=DeliveryStatus.TO_PRINT,
            channel=Channel.LETTER,
            direction=Direction.OUTBOUND,
        )
        .select_related("ticket__brand", "viewer", "author")
        .order_by("occurred_at", "id")
    )


@transaction.atomic
def print_batch_create(*, by: User) -> PrintBatch | None:
    """Claim every letter waiting (`to_print` → `printed`) into a new batch, and ask for its
    PDF after commit. Two clerks clicking at once never print a letter twice: each letter is
    claimed by a conditional update. None when no letter waits."""
    permissions.require(by, "print_letters")
    ids = list(letters_to_print().values_list("id", flat=True)[:2000])
    claimed = []
    for pk in ids:
        if Contact.objects.filter(pk=pk, delivery_status=DeliveryStatus.TO_PRINT).update(
            delivery_status=DeliveryStatus.PRINTED
        ):
            claimed.append(pk)
    if not claimed:
        return None
    batch = PrintBatch.objects.create(created_by=by, letter_count=len(claimed))
    batch.contacts.set(claimed)
    from frt_crm.celery import enqueue_on_commit

    from .. import tasks

    enqueue_on_commit(tasks.render_print_batch, batch.pk)
    return batch


def print_batch_letters(batch: PrintBatch):
    return batch.contacts.select_related("ticket__brand__parent", "viewer", "author").order_by(
        "ticket__brand__order", "occurred_at", "id"
    )


def print_batch_render(*, batch_id: int) -> PrintBatch | None:
    """Render the batch: its list of letters first, then every letter, as one PDF."""
    batch = PrintBatch.objects.filter(pk=batch_id).first()
    if batch is None or batch.pdf:
        return batch
    letters = list(print_batch_letters(batch))
    with translation.override("fr"):
        listing = render_to_string(
            "letters/batch_list.html",
            {"batch": batch, "letters": letters, "created": timezone.localtime(batch.created_at)},
        )
    document, count = _render([listing] + [_contact_letter_html(c) for c in letters])
    out = BytesIO()
    document.write_pdf(out)
    name = f"courriers-{timezone.localtime(batch.created_at):%Y%m%d-%H%M}-{batch.pk}.pdf"
    batch.pdf.save(name, ContentFile(out.getvalue()), save=False)
    batch.page_count = count
    batch.save(update_fields=["pdf", "page_count"])
    return batch


@transaction.atomic
def print_batch_mark_posted(*, batch: PrintBatch, by: User) -> int:
    """The envelopes of the batch left: its letters become `posted`. Returns how many."""
    permissions.require(by, "print_letters")
    locked = PrintBatch.objects.select_for_update().get(pk=batch.pk)
    if locked.posted_at is not None:
        return 0
    count = locked.contacts.filter(delivery_status=DeliveryStatus.PRINTED).update(
        delivery_status=DeliveryStatus.POSTED
    )
    locked.posted_at = timezone.now()
    locked.posted_by = by
    locked.save(update_fields=["posted_at", "posted_by"])
    batch.posted_at, batch.posted_by = locked.posted_at, by
    return count


def letter_reprint(*, contact: Contact, by: User) -> None:
    """Put a printed letter back in the next batch (a jammed printer, a spoilt page)."""
    permissions.require(by, "print_letters")
    updated = Contact.objects.filter(
        pk=contact.pk, channel=Channel.LETTER, delivery_status=DeliveryStatus.PRINTED
    ).update(delivery_status=DeliveryStatus.TO_PRINT)
    if not updated:
        raise ValueError(_("Only a printed letter that was not posted can be printed again."))
