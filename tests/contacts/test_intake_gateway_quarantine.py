"""The mail gateway's webhook (per-gateway secret, clear refusals) and the quarantine page
where managers see, retry and discard what the intake held."""

import pytest

from accounts.models import AuditEvent
from contacts.models import Contact, QuarantineItem
from contacts.services.email_intake import email_ingest
from contacts.services.integrations import integration_client_create
from tests.contacts.conftest import eml
from tests.factories import brand

pytestmark = pytest.mark.django_db

URL = "/intake/mail-gateway/mx-france2/"


@pytest.fixture
def gateway(intake_env):
    client, secret = integration_client_create(
        code="mx-france2", name="MX France 2", brand=brand("france2"), may_post_mail=True
    )
    return client, secret


def send(client, raw, secret, content_type="message/rfc822", url=URL):
    return client.generic(
        "POST", url, raw, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {secret}"
    )


def test_gateway_posts_raw_mime_into_the_intake(client, gateway):
    response = send(client, eml("plain_utf8.eml"), gateway[1])

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "created" and body["ticket"].startswith("FTV-")
    assert Contact.objects.get().ticket.brand.code == "france2"
    again = send(client, eml("plain_utf8.eml"), gateway[1])
    assert again.status_code == 200 and again.json()["status"] == "duplicate"


def test_gateway_refusals_are_clear(client, gateway, intake_env):
    secret = gateway[1]
    assert send(client, eml("plain_utf8.eml"), "forged").status_code == 401
    assert (
        send(client, eml("plain_utf8.eml"), secret, url="/intake/mail-gateway/nope/").status_code
        == 401
    )
    assert send(client, b"{}", secret, content_type="application/json").status_code == 415
    assert send(client, b"  ", secret).status_code == 400
    intake_env.INTAKE_MAX_EMAIL_BYTES = 1024
    too_big = send(client, eml("attachments_pdf_jpeg.eml"), secret)
    assert too_big.status_code == 413 and "too large" in too_big.json()["detail"]
    assert Contact.objects.count() == 0


def test_gateway_keeps_an_unparseable_message_in_quarantine(client, gateway):
    response = send(client, eml("garbage.eml"), gateway[1])

    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert QuarantineItem.objects.get().source == "gateway"


# --- the quarantine page -----------------------------------------------------------------------


def test_managers_see_the_quarantine_and_agents_do_not(client, manager, agent, intake_env):
    email_ingest(raw=eml("garbage.eml"))
    item = QuarantineItem.objects.get()

    client.force_login(agent)
    assert client.get("/quarantine/").status_code == 403
    assert client.get(f"/quarantine/{item.pk}/").status_code == 404

    client.force_login(manager)
    page = client.get("/quarantine/")
    assert page.status_code == 200 and "parse_error" in page.content.decode()
    detail = client.get(f"/quarantine/{item.pk}/")
    assert detail.status_code == 200 and "NUL bytes" in detail.content.decode()
    raw = client.get(f"/quarantine/{item.pk}/raw/")
    assert b"".join(raw.streaming_content) == eml("garbage.eml")
    assert AuditEvent.objects.filter(action="quarantine.download").exists()


def test_retry_releases_a_flood_held_message(client, manager, intake_env):
    intake_env.INTAKE_FLOOD_PER_HOUR = 1
    email_ingest(raw=eml("plain_utf8.eml"))
    raw = eml("plain_utf8.eml").replace(b"5f1c2a9e", b"6f1c2a9e")  # a second message
    assert email_ingest(raw=raw).status == "rejected"
    item = QuarantineItem.objects.get(reason_code="flood")

    client.force_login(manager)
    response = client.post(f"/quarantine/{item.pk}/action/", {"action": "retry"})

    assert response.status_code == 302
    item.refresh_from_db()
    assert item.state == QuarantineItem.State.RELEASED and item.contact is not None
    assert item.resolved_by == manager
    assert Contact.objects.count() == 2


def test_retry_of_an_unparseable_message_keeps_it_held(client, manager, intake_env):
    email_ingest(raw=eml("garbage.eml"))
    item = QuarantineItem.objects.get()
    client.force_login(manager)

    client.post(f"/quarantine/{item.pk}/action/", {"action": "retry"})

    item.refresh_from_db()
    assert item.state == QuarantineItem.State.HELD and item.attempts >= 2


def test_discard_keeps_the_bytes_and_the_audit_trail(client, manager, intake_env):
    email_ingest(raw=eml("garbage.eml"))
    item = QuarantineItem.objects.get()
    client.force_login(manager)

    client.post(f"/quarantine/{item.pk}/action/", {"action": "discard", "note": "spam"})

    item.refresh_from_db()
    assert item.state == QuarantineItem.State.DISCARDED
    assert item.raw_file.read() == eml("garbage.eml")
    assert AuditEvent.objects.get(action="quarantine.discard").data == {"note": "spam"}


def test_web_form_caught_by_the_honeypot_can_be_released(client, manager, intake_env):
    client.post(
        "/vous-et-nous/france2/",
        {
            "request_type": "question",
            "message": "Un vrai message d'une vraie personne.",
            "first_name": "Jeanne",
            "last_name": "Martin",
            "email": "j.m@example.fr",
            "website": "autofill",
        },
    )
    item = QuarantineItem.objects.get(reason_code="honeypot")
    client.force_login(manager)

    client.post(f"/quarantine/{item.pk}/action/", {"action": "retry"})

    item.refresh_from_db()
    assert item.state == QuarantineItem.State.RELEASED
    assert Contact.objects.filter(channel="web").count() == 1


def test_admin_creates_an_integration_client_and_shows_its_token_once(client, manager):
    from contacts.models import IntegrationClient
    from contacts.services.integrations import integration_client_authenticate

    client.force_login(manager)
    response = client.post(
        "/admin/contacts/integrationclient/add/",
        {"code": "partner-x", "name": "Partner X", "may_post_contacts": "on", "is_active": "on"},
        follow=True,
    )

    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    token = shown[0].rsplit(" ", 1)[-1]
    saved = IntegrationClient.objects.get(code="partner-x")
    assert token not in saved.token_hash and len(saved.token_hash) == 64
    assert integration_client_authenticate(token=token) == saved
