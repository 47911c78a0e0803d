"""End to end, in headless Chromium: a GDPR request from the email that brings it to the
viewer's anonymisation.

The email arrives (ingest_email) and triage tags it `rgpd`; a manager finds it on the GDPR
requests page, opens the viewer's data page from it, has the viewer's file prepared and
downloads it by its signed link; then asks for the erasure, which a second person (an
administrator) confirms. Screenshots land in var/screenshots/privacy-*.png.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import call_command

from contacts.models import Ticket, Viewer
from privacy.models import PrivacyRequest
from tests.e2e.conftest import new_page, shot  # noqa: F401 (the fixture, shared login helper)
from tests.markers import requires_chromium


@pytest.fixture
def browser_page(new_page):  # noqa: F811 (the e2e helper that logs in, shared)
    return new_page


pytestmark = [
    pytest.mark.e2e,
    requires_chromium,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MESSAGE = (
    "From: Odile Fromentin <odile.fromentin@exemple-prive.fr>\r\n"
    "To: relations@france2.fr\r\n"
    "Subject: Mes données personnelles\r\n"
    "Message-ID: <rgpd-e2e-1@exemple-prive.fr>\r\n"
    "Date: Thu, 26 Nov 2026 10:00:00 +0100\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n\r\n"
    "Bonjour, je voudrais savoir quelles données sur moi vous avez gardées, puis que tout "
    "soit supprimé. Odile Fromentin, 3 rue des Lilas, 35000 Rennes.\r\n"
)


def test_a_gdpr_request_from_email_to_access_file_and_two_person_erasure(
    browser_page,
    live_server,
    manager,
    admin_user,
    tmp_path,
    settings,  # noqa: F811
):
    settings.SITE_URL = live_server.url
    settings.TRIAGE_TASK = "routing.tasks.triage_ticket"  # triage tags the request `rgpd`
    settings.TRIAGE_BATCH_TASK = "routing.tasks.triage_tickets"
    raw = tmp_path / "rgpd.eml"
    raw.write_bytes(MESSAGE.encode())
    call_command("ingest_email", str(raw), "--json")
    ticket = Ticket.objects.get(contacts__message_id="rgpd-e2e-1@exemple-prive.fr")
    assert "rgpd" in ticket.tags, ticket.triage_explanation

    page = browser_page(manager)
    page.goto(f"{live_server.url}/privacy/")
    shot(page, "privacy-01-requests")
    page.click(f"a[href$='?ticket={ticket.pk}']")
    page.wait_for_selector("#access-request")
    shot(page, "privacy-02-viewer")
    page.click("#access-request")
    page.wait_for_load_state()
    if not page.locator("#download-zip").count():  # the file is built after the commit
        page.reload()
    page.wait_for_selector("#download-zip")
    shot(page, "privacy-03-file-ready")
    access = PrivacyRequest.objects.get(kind="access")
    assert access.ticket_id == ticket.pk
    link = page.inner_text("#zip-link")
    # The link is what the viewer gets: it works without the staff session.
    response = page.context.browser.new_context().request.get(link)
    assert response.status == 200
    data = json.loads(zipfile.ZipFile(io.BytesIO(response.body())).read("donnees.json"))
    assert data["viewer"]["last_name"] == "Fromentin"

    page.goto(f"{live_server.url}/privacy/viewers/{ticket.viewer_id}/?ticket={ticket.pk}")
    page.click("#erasure-request")
    page.wait_for_load_state()
    erasure = PrivacyRequest.objects.get(kind="erasure")
    assert not page.locator("#erasure-confirm").count()  # not by the one who asked
    shot(page, "privacy-04-erasure-requested")

    second = browser_page(admin_user)
    second.goto(f"{live_server.url}/privacy/requests/{erasure.pk}/")
    second.click("#erasure-confirm")
    second.wait_for_load_state()
    shot(second, "privacy-05-erasure-confirmed")
    erasure.refresh_from_db()
    assert erasure.state == "done" and erasure.confirmed_by == admin_user
    viewer = Viewer.objects.get(pk=ticket.viewer_id)
    assert viewer.is_anonymised and viewer.last_name == ""
    assert not viewer.emails.exists()
