"""Replies by email: the outbound contact, the SMTP message with its threading headers, the
retries and failures shown on the ticket, and the viewer's answer threading back."""

import smtplib
from email import message_from_bytes

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.utils import translation

from contacts.models import Contact, DeliveryStatus, Direction, Status, TicketEventKind
from contacts.services import StaleTicket
from contacts.services.email_intake import email_ingest
from replies import services
from tests.workspace.helpers import workspace_ticket

pytestmark = pytest.mark.django_db


def send(ticket, by, **kw):
    kw.setdefault("channel", "email")
    kw.setdefault("subject", "Votre question")
    kw.setdefault("body", "Madame,\nLe documentaire sera rediffusé jeudi.")
    kw.setdefault("expected_version", ticket.version)
    return services.reply_send(ticket=ticket, by=by, **kw)


def test_email_reply_is_an_outbound_contact_sent_from_the_brand_with_threading_headers(
    agent, django_capture_on_commit_callbacks
):
    ticket = workspace_ticket(contacts=2)
    last_inbound = Contact.objects.filter(ticket=ticket, channel="email").order_by("-occurred_at")[
        0
    ]
    with django_capture_on_commit_callbacks(execute=True):
        contact = send(ticket, agent)
    contact.refresh_from_db()
    assert contact.direction == Direction.OUTBOUND and contact.author == agent
    assert contact.delivery_status == DeliveryStatus.SENT
    assert contact.subject == f"[{ticket.reference}] Votre question"
    assert contact.message_id.endswith("@crm.example.fr") and "<" not in contact.message_id
    assert contact.in_reply_to == last_inbound.message_id
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    parsed = message_from_bytes(sent.message().as_bytes())
    assert parsed["Message-ID"] == f"<{contact.message_id}>"
    assert parsed["In-Reply-To"] == f"<{last_inbound.message_id}>"
    assert f"<{last_inbound.message_id}>" in parsed["References"]
    assert "relations.telespectateurs@france2" in parsed["From"]
    assert parsed["To"] == "helene.lefevre@example.fr"
    assert ticket.reference in parsed["Subject"]
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None and ticket.status == Status.IN_PROGRESS
    assert ticket.events.filter(kind=TicketEventKind.REPLIED).exists()


def test_a_reply_on_an_older_version_is_refused_and_nothing_is_recorded(agent, srt):
    ticket = workspace_ticket()
    stale = ticket.version
    send(ticket, srt)
    with pytest.raises(StaleTicket):
        send(ticket, agent, expected_version=stale)
    assert Contact.objects.filter(ticket=ticket, direction="out").count() == 1


def test_no_working_email_means_answer_by_letter(agent):
    ticket = workspace_ticket()
    ticket.viewer.emails.update(is_failing=True)
    with translation.override("en"), pytest.raises(services.ReplyError, match="letter"):
        send(ticket, agent)


def test_agents_may_not_answer_level_two_tickets(agent):
    ticket = workspace_ticket(level=2)
    with pytest.raises(PermissionDenied):
        send(ticket, agent)


class Server:
    """A stand-in for the SMTP connection: raises `error` when sending, if any."""

    error: Exception | None = None

    def __init__(self, *a, **k):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def send_messages(self, messages):
        if self.error is not None:
            raise self.error
        mail.outbox.extend(messages)
        return len(messages)


def server(monkeypatch, error=None):
    monkeypatch.setattr(Server, "error", error)
    monkeypatch.setattr("outbox.services.get_connection", Server)


def test_smtp_down_leaves_the_reply_deferred_not_failed_nor_sent(
    agent, monkeypatch, django_capture_on_commit_callbacks
):
    ticket = workspace_ticket()
    server(monkeypatch, ConnectionRefusedError(111, "Connection refused"))
    with django_capture_on_commit_callbacks(execute=True):
        contact = send(ticket, agent)
    contact.refresh_from_db()
    assert contact.delivery_status == DeliveryStatus.PENDING
    assert contact.outbox.state == "deferred" and contact.outbox.next_attempt_at is not None
    assert "Errno" not in contact.delivery_error
    assert not ticket.events.filter(kind=TicketEventKind.REPLIED, to_value="failed").exists()


def test_refused_recipient_fails_the_reply_and_marks_the_address_failing(
    agent, monkeypatch, django_capture_on_commit_callbacks
):
    ticket = workspace_ticket()
    server(
        monkeypatch,
        smtplib.SMTPRecipientsRefused({"helene.lefevre@example.fr": (550, b"5.1.1 user unknown")}),
    )
    with django_capture_on_commit_callbacks(execute=True), translation.override("fr"):
        contact = send(ticket, agent)
    contact.refresh_from_db()
    assert contact.delivery_status == DeliveryStatus.FAILED
    assert "refusée" in contact.delivery_error and "550" in contact.delivery_error
    assert ticket.viewer.emails.get().is_failing
    assert ticket.events.filter(kind=TicketEventKind.REPLIED, to_value="failed").exists()


def test_sending_twice_sends_once(agent, django_capture_on_commit_callbacks):
    from outbox.tasks import deliver_message

    ticket = workspace_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        contact = send(ticket, agent)
    deliver_message(contact.outbox.pk)
    services.reply_deliver(contact=contact)
    assert len(mail.outbox) == 1


def test_retry_after_a_failure_sends_again_with_the_same_message_id(
    agent, monkeypatch, django_capture_on_commit_callbacks
):
    ticket = workspace_ticket()
    server(monkeypatch, smtplib.SMTPDataError(554, b"5.7.1 rejected"))
    with django_capture_on_commit_callbacks(execute=True):
        contact = send(ticket, agent)
    contact.refresh_from_db()
    assert contact.delivery_status == DeliveryStatus.FAILED
    server(monkeypatch, None)
    with django_capture_on_commit_callbacks(execute=True):
        services.reply_retry(contact=contact, by=agent)
    contact.refresh_from_db()
    assert contact.delivery_status == DeliveryStatus.SENT and len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == f"<{contact.message_id}>"


def test_the_viewers_answer_threads_back_onto_the_ticket(
    agent, settings, django_capture_on_commit_callbacks
):
    settings.TRIAGE_TASK = ""
    ticket = workspace_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        contact = send(ticket, agent, subject="Rediffusion")
    contact.refresh_from_db()
    raw = (
        "From: Helene Lefevre <helene.lefevre@example.fr>\r\n"
        "To: relations.telespectateurs@france2.example.fr\r\n"
        f"Subject: Re: {contact.subject}\r\n"
        "Message-ID: <answer-1@orange.fr>\r\n"
        f"In-Reply-To: <{contact.message_id}>\r\n"
        f"References: <{contact.message_id}>\r\n"
        "Date: Thu, 26 Nov 2026 10:00:00 +0100\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Merci beaucoup pour votre réponse !\r\n"
    ).encode()
    with django_capture_on_commit_callbacks(execute=True):
        outcome = email_ingest(raw=raw)
    assert outcome.status == "threaded", outcome
    assert Contact.objects.filter(ticket=ticket, message_id="answer-1@orange.fr").exists()


def test_reply_page_post_sends_and_refuses_a_stale_form_keeping_the_draft(
    client, agent, srt, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    ticket = workspace_ticket()
    old = ticket.version
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("replies:send", args=[ticket.pk]),
            {
                "version": old,
                "channel": "email",
                "subject": "S",
                "body": "Première réponse",
                "then": "waiting_viewer",
            },
        )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_VIEWER
    response = client.post(
        reverse("replies:send", args=[ticket.pk]),
        {"version": old, "channel": "email", "subject": "S", "body": "Réponse en double"},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Réponse en double" in html and 'id="stale"' in html
    assert Contact.objects.filter(ticket=ticket, direction="out").count() == 1


def test_preview_shows_sender_recipient_and_problems(client, agent):
    from django.urls import reverse

    ticket = workspace_ticket()
    client.force_login(agent)
    html = client.post(
        reverse("replies:preview", args=[ticket.pk]),
        {"channel": "email", "subject": "S", "body": "Bonjour {{ inconnu }}"},
    ).content.decode()
    assert "helene.lefevre@example.fr" in html and "inconnu" in html
    assert f"[{ticket.reference}] S" in html
