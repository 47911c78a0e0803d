"""The right of access: the viewer's file, complete, readable, downloaded by a signed link
that expires, every download audited; mediators decide on their confidential notes."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AuditEvent
from privacy.models import RequestState
from privacy.services.access import access_download_url, access_request, mediation_notes_release

from .seed import EMAIL, LAST, PHONE, seed_viewer

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(manager, mediator, django_capture_on_commit_callbacks):
    seeded = seed_viewer(staff=manager, mediator=mediator)
    with django_capture_on_commit_callbacks(execute=True):
        obj = access_request(viewer=seeded.viewer, by=manager, ticket=seeded.tickets[0])
    obj.refresh_from_db()
    return obj


def _zip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_archive_holds_every_place_and_the_original_files(client, ready):
    assert ready.state == RequestState.READY
    response = client.get(access_download_url(privacy_request=ready, which="zip"))
    assert response.status_code == 200
    archive = _zip(response)
    data = json.loads(archive.read("donnees.json"))
    assert data["viewer"]["last_name"] == LAST
    assert {e["email"] for e in data["emails"]} >= {EMAIL}
    assert data["phones"][0]["number"] == PHONE
    assert data["consents"][0]["granted"] is True
    assert len(data["tickets"]) == 3
    email_ticket = next(t for t in data["tickets"] if t["channel"] == "Email")
    directions = {c["direction"] for c in email_ticket["contacts"]}
    assert directions == {"Inbound", "Outbound"}  # the replies addressed to them too
    assert email_ticket["internal_notes"] and email_ticket["survey"]["score"] == 2
    assert data["calls"][0]["caller_number"] == PHONE
    assert data["quarantined_inputs"] and data["opinion_comments"]
    files = [n for n in archive.namelist() if n.startswith("files/")]
    assert any("attachments" in n for n in files)
    assert any("scan" in n for n in files)
    assert any(n.endswith(".eml") for n in files)
    # Mediators' confidential notes are withheld until a mediator decides.
    mediation = next(t for t in data["tickets"] if t["mediation"])["mediation"][0]
    assert "confidential_notes" not in mediation


def test_the_pdf_is_a_readable_file(client, ready):
    response = client.get(access_download_url(privacy_request=ready, which="pdf"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_every_download_is_audited_even_without_login(client, ready):
    client.get(access_download_url(privacy_request=ready, which="zip"))
    event = AuditEvent.objects.get(action="privacy.download")
    assert event.object_id == str(ready.viewer_id) and event.actor is None
    assert event.data == {"request": ready.pk, "file": "zip"}


def test_the_link_expires_after_seven_days(client, ready):
    url = access_download_url(privacy_request=ready, which="zip")
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert client.get(url).status_code == 404


def test_a_forged_or_revoked_link_is_refused(client, ready):
    url = access_download_url(privacy_request=ready, which="zip")
    assert client.get(url[:-3] + "abc/").status_code == 404
    ready.__class__.objects.filter(pk=ready.pk).update(token_nonce="other")
    assert client.get(url).status_code == 404


def test_a_mediator_releases_their_notes_and_the_file_is_rebuilt(
    client, ready, mediator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        mediation_notes_release(privacy_request=ready, by=mediator)
    ready.refresh_from_db()
    assert ready.state == RequestState.READY and ready.mediation_notes_released_by == mediator
    data = json.loads(
        _zip(client.get(access_download_url(privacy_request=ready))).read("donnees.json")
    )
    mediation = next(t for t in data["tickets"] if t["mediation"])["mediation"][0]
    assert mediation["confidential_notes"][0]["text"].startswith(LAST)
    assert AuditEvent.objects.filter(
        action="privacy.mediation_notes_release", actor=mediator
    ).exists()


def test_the_deadline_counts_from_the_gdpr_ticket(ready):
    received = timezone.localdate(ready.ticket.created_at)
    assert ready.received_on == received
    assert (ready.due_on.year * 12 + ready.due_on.month) - (
        received.year * 12 + received.month
    ) == 1
