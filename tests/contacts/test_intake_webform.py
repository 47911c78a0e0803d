"""The public web form "Vous et Nous": validation tied to fields, consents, honeypot, rate
limit, and the acknowledgement received by a real SMTP server on loopback (aiosmtpd)."""

import email
import email.policy
import socket
import time

import pytest
from aiosmtpd.controller import Controller

from contacts.models import ConsentKind, Contact, DeliveryStatus, QuarantineItem, ViewerConsent
from contacts.services.email_intake import email_ingest
from tests.factories import brand

pytestmark = pytest.mark.django_db

URL = "/vous-et-nous/france2/"
FORM = {
    "request_type": "question",
    "message": "Bonjour, à quelle heure est rediffusé « Envoyé spécial » ? Merci.",
    "civility": "Mme",
    "first_name": "Jeanne",
    "last_name": "Martin",
    "email": "jeanne.martin@example.fr",
    "phone": "06 12 34 56 78",
    "postcode": "29150",
    "consent_newsletter": "on",
    "website": "",
}


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(intake_env):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    intake_env.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    intake_env.EMAIL_HOST = "127.0.0.1"
    intake_env.EMAIL_PORT = port
    intake_env.EMAIL_USE_TLS = intake_env.EMAIL_USE_SSL = False
    yield inbox
    controller.stop()


def test_form_page_is_public_labelled_and_lists_the_brand_programmes(client, intake_env):
    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'for="id_email"' in html and 'for="id_message"' in html
    programme = brand("france2").programmes.first()
    assert programme.name in html
    assert 'tabindex="-1"' in html  # the honeypot stays out of the keyboard path


def test_unknown_brand_or_closed_form_is_404(client, intake_env):
    assert client.get("/vous-et-nous/tf1/").status_code == 404
    brand("france5").__class__.objects.filter(code="france5").update(web_form_enabled=False)
    assert client.get("/vous-et-nous/france5/").status_code == 404


def test_errors_are_tied_to_their_fields(client, intake_env):
    response = client.post(URL, {**FORM, "email": "pas-une-adresse", "message": "court"})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-describedby="id_email_error"' in html and 'id="id_email_error"' in html
    assert 'aria-invalid="true"' in html
    assert 'href="#id_message"' in html  # the error summary links to the field
    assert Contact.objects.count() == 0


def test_valid_submission_creates_the_contact_consents_and_shows_the_reference(
    client, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, FORM, REMOTE_ADDR="192.0.2.10")

    assert response.status_code == 302
    contact = Contact.objects.get(channel="web")
    assert contact.ticket.brand.code == "france2" and contact.ticket.status == "new"
    consent = ViewerConsent.objects.get(viewer=contact.viewer)
    assert consent.kind == ConsentKind.NEWSLETTER and consent.granted
    assert consent.source == "web form france2" and consent.recorded_at
    thanks = client.get(response["Location"])
    assert contact.ticket.reference in thanks.content.decode()


def test_acknowledgement_reaches_a_real_smtp_server_with_the_reference(
    client, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, FORM, REMOTE_ADDR="192.0.2.11")

    for _ in range(50):
        if smtp_server.messages:
            break
        time.sleep(0.05)
    ticket = Contact.objects.get(channel="web").ticket
    [mail] = smtp_server.messages
    assert mail["To"] == "jeanne.martin@example.fr"
    assert ticket.reference in mail["Subject"]
    assert ticket.reference in mail.get_content()
    assert mail["Auto-Submitted"] == "auto-replied"
    ack = Contact.objects.get(direction="out")
    assert ack.delivery_status == DeliveryStatus.SENT
    assert mail["Message-ID"].strip("<>") == ack.message_id

    # The viewer answers the acknowledgement: the reply joins the same ticket.
    answer = (
        f"From: jeanne.martin@example.fr\r\nTo: relations.telespectateurs@france2.fr\r\n"
        f"Subject: Re: {mail['Subject']}\r\nMessage-ID: <answer-1@example.fr>\r\n"
        f"In-Reply-To: {mail['Message-ID']}\r\n\r\nPrécision : c'était mardi.\r\n"
    ).encode()
    outcome = email_ingest(raw=answer)
    assert outcome.status == "threaded" and outcome.ticket == ticket.reference


def test_smtp_down_keeps_the_acknowledgement_pending(
    client, intake_env, django_capture_on_commit_callbacks
):
    intake_env.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    intake_env.EMAIL_PORT = free_port()  # nobody listens there

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, FORM, REMOTE_ADDR="192.0.2.12")

    assert response.status_code == 302  # the viewer's message is in, whatever SMTP does
    ack = Contact.objects.get(direction="out")
    assert ack.delivery_status == DeliveryStatus.PENDING and ack.delivery_error


def test_honeypot_submission_is_set_aside_not_ticketed(client, intake_env):
    response = client.post(URL, {**FORM, "website": "http://spam.example"})

    assert response.status_code == 200
    assert Contact.objects.count() == 0
    item = QuarantineItem.objects.get()
    assert item.reason_code == "honeypot" and item.state == QuarantineItem.State.IGNORED


def test_per_ip_rate_limit_refuses_clearly_and_keeps_the_text(client, intake_env):
    intake_env.WEBFORM_RATE_LIMIT = 2
    codes = [
        client.post(
            URL, {**FORM, "email": f"v{i}@example.fr"}, REMOTE_ADDR="198.51.100.7"
        ).status_code
        for i in range(3)
    ]
    other_ip = client.post(URL, FORM, REMOTE_ADDR="198.51.100.8")

    assert codes == [302, 302, 429]
    assert other_ip.status_code == 302
    last = client.post(URL, FORM, REMOTE_ADDR="198.51.100.7")
    assert FORM["message"].split("«")[0].strip() in last.content.decode()


def test_oversized_post_is_refused(client, intake_env):
    intake_env.WEBFORM_MAX_BYTES = 2048
    response = client.post(URL, {**FORM, "message": "x" * 4000})
    assert response.status_code == 413
    assert Contact.objects.count() == 0
