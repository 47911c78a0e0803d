"""Email into the intake, with the raw messages of the corpus: threading, duplicates,
automatic mail, bounces, quarantine, and the `ingest_email` command's contract."""

import io
import json
import sys
from unittest import mock

import pytest
from django.core.management import call_command

from contacts.models import (
    Contact,
    DeliveryStatus,
    QuarantineItem,
    Status,
    Ticket,
    Viewer,
    ViewerEmail,
)
from contacts.services import intake as intake_service
from contacts.services.email_intake import email_ingest
from tests.contacts.conftest import EMAILS, TRIAGE_CALLS, eml
from tests.factories import TicketFactory, ViewerFactory

pytestmark = pytest.mark.django_db


def reply(
    subject: str,
    *,
    sender="jeanne.martin@orange.fr",
    msgid="<r1@orange.fr>",
    in_reply_to="",
    body="Merci pour votre réponse.",
) -> bytes:
    head = [
        f"From: Jeanne Martin <{sender}>",
        "To: relations.telespectateurs@france2.fr",
        f"Subject: {subject}",
        f"Message-ID: {msgid}",
        "Date: Thu, 26 Mar 2026 09:05:44 +0100",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if in_reply_to:
        head.append(f"In-Reply-To: {in_reply_to}")
    return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode()


def test_new_mail_creates_viewer_contact_and_new_ticket_with_triage_after_commit(
    intake_env, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outcome = email_ingest(raw=eml("plain_utf8.eml"))

    assert outcome.status == "created"
    contact = Contact.objects.get(pk=outcome.contact)
    ticket = contact.ticket
    assert ticket.status == Status.NEW and ticket.brand.code == "france2"
    assert ticket.reference == outcome.ticket
    assert contact.viewer.emails.get().email == "jeanne.martin@orange.fr"
    assert contact.raw_file.read() == eml("plain_utf8.eml")  # the raw input, kept as received
    assert len(contact.raw_sha256) == 64
    assert [ticket.pk] == TRIAGE_CALLS


def test_same_message_id_twice_creates_nothing(intake_env):
    first = email_ingest(raw=eml("plain_utf8.eml"))
    second = email_ingest(raw=eml("plain_utf8.eml"))

    assert second.status == "duplicate"
    assert (second.ticket, second.contact) == (first.ticket, first.contact)
    assert Contact.objects.count() == 1 and Ticket.objects.count() == 1


def test_message_without_message_id_is_idempotent_on_its_bytes(intake_env):
    email_ingest(raw=eml("no_message_id.eml"))
    again = email_ingest(raw=eml("no_message_id.eml"))

    assert again.status == "duplicate"
    assert Contact.objects.count() == 1


def test_second_delivery_hits_the_unique_constraint_and_answers_duplicate(intake_env):
    first = email_ingest(raw=eml("plain_utf8.eml"))
    existing = Contact.objects.get(pk=first.contact)

    # Straight to the service, as a second worker would get there: the insert decides.
    result = intake_service.contact_intake(
        message=intake_service.InboundMessage(
            channel="email",
            message_id=f"<{existing.message_id}>",
            sender=intake_service.SenderIdentity(email="someone.else@example.fr"),
            subject="Même message, autre livraison",
        )
    )

    assert result.status == "duplicate" and result.contact.pk == first.contact
    # Everything the second attempt wrote was rolled back with it.
    assert Ticket.objects.count() == 1 and Viewer.objects.count() == 1


def test_reply_threads_through_in_reply_to_of_our_outbound_mail(intake_env, annie_ticket):
    outcome = email_ingest(raw=eml("reply_ticket.eml"))

    assert outcome.status == "threaded"
    assert outcome.ticket == "FTV-2026-000123"
    annie_ticket.refresh_from_db()
    # The viewer answered: the ticket no longer waits for them.
    assert annie_ticket.status == Status.IN_PROGRESS
    assert annie_ticket.contacts.count() == 2


def test_ticket_reference_in_subject_threads_for_the_ticket_viewer_only(intake_env):
    viewer = ViewerFactory(email="jeanne.martin@orange.fr")
    ticket = TicketFactory(reference="FTV-2026-000777", viewer=viewer)

    mine = email_ingest(raw=reply("Re: [FTV-2026-000777] Votre demande"))
    stranger = email_ingest(
        raw=reply(
            "Re: [FTV-2026-000777] Votre demande", sender="x@example.org", msgid="<r2@example.org>"
        )
    )

    assert mine.status == "threaded" and mine.ticket == ticket.reference
    assert stranger.status == "created" and stranger.ticket != ticket.reference


def test_new_subject_from_a_known_viewer_opens_a_new_ticket(intake_env):
    viewer = ViewerFactory(email="jeanne.martin@orange.fr")
    TicketFactory(viewer=viewer)

    outcome = email_ingest(raw=reply("Autre sujet : la météo"))

    assert outcome.status == "created"
    assert Ticket.objects.filter(viewer=viewer).count() == 2


def test_reply_to_resolved_ticket_reopens_it_and_closed_ticket_gets_a_new_one(intake_env):
    viewer = ViewerFactory(email="jeanne.martin@orange.fr")
    resolved = TicketFactory(reference="FTV-2026-000801", viewer=viewer, status=Status.RESOLVED)
    closed = TicketFactory(reference="FTV-2026-000802", viewer=viewer, status=Status.CLOSED)

    reopened = email_ingest(raw=reply("Re: [FTV-2026-000801] x", msgid="<a@orange.fr>"))
    fresh = email_ingest(raw=reply("Re: [FTV-2026-000802] x", msgid="<b@orange.fr>"))

    resolved.refresh_from_db()
    assert reopened.status == "threaded" and resolved.status == Status.TRIAGED
    assert resolved.events.filter(kind="reopened").exists()
    assert fresh.status == "created" and fresh.ticket != closed.reference
    assert Contact.objects.get(pk=fresh.contact).meta["follows"] == closed.reference


@pytest.mark.parametrize(
    "name",
    ["ooo_auto_submitted.eml", "ooo_subject_only.eml", "x_autoreply.eml", "precedence_bulk.eml"],
)
def test_auto_replies_never_open_a_ticket_and_are_kept_aside(intake_env, name):
    outcome = email_ingest(raw=eml(name))

    assert outcome.status == "rejected"
    assert Ticket.objects.count() == 0 and Viewer.objects.count() == 0
    item = QuarantineItem.objects.get()
    assert item.state == QuarantineItem.State.IGNORED and item.reason_code == "auto_reply"


def test_auto_reply_to_our_mail_joins_its_ticket_without_reopening(intake_env):
    viewer = ViewerFactory(email="martine.colas@ac-rennes.example.fr")
    ticket = TicketFactory(viewer=viewer, status=Status.RESOLVED)
    Contact.objects.create(
        ticket=ticket,
        channel="email",
        direction="out",
        message_id="frt-crm.FTV-2026-000118.1742400000@relations.france2.fr",
    )

    outcome = email_ingest(raw=eml("ooo_auto_submitted.eml"))

    ticket.refresh_from_db()
    assert outcome.status == "threaded" and ticket.status == Status.RESOLVED
    assert Contact.objects.get(pk=outcome.contact).meta["automatic"]


def test_bounce_marks_the_outbound_mail_and_flags_the_address_failing(intake_env, annie_ticket):
    outcome = email_ingest(raw=eml("dsn_bounce.eml"))

    outbound = annie_ticket.contacts.get(direction="out")
    assert outbound.delivery_status == DeliveryStatus.BOUNCED
    assert "5.1.1" in outbound.delivery_error
    address = ViewerEmail.objects.get(email="annie.leroux@orange.fr")
    assert address.is_failing and address.failing_since is not None
    assert outcome.status == "threaded" and outcome.ticket == annie_ticket.reference
    assert Ticket.objects.count() == 1
    annie_ticket.refresh_from_db()
    assert annie_ticket.status == Status.WAITING_VIEWER  # a bounce does not reopen anything


def test_unmatched_bounce_and_mail_loop_create_nothing(intake_env):
    assert email_ingest(raw=eml("bounce_nonstandard.eml")).status == "rejected"
    assert email_ingest(raw=eml("loop_x_loop.eml")).status == "rejected"
    assert Ticket.objects.count() == 0
    assert set(QuarantineItem.objects.values_list("reason_code", flat=True)) == {
        "bounce_unmatched",
        "loop",
    }


@pytest.mark.parametrize("name", ["garbage.eml", "not_an_email.eml"])
def test_unparseable_input_is_quarantined_with_its_bytes(intake_env, name):
    outcome = email_ingest(raw=eml(name))

    assert outcome.status == "rejected" and "quarantined" in outcome.reason
    item = QuarantineItem.objects.get()
    assert item.state == QuarantineItem.State.HELD and item.reason_code == "parse_error"
    assert item.raw_file.read() == eml(name)


def test_oversized_mail_is_quarantined(intake_env):
    intake_env.INTAKE_MAX_EMAIL_BYTES = 2048
    raw = reply("Gros message", body="x" * 5000)

    outcome = email_ingest(raw=raw)

    assert outcome.status == "rejected" and "too large" in outcome.reason
    assert QuarantineItem.objects.get().reason_code == "too_large"


def test_flood_from_one_address_is_held_not_lost(intake_env):
    intake_env.INTAKE_FLOOD_PER_HOUR = 3
    outcomes = [
        email_ingest(raw=reply(f"Message {i}", msgid=f"<flood{i}@orange.fr>")) for i in range(5)
    ]

    assert [o.status for o in outcomes] == ["created"] * 3 + ["rejected"] * 2
    held = QuarantineItem.objects.filter(reason_code="flood")
    assert held.count() == 2


def test_attachments_are_stored_with_size_and_type(intake_env):
    outcome = email_ingest(raw=eml("attachments_pdf_jpeg.eml"))

    contact = Contact.objects.get(pk=outcome.contact)
    kinds = sorted(contact.attachments.values_list("content_type", flat=True))
    assert kinds == ["application/pdf", "image/jpeg"]
    assert all(a.size > 0 and len(a.sha256) == 64 for a in contact.attachments.all())


def test_oversized_attachment_is_listed_not_kept(intake_env):
    intake_env.INTAKE_MAX_ATTACHMENT_BYTES = 1024
    outcome = email_ingest(raw=eml("oversize_attachment.eml"))

    contact = Contact.objects.get(pk=outcome.contact)
    assert contact.attachments.count() == 0
    assert contact.meta["skipped_attachments"][0]["size"] > 1024


# --- the command's contract --------------------------------------------------------------------

KEYS = {
    "file",
    "status",
    "ticket",
    "contact",
    "viewer_email",
    "subject",
    "body_chars",
    "attachments",
    "reason",
}


def run(*args, stdin: bytes | None = None) -> list[dict]:
    out = io.StringIO()
    if stdin is not None:
        fake = io.TextIOWrapper(io.BytesIO(stdin))
        with mock.patch.object(sys, "stdin", fake):
            call_command("ingest_email", "--json", *args, stdout=out)
    else:
        call_command("ingest_email", "--json", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_ingest_email_json_gives_one_line_per_input_with_the_contract_keys(intake_env):
    files = sorted(str(p) for p in EMAILS.glob("*.eml"))

    lines = run(*files)

    assert len(lines) == len(files)
    assert all(set(line) == KEYS for line in lines)
    assert {line["status"] for line in lines} <= {"created", "threaded", "duplicate", "rejected"}
    assert all(line["reason"] for line in lines if line["status"] == "rejected")
    plain = next(line for line in lines if line["file"].endswith("plain_utf8.eml"))
    assert plain["status"] == "created" and plain["ticket"].startswith("FTV-")
    assert plain["viewer_email"] == "jeanne.martin@orange.fr" and plain["body_chars"] > 100

    again = run(*files)
    assert not [line for line in again if line["status"] == "created"]


def test_ingest_email_reads_standard_input_and_reports_unreadable_files(intake_env, tmp_path):
    lines = run("-", str(tmp_path / "missing.eml"), stdin=eml("plain_utf8.eml"))

    assert lines[0]["file"] == "-" and lines[0]["status"] == "created"
    assert lines[1]["status"] == "rejected" and "cannot read" in lines[1]["reason"]


def test_a_database_error_in_a_batch_loses_nothing(intake_env):
    from django.db import DatabaseError

    from contacts.management.commands import ingest_email as command
    from contacts.services import email_intake

    real_many, real_one = email_intake.email_ingest_many, command.email_ingest
    calls = {"one": 0}

    def broken_batch(**kwargs):
        real_many(**kwargs)  # the batch's rows are written, then the connection fails
        raise DatabaseError("connection reset")

    def flaky(**kwargs):
        calls["one"] += 1
        if calls["one"] == 2:  # taken one by one, the second message fails again
            raise DatabaseError("connection reset")
        return real_one(**kwargs)

    files = [str(EMAILS / n) for n in ("plain_utf8.eml", "latin1_qp.eml", "html_only.eml")]
    with (
        mock.patch.object(email_intake, "email_ingest_many", side_effect=broken_batch),
        mock.patch.object(command, "email_ingest", side_effect=flaky),
    ):
        lines = run(*files)

    assert [line["status"] for line in lines] == ["created", "rejected", "created"]
    assert "internal error" in lines[1]["reason"]
    assert Contact.objects.count() == 2  # nothing of the broken batch was kept twice
    kept = QuarantineItem.objects.get(reason_code="internal_error")
    assert kept.raw_file.read() == eml("latin1_qp.eml")
