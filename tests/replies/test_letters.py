"""Letter replies: the PDF on the brand's letterhead with the address where a window envelope
shows it, and the mailroom's print batches (to print → printed → posted)."""

import re
import shutil
import subprocess

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from contacts.models import Attachment, DeliveryStatus
from replies import services
from replies.models import PrintBatch
from tests.workspace.helpers import workspace_ticket

pytestmark = pytest.mark.django_db

requires_pdftotext = pytest.mark.skipif(
    not shutil.which("pdftotext"), reason="needs service: pdftotext (poppler-utils)"
)


def letter(ticket, by, **kw):
    return services.reply_send(
        ticket=ticket,
        by=by,
        channel="letter",
        subject=kw.get("subject", "Votre courrier"),
        body=kw.get("body", "Madame,\n\nNous avons bien reçu votre courrier.\n\nCordialement."),
        expected_version=ticket.version,
    )


def pdf_text(path, *args):
    return subprocess.run(
        ["pdftotext", *args, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@requires_pdftotext
def test_letter_pdf_has_the_address_in_the_envelope_window_and_the_legal_mentions(
    agent, tmp_path, django_capture_on_commit_callbacks
):
    ticket = workspace_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        contact = letter(ticket, agent)
    contact.refresh_from_db()
    assert contact.delivery_status == DeliveryStatus.TO_PRINT
    assert contact.meta["address"] == [
        "Madame Hélène Lefèvre",
        "12 rue des Écoles",
        "29150 CHÂTEAULIN",
    ]
    attachment = Attachment.objects.get(pk=contact.meta["letter_attachment"])
    path = tmp_path / "letter.pdf"
    path.write_bytes(attachment.file.read())
    text = pdf_text(path)
    assert "12 rue des Écoles" in text and "29150 CHÂTEAULIN" in text
    assert ticket.reference in text and "France 2" in text
    assert "RGPD" in text  # the brand's legal mentions
    # Where the address sits (PDF points, 72 per inch): 100 mm from the left, ~50 mm down.
    bbox = pdf_text(path, "-bbox")
    word = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>Madame</word>', bbox)
    x_mm, y_mm = float(word.group(1)) * 25.4 / 72, float(word.group(2)) * 25.4 / 72
    assert 95 <= x_mm <= 112, x_mm
    assert 45 <= y_mm <= 60, y_mm


def test_letter_needs_a_postal_address(agent):
    ticket = workspace_ticket()
    ticket.viewer.__class__.objects.filter(pk=ticket.viewer_id).update(address_line1="")
    ticket.viewer.refresh_from_db()
    with pytest.raises(services.ReplyError):
        letter(ticket, agent)


def test_rendering_twice_keeps_one_pdf(agent):
    ticket = workspace_ticket()
    contact = letter(ticket, agent)
    first = services.letter_render(contact_id=contact.pk)
    second = services.letter_render(contact_id=contact.pk)
    assert first.pk == second.pk and contact.attachments.count() == 1


@requires_pdftotext
def test_print_batch_claims_every_waiting_letter_once_then_marks_them_posted(
    agent, mailroom, tmp_path, django_capture_on_commit_callbacks
):
    a = letter(workspace_ticket(), agent)
    b = letter(workspace_ticket(), agent, body="Deuxième lettre.")
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.print_batch_create(by=mailroom)
    assert services.print_batch_create(by=mailroom) is None  # nothing left
    batch.refresh_from_db()
    assert batch.letter_count == 2 and batch.page_count >= 3
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.delivery_status == b.delivery_status == DeliveryStatus.PRINTED
    path = tmp_path / "batch.pdf"
    path.write_bytes(batch.pdf.read())
    text = pdf_text(path)
    assert "Bordereau" in text and a.ticket.reference in text and b.ticket.reference in text
    assert services.print_batch_mark_posted(batch=batch, by=mailroom) == 2
    a.refresh_from_db()
    assert a.delivery_status == DeliveryStatus.POSTED
    assert services.print_batch_mark_posted(batch=batch, by=mailroom) == 0


def test_print_batches_are_for_the_mailroom_and_managers(client, agent, mailroom):
    with pytest.raises(PermissionDenied):
        services.print_batch_create(by=agent)
    client.force_login(agent)
    assert client.get(reverse("replies:print_queue")).status_code == 403
    letter(workspace_ticket(), agent)
    client.force_login(mailroom)
    page = client.get(reverse("replies:print_queue"))
    assert page.status_code == 200 and "CHÂTEAULIN" in page.content.decode()
    response = client.post(reverse("replies:print_batch_create"))
    batch = PrintBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "replies:print_batch", args=[batch.pk]
    )
    assert client.get(reverse("replies:print_batch", args=[batch.pk])).status_code == 200


def test_mediation_style_contacts_are_delivered_through_reply_deliver(
    agent, django_capture_on_commit_callbacks
):
    """What the mediation's bulk answer does: its own contact, then our delivery."""
    from django.core import mail

    from contacts.models import Contact

    ticket = workspace_ticket()
    contact = Contact.objects.create(
        ticket=ticket,
        viewer=ticket.viewer,
        channel="email",
        direction="out",
        subject=f"[{ticket.reference}] L'avis du médiateur",
        body_text="Avis",
        message_id="<abc.123@crm.example.fr>",
        delivery_status=DeliveryStatus.PENDING,
        meta={"to": "helene.lefevre@example.fr"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.reply_deliver(contact=contact)
    contact.refresh_from_db()
    assert contact.message_id == "abc.123@crm.example.fr"
    assert contact.in_reply_to  # threaded on the viewer's last message
    assert contact.delivery_status == DeliveryStatus.SENT and len(mail.outbox) == 1


def test_a_letter_created_elsewhere_gets_the_address_and_its_pdf(
    agent, django_capture_on_commit_callbacks
):
    from contacts.models import Contact

    ticket = workspace_ticket()
    contact = Contact.objects.create(
        ticket=ticket,
        viewer=ticket.viewer,
        channel="letter",
        direction="out",
        subject="L'avis du médiateur",
        body_text="Madame,\n\nAvis.",
        delivery_status=DeliveryStatus.TO_PRINT,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.reply_deliver(contact=contact)
    contact.refresh_from_db()
    assert contact.meta["address"][-1] == "29150 CHÂTEAULIN"
    assert contact.meta["letter_attachment"]
