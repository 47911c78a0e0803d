"""POST /api/v1/contacts/ and /api/v1/calls/: token authentication, validation with clear
error bodies, idempotency, the screen pop and the call's waiting and handling times."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from contacts.models import (
    CallEvent,
    CallRecord,
    Contact,
    PhoneLine,
    Ticket,
    ViewerEmail,
    ViewerPhone,
)
from contacts.services.integrations import integration_client_create
from tests.contacts.conftest import TRIAGE_CALLS
from tests.factories import TicketFactory, ViewerFactory, brand

pytestmark = pytest.mark.django_db

PAYLOAD = {
    "external_id": "partner-000017",
    "channel": "web",
    "brand": "france2",
    "subject": "Horaires du journal",
    "body": "Bonjour, à quelle heure est rediffusé le journal de 13 h ?",
    "sender": {
        "email": "Jeanne.Martin@example.fr",
        "first_name": "Jeanne",
        "last_name": "Martin",
        "postcode": "29150",
        "phone": "06 12 34 56 78",
    },
    "consents": [{"kind": "newsletter", "granted": True}],
}


@pytest.fixture
def api(intake_env, api_client_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_client_token[1]}")
    return client


def post(api, path, payload, **kw):
    return api.post(path, json.dumps(payload), content_type="application/json", **kw)


def test_contact_is_created_on_a_new_ticket(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, "/api/v1/contacts/", PAYLOAD)

    assert response.status_code == 201, response.content
    body = response.json()
    contact = Contact.objects.get(pk=body["contact"])
    assert body["status"] == "created" and body["ticket"] == contact.ticket.reference
    assert contact.external_source == "partner" and contact.channel == "web"
    assert contact.viewer.phones.get().number == "+33612345678"
    assert contact.viewer.consents.get().source == "api:partner"
    assert json.loads(contact.raw_file.read())["external_id"] == "partner-000017"
    assert [contact.ticket_id] == TRIAGE_CALLS


def test_same_external_id_again_answers_200_with_the_same_contact(api):
    first = post(api, "/api/v1/contacts/", PAYLOAD).json()

    again = post(api, "/api/v1/contacts/", PAYLOAD)

    assert again.status_code == 200
    assert again.json()["contact"] == first["contact"]
    assert again.json()["status"] == "duplicate"
    assert Contact.objects.count() == 1 and Ticket.objects.count() == 1


def test_another_payload_under_a_used_external_id_is_a_conflict(api):
    post(api, "/api/v1/contacts/", PAYLOAD)

    response = post(api, "/api/v1/contacts/", {**PAYLOAD, "body": "Tout autre chose, ici."})

    assert response.status_code == 409
    assert "external_id" in response.json()["detail"]


def test_idempotency_is_per_client(api, intake_env):
    _, other_token = integration_client_create(code="other", name="O", may_post_contacts=True)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {other_token}")
    post(api, "/api/v1/contacts/", PAYLOAD)

    assert post(other, "/api/v1/contacts/", PAYLOAD).status_code == 201
    assert Contact.objects.count() == 2


def test_ticket_reference_threads_onto_that_ticket(api):
    viewer = ViewerFactory(email="jeanne.martin@example.fr")
    ViewerEmail.objects.get_or_create(viewer=viewer, email="jeanne.martin@example.fr")
    ticket = TicketFactory(viewer=viewer)

    response = post(api, "/api/v1/contacts/", {**PAYLOAD, "ticket_reference": ticket.reference})

    assert response.json()["status"] == "threaded" and response.json()["ticket"] == ticket.reference


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"brand": "tf1"}, "brand"),
        ({"body": ""}, "body"),
        ({"sender": {"first_name": "Anonyme"}}, "sender"),
        ({"sender": {"email": "pas-une-adresse"}}, "sender"),
        ({"channel": "fax"}, "channel"),
        ({"programme": "inconnu"}, "programme"),
        ({"ticket_reference": "FTV-1999-000001"}, "ticket_reference"),
    ],
)
def test_invalid_payloads_get_400_naming_the_field(api, change, field):
    response = post(api, "/api/v1/contacts/", {**PAYLOAD, **change})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] and body["detail"]
    assert any(path.split(".")[0] == field for path in body["errors"])
    assert Contact.objects.count() == 0


def test_malformed_json_unsupported_type_and_oversize_are_refused(api, intake_env):
    bad = api.post("/api/v1/contacts/", "{not json", content_type="application/json")
    form = api.post("/api/v1/contacts/", {"a": "b"}, format="multipart")
    intake_env.INTAKE_API_MAX_BYTES = 1024
    big = post(api, "/api/v1/contacts/", {**PAYLOAD, "body": "x" * 5000})

    assert bad.status_code == 400 and "JSON" in bad.json()["detail"]
    assert form.status_code == 415
    # Whatever the language of the catalogue, the message names the limit.
    assert big.status_code == 413 and "1024" in big.json()["detail"]


def test_forged_or_missing_token_gets_401_and_wrong_scope_403(intake_env):
    anonymous = APIClient()
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")
    _, token = integration_client_create(code="calls-only", name="C", may_post_calls=True)
    calls_only = APIClient()
    calls_only.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert post(anonymous, "/api/v1/contacts/", PAYLOAD).status_code == 401
    assert post(forged, "/api/v1/contacts/", PAYLOAD).status_code == 401
    assert post(calls_only, "/api/v1/contacts/", PAYLOAD).status_code == 403


def test_a_flood_from_one_client_is_throttled(api, intake_env):
    intake_env.INTAKE_API_RATE = "2/minute"

    # Ten seconds into a minute: the three requests fall in one window of the counter.
    with time_machine.travel(datetime(2026, 3, 2, 9, 15, 10, tzinfo=UTC)) as clock:
        codes = [
            post(api, "/api/v1/contacts/", {**PAYLOAD, "external_id": f"f{i}"}) for i in range(3)
        ]
        clock.shift(60)
        later = post(api, "/api/v1/contacts/", {**PAYLOAD, "external_id": "f3"})

    assert [r.status_code for r in codes] == [201, 201, 429]
    assert 0 < int(codes[2]["Retry-After"]) <= 50  # the rest of the minute
    assert later.status_code == 201  # a new window


def test_schema_documents_the_intake_endpoints(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    assert "post" in schema["paths"]["/api/v1/contacts/"]
    assert "post" in schema["paths"]["/api/v1/calls/"]
    assert "integrationToken" in schema["components"]["securitySchemes"]
    assert "ContactIntake" in schema["components"]["schemas"]


# --- telephony events --------------------------------------------------------------------------


def test_ring_returns_matching_viewers_for_the_screen_pop(api):
    PhoneLine.objects.create(number="+33140000002", brand=brand("france2"))
    viewer = ViewerFactory()
    ViewerPhone.objects.create(viewer=viewer, number="+33612345678")
    ticket = TicketFactory(viewer=viewer)

    response = post(
        api,
        "/api/v1/calls/",
        {"event": "ring", "call_id": "c-1", "caller": "06 12 34 56 78", "line": "01 40 00 00 02"},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["brand"] == "france2"
    assert body["viewers"][0]["id"] == viewer.pk
    assert body["viewers"][0]["open_tickets"] == [ticket.reference]
    assert body["call_log_url"].endswith("/calls/?call=c-1")


def test_call_events_give_waiting_and_handling_times_and_are_idempotent(api):
    start = timezone.now() - timedelta(minutes=10)
    events = [
        {"event": "ring", "call_id": "c-2", "caller": "0612345678", "at": start.isoformat()},
        {
            "event": "answer",
            "call_id": "c-2",
            "agent": "agent",
            "at": (start + timedelta(seconds=45)).isoformat(),
        },
        {"event": "hangup", "call_id": "c-2", "at": (start + timedelta(seconds=345)).isoformat()},
    ]
    codes = [post(api, "/api/v1/calls/", e).status_code for e in events]
    repeat = post(api, "/api/v1/calls/", events[1])

    assert codes == [201, 201, 201]
    assert repeat.status_code == 200 and repeat.json()["duplicate"] is True
    call = CallRecord.objects.get(call_id="c-2")
    assert (call.wait_seconds, call.handling_seconds, call.abandoned) == (45, 300, False)
    assert CallEvent.objects.filter(call=call).count() == 3


def test_hangup_before_answer_is_an_abandoned_call(api):
    post(api, "/api/v1/calls/", {"event": "ring", "call_id": "c-3", "caller": "0612345678"})
    post(api, "/api/v1/calls/", {"event": "hangup", "call_id": "c-3", "queue_wait_seconds": 80})

    call = CallRecord.objects.get(call_id="c-3")
    assert call.abandoned and call.wait_seconds == 80 and call.handling_seconds is None


def test_unknown_call_event_is_refused(api):
    response = post(api, "/api/v1/calls/", {"event": "transfer", "call_id": "c-4"})
    assert response.status_code == 400 and "event" in response.json()["errors"]


CACHE_BACKENDS = [("locmem.LocMemCache", "throttle"), ("db.DatabaseCache", "frt_cache")]
if django_settings.REDIS_URL:
    CACHE_BACKENDS.append(("redis.RedisCache", django_settings.REDIS_URL))


@pytest.mark.parametrize(("backend", "location"), CACHE_BACKENDS)
def test_the_throttle_counts_per_window_on_every_cache_backend(settings, backend, location):
    from django.core.cache import cache

    from contacts.api.auth import IntegrationThrottle
    from contacts.models import IntegrationClient

    settings.CACHES = {
        "default": {"BACKEND": f"django.core.cache.backends.{backend}", "LOCATION": location}
    }
    call_command("createcachetable")  # absent when the test database was made with Redis
    keys = [f"throttle_integration_partner:{int(t // 60)}" for t in (1772442910, 1772442970)]
    cache.delete_many(keys)  # a shared Redis may hold an earlier run's
    settings.INTAKE_API_RATE = "2/minute"
    request = type("Request", (), {"auth": IntegrationClient(code="partner")})()

    def allowed():
        return IntegrationThrottle().allow_request(request, None)

    with time_machine.travel(datetime(2026, 3, 2, 9, 15, 10, tzinfo=UTC)) as clock:
        first = [allowed() for _ in range(3)]
        clock.shift(60)
        second = [allowed() for _ in range(3)]

    cache.delete_many(keys)
    assert first == second == [True, True, False]


# --- what a client may write (issue 11, finding 2) ---------------------------------------------


def _stored():
    from contacts.models import Viewer

    return Contact.objects.count(), Viewer.objects.count(), Ticket.objects.count()


def test_a_stranger_quoting_a_ticket_reference_is_refused_and_nothing_is_stored(api):
    ticket = TicketFactory(status="resolved")
    before = _stored()

    response = post(api, "/api/v1/contacts/", {**PAYLOAD, "ticket_reference": ticket.reference})

    assert response.status_code == 403, response.content
    body = response.json()
    assert body["code"] == "sender_not_ticket_viewer" and "ticket_reference" in body["errors"]
    assert _stored() == before
    ticket.refresh_from_db()
    assert ticket.status == "resolved"  # not reopened


def test_a_client_writes_only_into_its_own_brands(intake_env):
    _, token = integration_client_create(
        code="f3-site", name="F3", brand=brand("france3"), may_post_contacts=True
    )
    f3 = APIClient()
    f3.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    viewer = ViewerFactory(email="jeanne.martin@example.fr")
    ViewerEmail.objects.get_or_create(viewer=viewer, email="jeanne.martin@example.fr")
    france2_ticket = TicketFactory(viewer=viewer, brand=brand("france2"))
    before = _stored()

    other_brand = post(f3, "/api/v1/contacts/", PAYLOAD)  # brand france2
    other_ticket = post(
        f3,
        "/api/v1/contacts/",
        {**PAYLOAD, "brand": "france3", "ticket_reference": france2_ticket.reference},
    )

    assert other_brand.status_code == 403 and other_brand.json()["code"] == "brand_not_allowed"
    assert other_ticket.status_code == 403
    assert other_ticket.json()["code"] == "ticket_not_allowed"
    assert _stored() == before
    own = post(f3, "/api/v1/contacts/", {**PAYLOAD, "brand": "france3"})
    assert own.status_code == 201
