"""The IMAP poller against a real Dovecot on loopback (`bash .ci/dovecot.sh`): fetch, ingest,
move to the processed folder once committed; a crash before the move re-ingests harmlessly."""

import imaplib
import os
import time
import uuid
from unittest import mock

import pytest

from contacts.models import Contact, Mailbox, QuarantineItem
from contacts.services import mailboxes as mailbox_service
from contacts.services.email_intake import email_ingest_many
from contacts.services.mailboxes import mailbox_poll
from contacts.tasks import poll_mailboxes
from tests.contacts.conftest import eml
from tests.factories import brand

HOST = os.environ.get("DOVECOT_HOST", "127.0.0.1")
PORT = int(os.environ.get("DOVECOT_PORT", "10143"))
USER = os.environ.get("DOVECOT_USER", "crm")
PASSWORD = os.environ.get("DOVECOT_PASSWORD", "crm-test-password")


def _dovecot_up() -> bool:
    try:
        conn = imaplib.IMAP4(HOST, PORT, timeout=3)
        conn.login(USER, PASSWORD)
        conn.logout()
        return True
    except (OSError, imaplib.IMAP4.error):
        return False


pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not _dovecot_up(),
        reason=f"needs service: Dovecot IMAP on {HOST}:{PORT} (run bash .ci/dovecot.sh)",
    ),
]


@pytest.fixture
def imap_folders():
    """A fresh inbox folder and processed folder of our own for each test."""
    tag = uuid.uuid4().hex[:8]
    inbox, processed = f"test-{tag}", f"test-{tag}-done"
    conn = imaplib.IMAP4(HOST, PORT)
    conn.login(USER, PASSWORD)
    conn.create(inbox)
    yield conn, inbox, processed
    for folder in (inbox, processed):
        conn.delete(folder)
    conn.logout()


def append(conn, folder: str, raw: bytes) -> None:
    typ, data = conn.append(folder, None, imaplib.Time2Internaldate(time.time()), raw)
    assert typ == "OK", data


def count(conn, folder: str) -> int:
    typ, data = conn.select(folder)
    return int(data[0]) if typ == "OK" else -1


@pytest.fixture
def mailbox(imap_folders, intake_env):
    _, inbox, processed = imap_folders
    return Mailbox.objects.create(
        brand=brand("france2"),
        name="France 2",
        host=HOST,
        port=PORT,
        use_tls=False,
        username=USER,
        password=PASSWORD,
        folder=inbox,
        processed_folder=processed,
    )


def test_poll_ingests_and_moves_each_message_after_commit(imap_folders, mailbox):
    conn, inbox, processed = imap_folders
    append(conn, inbox, eml("plain_utf8.eml"))
    append(conn, inbox, eml("garbage.eml"))
    append(conn, inbox, eml("ooo_subject_only.eml"))

    report = mailbox_poll(mailbox_id=mailbox.pk)

    assert report.error == "" and report.fetched == 3
    assert report.statuses == {"created": 1, "rejected": 2}
    contact = Contact.objects.get()
    assert contact.ticket.brand.code == "france2"
    assert QuarantineItem.objects.filter(source="imap").count() == 2  # kept, not lost
    assert count(conn, inbox) == 0 and count(conn, processed) == 3
    mailbox.refresh_from_db()
    assert mailbox.last_polled_at and mailbox.lease_until is None

    again = mailbox_poll(mailbox_id=mailbox.pk)
    assert again.fetched == 0 and Contact.objects.count() == 1


def test_crash_before_the_move_reingests_as_a_duplicate(imap_folders, mailbox):
    conn, inbox, processed = imap_folders
    append(conn, inbox, eml("plain_utf8.eml"))

    with mock.patch(
        "contacts.channels.imap.ImapSession.move", side_effect=imaplib.IMAP4.abort("crash")
    ):
        crashed = mailbox_poll(mailbox_id=mailbox.pk)
    assert "crash" in crashed.error
    assert Contact.objects.count() == 1 and count(conn, inbox) == 1  # committed, not moved

    report = mailbox_poll(mailbox_id=mailbox.pk)

    assert report.statuses == {"duplicate": 1}
    assert Contact.objects.count() == 1
    assert count(conn, inbox) == 0 and count(conn, processed) == 1


def test_leased_mailbox_is_not_polled_twice_at_once(mailbox):
    from django.utils import timezone

    Mailbox.objects.filter(pk=mailbox.pk).update(lease_until=timezone.now() + mailbox_service.LEASE)
    assert mailbox_poll(mailbox_id=mailbox.pk).skipped


def test_wrong_password_is_reported_on_the_mailbox(mailbox):
    Mailbox.objects.filter(pk=mailbox.pk).update(password="wrong")

    report = mailbox_poll(mailbox_id=mailbox.pk)

    mailbox.refresh_from_db()
    assert "login refused" in report.error and mailbox.last_error == report.error


def test_beat_task_polls_every_active_mailbox(
    imap_folders, mailbox, django_capture_on_commit_callbacks
):
    conn, inbox, _ = imap_folders
    append(conn, inbox, eml("plain_utf8.eml"))

    with django_capture_on_commit_callbacks(execute=True):
        poll_mailboxes.delay()

    assert Contact.objects.count() == 1


def test_poll_mailboxes_command_polls_once(imap_folders, mailbox):
    import io

    from django.core.management import call_command

    conn, inbox, _ = imap_folders
    append(conn, inbox, eml("plain_utf8.eml"))
    out = io.StringIO()

    call_command("poll_mailboxes", stdout=out)

    assert "1 fetched" in out.getvalue() and Contact.objects.count() == 1


def test_poll_takes_a_mailbox_in_by_batches_with_one_commit_each(imap_folders, mailbox):
    conn, inbox, processed = imap_folders
    for name in ("plain_utf8.eml", "garbage.eml", "ooo_subject_only.eml"):
        append(conn, inbox, eml(name))

    with mock.patch(
        "contacts.services.email_intake.email_ingest_many", side_effect=email_ingest_many
    ) as batches:
        report = mailbox_poll(mailbox_id=mailbox.pk)

    assert batches.call_count == 1 and len(batches.call_args.kwargs["items"]) == 3
    assert report.statuses == {"created": 1, "rejected": 2}
    assert count(conn, inbox) == 0 and count(conn, processed) == 3


def test_a_failed_batch_is_taken_in_message_by_message(imap_folders, mailbox):
    conn, inbox, processed = imap_folders
    append(conn, inbox, eml("plain_utf8.eml"))
    append(conn, inbox, eml("ooo_subject_only.eml"))

    with mock.patch(
        "contacts.services.email_intake.email_ingest_many", side_effect=RuntimeError("bug")
    ):
        report = mailbox_poll(mailbox_id=mailbox.pk)

    assert report.error == "" and report.statuses == {"created": 1, "rejected": 1}
    assert Contact.objects.count() == 1
    assert count(conn, inbox) == 0 and count(conn, processed) == 2
