"""Who reaches each page of the data lifecycle (the route matrix of the report), and the
pages doing what their buttons say."""

from __future__ import annotations

import pytest
from django.urls import reverse

from privacy.models import PrivacyRequest, RequestState
from privacy.services.requests import erasure_request, privacy_request_open
from tests.factories import TicketFactory, ViewerFactory

pytestmark = pytest.mark.django_db

ROLES = ["agent", "mailroom", "srt", "srt3", "mediator", "manager", "admin"]


@pytest.fixture
def viewer():
    v = ViewerFactory()
    TicketFactory(viewer=v)  # France 2: the srt persona's brand, not srt3's
    return v


def status_for(client, user, url, method="get"):
    client.force_login(user)
    response = getattr(client, method)(url)
    client.logout()
    return response.status_code


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("viewer", {"srt": 200, "manager": 200, "admin": 200}),
        ("audit_csv", {"manager": 200, "admin": 200}),
    ],
)
def test_viewer_pages_by_role(client, personas, viewer, name, expected):
    url = reverse(f"privacy:{name}", args=[viewer.pk])
    assert client.get(url).status_code == 302  # anonymous: to the login page
    for role in ROLES:
        assert status_for(client, personas[role], url) == expected.get(role, 403), role


@pytest.mark.parametrize("name", ["requests", "retention", "register"])
def test_managers_pages_by_role(client, personas, name):
    url = reverse(f"privacy:{name}")
    assert client.get(url).status_code == 302
    for role in ROLES:
        expected = 200 if role in {"manager", "admin"} else 403
        assert status_for(client, personas[role], url) == expected, role


def test_request_page_by_role(client, personas, viewer):
    erasure = erasure_request(viewer=viewer, by=personas["manager"])
    access = privacy_request_open(kind="access", viewer=viewer, by=personas["manager"])
    expected = {"srt": 200, "manager": 200, "admin": 200}
    for obj, extra in ((erasure, {}), (access, {"mediator": 200})):
        url = reverse("privacy:request", args=[obj.pk])
        assert client.get(url).status_code == 302
        for role in ROLES:
            want = {**expected, **extra}.get(role, 404)
            assert status_for(client, personas[role], url) == want, (obj.kind, role)


def test_posts_by_role(client, personas, viewer):
    for role in ["agent", "mailroom", "srt3", "mediator"]:
        for name in ["access", "erasure", "objection", "hold_place"]:
            url = reverse(f"privacy:{name}", args=[viewer.pk])
            assert status_for(client, personas[role], url, "post") == 403, (role, name)
    for name in ["dry_run"]:
        for role in ROLES:
            want = 302 if role in {"manager", "admin"} else 403
            assert status_for(client, personas[role], reverse(f"privacy:{name}"), "post") == want


def test_an_erasure_asked_on_the_page_is_confirmed_by_someone_else(client, personas, viewer):
    client.force_login(personas["srt"])
    response = client.post(reverse("privacy:erasure", args=[viewer.pk]))
    obj = PrivacyRequest.objects.get(kind="erasure")
    assert response.url == reverse("privacy:request", args=[obj.pk])
    confirm = reverse("privacy:confirm", args=[obj.pk])
    assert client.post(confirm).status_code == 403  # SRT may not confirm
    client.force_login(personas["manager"])
    page = client.get(reverse("privacy:request", args=[obj.pk]))
    assert b'id="erasure-confirm"' in page.content
    client.post(confirm)
    obj.refresh_from_db()
    assert obj.state == RequestState.DONE and obj.confirmed_by == personas["manager"]
    viewer.refresh_from_db()
    assert viewer.is_anonymised


def test_the_viewer_card_links_to_the_data_page_for_those_who_handle_it(client, personas, viewer):
    card = reverse("contacts:viewer", args=[viewer.pk])
    client.force_login(personas["manager"])
    assert b'id="privacy-link"' in client.get(card).content
    client.force_login(personas["agent"])
    assert b'id="privacy-link"' not in client.get(card).content


def test_the_audit_csv_lists_who_touched_the_file(client, personas, viewer):
    privacy_request_open(kind="access", viewer=viewer, by=personas["srt"])
    client.force_login(personas["manager"])
    body = client.get(reverse("privacy:audit_csv", args=[viewer.pk])).content.decode("utf-8-sig")
    assert "privacy.request" in body and "srt" in body


def test_the_dry_run_page_reports_without_changing(client, personas):
    client.force_login(personas["manager"])
    response = client.post(reverse("privacy:dry_run"), follow=True)
    assert response.status_code == 200
    assert b'id="run-report"' in response.content


def test_the_register_names_the_retention_in_force(client, personas):
    from privacy.models import RetentionRule

    RetentionRule.objects.filter(kind="call_numbers").update(days=90)
    client.force_login(personas["manager"])
    body = client.get(reverse("privacy:register")).content.decode()
    assert "<td>90</td>" in body and "<td>1095</td>" in body


def test_gdpr_tickets_wait_on_the_requests_page(client, personas, viewer):
    ticket = TicketFactory(viewer=viewer, tags=["rgpd"], subject="Suppression de mes données")
    client.force_login(personas["manager"])
    body = client.get(reverse("privacy:requests")).content.decode()
    assert ticket.reference in body
    assert f"?ticket={ticket.pk}" in body
