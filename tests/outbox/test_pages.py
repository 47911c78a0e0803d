"""What the pages say about sent messages: nothing is "sent" before the SMTP server took it,
each outbound message shows its state (waiting, sent, deferred with the next try, failed with
the reason in French words, bounced) and failed ones can be sent again; the web form promises
an acknowledgement rather than claiming one; surveys go only to viewers who consented; the
first-answer clock runs again when the answer is not delivered. Tasks run in-process, as
under `make run`, where no SMTP server listens."""

from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from contacts.models import Contact, DeliveryStatus, Outcome, Status, Ticket, TicketEventKind
from contacts.services.email_intake import email_ingest
from outbox.models import MessageKind, MessageState, OutboxMessage
from replies import services as replies
from satisfaction.services import survey_send_for
from tests.workspace.helpers import consent, workspace_ticket

pytestmark = pytest.mark.django_db

DSN = Path(__file__).resolve().parent.parent / "contacts" / "emails" / "dsn_bounce.eml"


def reply_by_page(client, ticket, then=""):
    return client.post(
        reverse("replies:send", args=[ticket.pk]),
        {
            "version": ticket.version,
            "channel": "email",
            "subject": "Votre question",
            "body": "Madame,\nLe documentaire sera rediffusé jeudi.",
            "then": then,
        },
    )


def ticket_page(client, ticket) -> str:
    response = client.get(reverse("contacts:ticket", args=[ticket.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_without_smtp_resolving_with_an_answer_succeeds_and_the_reply_waits_deferred(
    client, agent, smtp_down, django_capture_on_commit_callbacks
):
    ticket = workspace_ticket()
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = reply_by_page(client, ticket, then="resolve")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    message = OutboxMessage.objects.get(kind=MessageKind.REPLY)
    assert message.state == MessageState.DEFERRED
    html = client.get(response["Location"]).content.decode()
    assert "Réponse enregistrée" in html and "Réponse envoyée" not in html
    next_try = timezone.localtime(message.next_attempt_at).strftime("%H:%M")
    assert "Différé" in html and f"prochain essai à {next_try}" in html
    assert "Le serveur de messagerie est injoignable." in html
    assert "Errno" not in html and "Connection refused" not in html


def test_a_sent_reply_says_sent_with_its_time(
    client, agent, smtp, django_capture_on_commit_callbacks
):
    ticket = workspace_ticket()
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        reply_by_page(client, ticket)
    message = OutboxMessage.objects.get()
    assert message.state == MessageState.SENT
    html = ticket_page(client, ticket)
    assert "Envoyé" in html
    assert timezone.localtime(message.sent_at).strftime("%d/%m/%Y %H:%M") in html


def test_a_failed_reply_says_why_in_french_and_can_be_sent_again(
    client, agent, smtp, django_capture_on_commit_callbacks
):
    ticket = workspace_ticket()
    smtp.script = ["554 5.7.1 Rejected by policy"]
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        reply_by_page(client, ticket)
    contact = Contact.objects.get(ticket=ticket, direction="out")
    html = ticket_page(client, ticket)
    assert "Échec" in html and "Non distribué." in html
    assert "Le serveur de messagerie a refusé le message. (code 554)" in html
    assert "Rejected by policy" not in html
    assert reverse("replies:retry", args=[contact.pk]) in html and "Renvoyer" in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("replies:retry", args=[contact.pk]))
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.delivery_status == DeliveryStatus.SENT
    assert [m["Message-ID"] for m in smtp.attempts] == [f"<{contact.message_id}>"] * 2


def test_the_first_answer_clock_stops_on_send_and_runs_again_when_the_reply_fails(
    agent, smtp, django_capture_on_commit_callbacks
):
    ticket = workspace_ticket()
    smtp.script = ["451 4.3.0 busy"]
    with django_capture_on_commit_callbacks(execute=True):
        contact = replies.reply_send(
            ticket=ticket,
            by=agent,
            channel="email",
            subject="S",
            body="Réponse",
            expected_version=ticket.version,
        )
    ticket.refresh_from_db()
    # Deferred: the agent did answer; the clock stays stopped while the outbox retries.
    assert ticket.level_first_responded_at == contact.occurred_at
    message = contact.outbox
    smtp.script = ["550 5.1.1 User unknown"]
    message.refresh_from_db()
    from outbox.services import outbox_sweep

    with django_capture_on_commit_callbacks(execute=True):
        outbox_sweep(now=message.next_attempt_at)
    message.refresh_from_db()
    assert message.state == MessageState.FAILED
    ticket.refresh_from_db()
    assert ticket.level_first_responded_at is None and ticket.first_responded_at is None
    event = ticket.events.get(kind=TicketEventKind.SLA, to_value="answer_undelivered")
    assert event.data["contact"] == contact.pk
    # Past its first-answer deadline, the SLA sweep now sees the ticket unanswered: breached.
    from datetime import timedelta

    from routing.sla import sla_sweep

    Ticket.objects.filter(pk=ticket.pk).update(
        first_response_due_at=timezone.now() - timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        sla_sweep()
    ticket.refresh_from_db()
    assert ticket.sla_state == "breached"

    # Sent again by staff: the clock stops again.
    contact.refresh_from_db()
    ticket.viewer.emails.update(is_failing=False)
    with django_capture_on_commit_callbacks(execute=True):
        replies.reply_retry(contact=contact, by=agent)
    ticket.refresh_from_db()
    assert ticket.level_first_responded_at is not None


def test_a_bounce_marks_the_outbox_message_bounced_and_restarts_the_clock(
    client, agent, smtp, settings, django_capture_on_commit_callbacks
):
    settings.TRIAGE_TASK = ""
    ticket = workspace_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        contact = replies.reply_send(
            ticket=ticket,
            by=agent,
            channel="email",
            subject="S",
            body="Réponse",
            expected_version=ticket.version,
        )
    contact.refresh_from_db()
    assert contact.outbox.state == MessageState.SENT
    raw = DSN.read_bytes().replace(
        b"frt-crm.FTV-2026-000123.1742735100.42@relations.france2.fr",
        contact.message_id.encode(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        email_ingest(raw=raw)
    message = OutboxMessage.objects.get(pk=contact.outbox.pk)
    assert message.state == MessageState.BOUNCED and message.bounced_at is not None
    ticket.refresh_from_db()
    assert ticket.level_first_responded_at is None
    client.force_login(agent)
    html = ticket_page(client, ticket)
    assert "Rejeté" in html and "Le serveur du destinataire l&#x27;a renvoyé" in html


def test_web_form_thanks_says_the_acknowledgement_will_be_sent(
    client, smtp_down, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.TRIAGE_TASK = ""
    settings.TRIAGE_BATCH_TASK = ""
    form = {
        "request_type": "question",
        "message": "Bonjour, à quelle heure est rediffusé « Envoyé spécial » ? Merci.",
        "civility": "Mme",
        "first_name": "Jeanne",
        "last_name": "Martin",
        "email": "jeanne.martin@example.fr",
        "website": "",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/vous-et-nous/france2/", form, REMOTE_ADDR="192.0.2.99")
    assert response.status_code == 302
    ack = OutboxMessage.objects.get(kind=MessageKind.ACKNOWLEDGEMENT)
    assert ack.state == MessageState.DEFERRED and ack.contact.delivery_status == "pending"
    html = client.get(response["Location"]).content.decode()
    assert "va vous être envoyé" in html and "vous a été envoyé" not in html


def resolved_ticket():
    ticket = workspace_ticket()
    ticket.status = Status.RESOLVED
    ticket.outcome = Outcome.ANSWERED
    ticket.save()
    return ticket


def test_no_survey_without_the_viewers_consent(smtp, django_capture_on_commit_callbacks):
    ticket = resolved_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        assert survey_send_for(ticket=ticket) is None
    withdrawn = resolved_ticket()
    consent(withdrawn.viewer, granted=True)
    consent(withdrawn.viewer, granted=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert survey_send_for(ticket=withdrawn) is None
    assert not OutboxMessage.objects.filter(kind=MessageKind.SURVEY).exists()
    assert smtp.attempts == []


def test_a_consenting_viewers_survey_is_shown_as_sent_only_once_accepted(
    client, agent, smtp, django_capture_on_commit_callbacks
):
    ticket = resolved_ticket()
    consent(ticket.viewer, granted=True)
    smtp.script = ["421 4.7.0 Try again later"]
    with django_capture_on_commit_callbacks(execute=True):
        survey = survey_send_for(ticket=ticket)
    message = OutboxMessage.objects.get(kind=MessageKind.SURVEY)
    assert message.cause == survey and message.state == MessageState.DEFERRED
    client.force_login(agent)
    html = ticket_page(client, ticket)
    assert "Enquête de satisfaction" in html and "Différé" in html
    assert "envoyée le" not in html

    from outbox.services import outbox_sweep

    with django_capture_on_commit_callbacks(execute=True):
        outbox_sweep(now=message.next_attempt_at)
    html = ticket_page(client, ticket)
    assert "Envoyé" in html and "pas encore de réponse" in html
    assert "/satisfaction/" in smtp.accepted[0].get_body(("plain",)).get_content()


def test_sla_alert_goes_to_the_team_leads_through_the_outbox(
    agent, django_capture_on_commit_callbacks
):
    from accounts.models import TeamMembership
    from routing.sla import sla_notify_team_leads

    ticket = workspace_ticket()
    TeamMembership.objects.create(team=ticket.team, user=agent, is_lead=True)
    agent.email = "chef@example.fr"
    agent.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_notify_team_leads(ticket_id=ticket.pk, state="breached") == 1
    message = OutboxMessage.objects.get(kind=MessageKind.SLA_ALERT)
    assert message.recipients == ["chef@example.fr"] and message.state == MessageState.SENT
    with translation.override("fr"):
        assert ticket.reference in message.subject


def test_a_reply_that_failed_before_the_outbox_can_be_sent_again_through_it(
    agent, smtp, django_capture_on_commit_callbacks
):
    ticket = workspace_ticket()
    legacy = Contact.objects.create(
        ticket=ticket,
        viewer=ticket.viewer,
        channel="email",
        direction="out",
        subject=f"[{ticket.reference}] Réponse",
        body_text="Notre réponse",
        author=agent,
        delivery_status=DeliveryStatus.FAILED,
        delivery_error="SMTPServerDisconnected: Connection unexpectedly closed",
        message_id="legacy-1@crm.example.fr",
        meta={"to": "helene.lefevre@example.fr"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        replies.reply_retry(contact=legacy, by=agent)
    legacy.refresh_from_db()
    assert legacy.delivery_status == DeliveryStatus.SENT
    assert smtp.accepted[0]["Message-ID"] == "<legacy-1@crm.example.fr>"


def test_sending_a_failed_acknowledgement_again_does_not_stop_the_first_answer_clock(
    client, agent, smtp, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.TRIAGE_TASK = ""
    settings.TRIAGE_BATCH_TASK = ""
    smtp.script = ["554 5.7.1 rejected"]
    form = {
        "request_type": "question",
        "message": "Bonjour, à quelle heure est rediffusé le magazine ? Merci.",
        "civility": "M.",
        "first_name": "Paul",
        "last_name": "Durand",
        "email": "paul.durand@example.fr",
        "website": "",
    }
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/vous-et-nous/france2/", form, REMOTE_ADDR="192.0.2.98")
    ack = OutboxMessage.objects.get(kind=MessageKind.ACKNOWLEDGEMENT)
    assert ack.state == MessageState.FAILED
    ticket = ack.ticket
    ticket.level, ticket.status, ticket.team = 1, Status.TRIAGED, None
    ticket.save()
    with django_capture_on_commit_callbacks(execute=True):
        replies.reply_retry(contact=ack.contact, by=agent)
    ack.refresh_from_db()
    ticket.refresh_from_db()
    assert ack.state == MessageState.SENT
    assert ticket.first_responded_at is None and ticket.level_first_responded_at is None


def test_a_reply_task_queued_before_the_outbox_hands_the_reply_to_it(
    agent, smtp, django_capture_on_commit_callbacks
):
    from replies.tasks import send_email_reply

    ticket = workspace_ticket()
    pending = Contact.objects.create(
        ticket=ticket,
        viewer=ticket.viewer,
        channel="email",
        direction="out",
        subject=f"[{ticket.reference}] Réponse",
        body_text="Notre réponse",
        author=agent,
        delivery_status=DeliveryStatus.PENDING,
        message_id="old-pending-1@crm.example.fr",
        meta={"to": "helene.lefevre@example.fr"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        send_email_reply(pending.pk)
        send_email_reply(pending.pk)  # redelivered
    pending.refresh_from_db()
    assert pending.delivery_status == DeliveryStatus.SENT and len(smtp.accepted) == 1
