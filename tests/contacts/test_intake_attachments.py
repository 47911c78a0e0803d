"""What the email intake keeps of a message: attachments of any name and almost any type (served
as downloads), refused parts listed for staff, forwarded messages as .eml files, abuse reports
read as bounces, no orphan files, and a redelivery that is a duplicate before it is a flood."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import DatabaseError

from contacts.models import Attachment, Contact, DeliveryStatus, QuarantineItem, Ticket
from contacts.services import intake as intake_service
from contacts.services.email_intake import email_ingest, email_ingest_batch
from tests.contacts.conftest import eml

pytestmark = pytest.mark.django_db

LONG_NAME = (
    "Relevé de la réclamation concernant l'émission du samedi soir et la coupure du direct "
    "— version définitive signée.pdf"
)


def mail(
    *parts: tuple[str, str, bytes],
    sender: str = "jeanne.martin@orange.fr",
    msgid: str = "att-1@orange.fr",
    subject: str = "Pièces jointes",
) -> bytes:
    boundary = "b-att-1"
    head = (
        f"From: Jeanne Martin <{sender}>\r\nTo: relations.telespectateurs@france2.fr\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{msgid}>\r\nMIME-Version: 1.0\r\n"
        "Date: Thu, 26 Mar 2026 09:05:44 +0100\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Bonjour, voici les documents.\r\n"
    )
    body = ""
    for ctype, name, data in parts:
        encoded = base64.encodebytes(name.encode()).decode().replace("\n", "")
        body += (
            f"--{boundary}\r\nContent-Type: {ctype}\r\n"
            f'Content-Disposition: attachment; filename="=?utf-8?b?{encoded}?="\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
            + base64.encodebytes(data).decode().replace("\n", "\r\n")
        )
    return (head + body + f"--{boundary}--\r\n").encode()


def media_files(settings, folder: str = "attachments") -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / folder
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- names and files ---------------------------------------------------------------------------


def test_an_attachment_name_of_any_length_is_kept_under_a_short_path(intake_env):
    outcome = email_ingest(raw=mail(("application/pdf", LONG_NAME, b"%PDF-1.4 rapport")))

    assert outcome.status == "created" and outcome.attachments == 1
    attachment = Attachment.objects.get(contact_id=outcome.contact)
    assert attachment.filename == LONG_NAME  # the original name, as the viewer sent it
    assert len(attachment.file.name) <= 100  # Attachment.file is varchar(100) on PostgreSQL
    assert attachment.file.name.endswith(".pdf") and attachment.file.read() == b"%PDF-1.4 rapport"


def test_a_rolled_back_intake_leaves_no_orphan_file(intake_env):
    raw = mail(("application/pdf", "a.pdf", b"%PDF a"), ("image/png", "b.png", b"\x89PNG b"))
    with (
        mock.patch.object(
            intake_service.Attachment.objects, "bulk_create", side_effect=DatabaseError("cut")
        ),
        pytest.raises(DatabaseError),
    ):
        email_ingest(raw=raw)

    assert media_files(intake_env) == []
    assert Contact.objects.count() == 0


def test_a_failed_batch_taken_again_one_by_one_keeps_one_file_per_attachment(intake_env):
    from contacts.services import email_intake

    real = email_intake.email_ingest_many

    def written_then_broken(**kwargs):
        real(**kwargs)
        raise DatabaseError("connection reset")

    raws = [
        mail(("application/pdf", f"doc{i}.pdf", b"%PDF " + bytes([i])), msgid=f"b{i}@x", sender=s)
        for i, s in enumerate(["a@example.fr", "b@example.fr"])
    ]
    with mock.patch.object(email_intake, "email_ingest_many", side_effect=written_then_broken):
        outcomes = email_ingest_batch(items=[(raw, "") for raw in raws])

    assert [o.status for o in outcomes] == ["created", "created"]
    assert len(media_files(intake_env)) == Attachment.objects.count() == 2


# --- types kept, types refused -----------------------------------------------------------------

UNUSUAL = [
    ("application/octet-stream", "sauvegarde.dat", b"\x00\x01\x02"),
    ("application/zip", "photos.zip", b"PK\x03\x04"),
    ("text/rtf", "lettre.rtf", b"{\\rtf1 Bonjour}"),
    ("application/pgp-signature", "signature.asc", b"-----BEGIN PGP SIGNATURE-----"),
]


def test_unusual_types_are_kept_and_served_as_downloads(intake_env, srt, client):
    outcome = email_ingest(raw=mail(*UNUSUAL, ("application/x-msdownload", "setup.exe", b"MZ")))

    contact = Contact.objects.get(pk=outcome.contact)
    kept = {a.filename: a for a in contact.attachments.all()}
    assert set(kept) == {"sauvegarde.dat", "photos.zip", "lettre.rtf", "signature.asc"}
    client.force_login(srt)
    response = client.get(f"/attachments/{kept['lettre.rtf'].pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/octet-stream"


def test_a_refused_part_is_listed_on_the_ticket_page(intake_env, srt, client):
    outcome = email_ingest(raw=mail(("application/x-msdownload", "setup.exe", b"MZ" * 40)))

    contact = Contact.objects.get(pk=outcome.contact)
    [refused] = contact.meta["skipped_attachments"]
    assert refused["filename"] == "setup.exe" and refused["code"] == "dangerous"
    assert refused["size"] == 80 and refused["content_type"] == "application/x-msdownload"
    client.force_login(srt)
    html = client.get(f"/tickets/{contact.ticket_id}/").content.decode()
    assert "setup.exe" in html
    assert "Pièce jointe refusée, non conservée (1)" in html
    assert "refusée\u00a0: un programme ou un script" in html


# --- forwards and abuse reports ------------------------------------------------------------------


def test_a_forwarded_message_is_one_eml_attachment_with_its_text_quoted(intake_env):
    outcome = email_ingest(raw=eml("forward_as_attachment.eml"))

    contact = Contact.objects.get(pk=outcome.contact)
    [forwarded] = contact.attachments.all()
    assert outcome.attachments == 1  # not the forwarded message's own photo
    assert forwarded.filename.endswith(".eml") and forwarded.content_type == "message/rfc822"
    assert "> Bonsoir, les propos tenus samedi" in contact.body_text


def test_an_abuse_report_opens_no_ticket_and_marks_our_mail(intake_env, annie_ticket):
    from tests.contacts.test_email_parser import ARF

    tickets = Ticket.objects.count()
    email_ingest(raw=ARF)

    assert Ticket.objects.count() == tickets
    outbound = annie_ticket.contacts.get(direction="out")
    assert outbound.delivery_status == DeliveryStatus.BOUNCED
    assert "abuse report" in outbound.delivery_error


# --- redelivery and floods -----------------------------------------------------------------------


def reply(i: int) -> bytes:
    return (
        "From: Jeanne Martin <busy@orange.fr>\r\nTo: relations.telespectateurs@france2.fr\r\n"
        f"Subject: Message {i}\r\nMessage-ID: <busy-{i}@orange.fr>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour.\r\n"
    ).encode()


def test_a_busy_senders_message_delivered_twice_is_a_duplicate_not_a_flood(intake_env):
    intake_env.INTAKE_FLOOD_PER_HOUR = 3
    first = [email_ingest(raw=reply(i)) for i in range(3)]

    again = email_ingest(raw=reply(0))
    batch_again = email_ingest_batch(items=[(reply(1), ""), (reply(9), "")])

    assert [o.status for o in first] == ["created"] * 3
    assert again.status == "duplicate" and again.contact == first[0].contact
    assert [o.status for o in batch_again] == ["duplicate", "rejected"]  # 9 is the flood
    assert QuarantineItem.objects.filter(reason_code="flood").count() == 1


# --- the quarantine's retry --------------------------------------------------------------------


def test_retrying_a_quarantined_mail_with_a_long_attachment_name_releases_it(
    intake_env, manager, client
):
    from contacts.services.quarantine import quarantine_put

    raw = mail(("application/pdf", LONG_NAME, b"%PDF-1.4 x"), msgid="held-1@orange.fr")
    item, _ = quarantine_put(
        source="email",
        reason_code="internal_error",
        reason="internal error: DataError (quarantined)",
        data=raw,
        extension="eml",
        content_type="message/rfc822",
    )
    client.force_login(manager)
    response = client.post(f"/quarantine/{item.pk}/action/", {"action": "retry"})

    assert response.status_code in (200, 302)
    item.refresh_from_db()
    assert item.state == QuarantineItem.State.RELEASED
    assert item.contact.attachments.get().filename == LONG_NAME


def test_ingest_email_counts_only_the_outer_mails_attachments(intake_env, tmp_path):
    path = tmp_path / "fwd.eml"
    path.write_bytes(eml("forward_as_attachment.eml"))
    out = io.StringIO()
    call_command("ingest_email", "--json", str(path), stdout=out)

    [line] = [json.loads(x) for x in out.getvalue().splitlines()]
    assert line["status"] == "created" and line["attachments"] == 1


def test_a_retry_that_meets_a_bug_keeps_the_item_held_instead_of_failing(
    intake_env, manager, client
):
    from contacts.services.quarantine import quarantine_put

    item, _ = quarantine_put(
        source="email",
        reason_code="internal_error",
        reason="internal error",
        data=reply(42),
        extension="eml",
        content_type="message/rfc822",
    )
    client.force_login(manager)
    with mock.patch("contacts.services.email_intake.email_ingest", side_effect=ValueError("a bug")):
        response = client.post(f"/quarantine/{item.pk}/action/", {"action": "retry"})

    assert response.status_code in (200, 302)
    item.refresh_from_db()
    assert item.state == QuarantineItem.State.HELD and "ValueError" in item.reason
