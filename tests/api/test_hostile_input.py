"""Hostile input is a 400 with the one error body, never a 500 (issue 11, finding 5): what the
database cannot store (NUL, lone surrogates, out-of-range integers, dates and UTC offsets) and
free-form JSON nested or sized beyond reason. PostgreSQL refuses some of it where SQLite
accepts it, so these run on both."""

import json

import pytest

from contacts.models import CallRecord, Contact
from tests.api.conftest import staff_client

pytestmark = pytest.mark.django_db

CONTACT = {
    "external_id": "hostile-1",
    "brand": "france2",
    "body": "Bonjour.",
    "sender": {"email": "jeanne.martin@example.fr"},
}


def post_raw(client, path, text: str):
    return client.post(path, text.encode("utf-8", "surrogatepass"), content_type="application/json")


def assert_refused(response, status=400):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= {"detail", "code", "errors"}
    assert isinstance(body["errors"], dict)
    return body


@pytest.mark.parametrize(
    "meta",
    [
        '{"note\\u0000": "x"}',
        '{"note": "a\\u0000b"}',
        '{"note\\ud800": "x"}',
        '{"note": "half \\udc00 a pair"}',
        '{"note": ["deep", {"x": "\\u0000"}]}',
    ],
)
def test_nul_and_lone_surrogates_in_meta_are_refused(integration, meta):
    text = json.dumps(CONTACT)[:-1] + f', "meta": {meta}}}'

    body = assert_refused(post_raw(integration, "/api/v1/contacts/", text))

    assert any(path.startswith("meta") for path in body["errors"])
    assert Contact.objects.count() == 0


def test_nul_in_a_string_field_is_refused(integration):
    body = assert_refused(
        post_raw(integration, "/api/v1/contacts/", json.dumps({**CONTACT, "body": "a\u0000b"}))
    )
    assert "body" in body["errors"]


def test_meta_nested_50000_levels_deep_is_a_400(integration):
    deep = '{"a":' * 50_000 + "1" + "}" * 50_000
    text = json.dumps(CONTACT)[:-1] + f', "meta": {deep}}}'

    assert_refused(post_raw(integration, "/api/v1/contacts/", text))
    assert Contact.objects.count() == 0


def test_meta_deeper_than_its_limit_is_refused_by_field(integration):
    meta = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}
    body = assert_refused(integration.post("/api/v1/contacts/", {**CONTACT, "meta": meta}, "json"))
    assert "meta" in body["errors"]


def test_a_number_where_a_string_is_declared_is_refused(integration):
    body = assert_refused(
        integration.post("/api/v1/contacts/", {**CONTACT, "external_id": 42}, format="json")
    )
    assert "external_id" in body["errors"]


def test_queue_wait_beyond_a_day_is_refused(integration):
    payload = {"event": "hangup", "call_id": "h-1", "queue_wait_seconds": 3_000_000_000}
    body = assert_refused(integration.post("/api/v1/calls/", payload, format="json"))
    assert "queue_wait_seconds" in body["errors"]
    assert not CallRecord.objects.exists()


@pytest.mark.parametrize("at", ["9000-01-01T00:00:00+00:00", "0001-01-01T00:00:00+01:00"])
def test_a_hangup_dated_out_of_range_is_refused(integration, at):
    integration.post("/api/v1/calls/", {"event": "ring", "call_id": "h-2"}, format="json")

    response = integration.post(
        "/api/v1/calls/", {"event": "hangup", "call_id": "h-2", "at": at}, format="json"
    )

    assert "at" in assert_refused(response)["errors"]


@pytest.mark.parametrize(
    "query",
    [
        "created_after=2020-01-01T00:00:00%2B23:59",
        "created_before=0001-01-01T00:00:00%2B01:00",
        "created_after=9999-12-31T23:59:59-01:00",
        "viewer=99999999999999999999999",
        "viewer=1.5",
        "level=7",
        "reference=%00",
    ],
)
def test_ticket_filters_out_of_range_are_a_400_for_any_staff(agent, query):
    response = staff_client(agent).get(f"/api/v1/tickets/?{query}")

    assert_refused(response)


def test_refusals_share_one_body(integration, agent):
    anonymous = staff_client(agent)
    anonymous.credentials()
    answers = [
        (integration.post("/api/v1/contacts/", "{", content_type="application/json"), 400),
        (anonymous.get("/api/v1/tickets/"), 401),
        (staff_client(agent).get("/api/v1/tickets/999999/"), 404),
        (staff_client(agent).post("/api/v1/contacts/", CONTACT, format="json"), 401),
    ]
    for response, status in answers:
        assert_refused(response, status)


@pytest.mark.parametrize("position", ["garbage", "9999-99-99", "2020-01-01T00:00:00+23:59", "\x00"])
def test_a_forged_cursor_is_an_invalid_cursor_not_a_server_error(agent, position):
    from base64 import b64encode
    from urllib.parse import urlencode

    cursor = b64encode(urlencode({"p": position}).encode("ascii")).decode("ascii")

    response = staff_client(agent).get("/api/v1/tickets/", {"cursor": cursor})

    assert assert_refused(response, 404)["code"] == "not_found"


@pytest.mark.parametrize("size", ["abc", "0", "-1", "501", "1e3"])
def test_a_page_size_out_of_range_is_refused(agent, size):
    response = staff_client(agent).get("/api/v1/tickets/", {"page_size": size})

    assert "page_size" in assert_refused(response)["errors"]
