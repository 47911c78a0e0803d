"""Objection and unsubscribe: one action stops surveys and invitations; a signed link works
without login, GET asks, POST (RFC 8058 one-click) withdraws."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from contacts.models import ConsentKind, ViewerConsent
from privacy.services.consent import objection_record, unsubscribe_headers
from satisfaction.services import survey_email_for
from tests.factories import TicketFactory, ViewerFactory

pytestmark = pytest.mark.django_db


def in_force(viewer, kind):
    return (
        ViewerConsent.objects.filter(viewer=viewer, kind=kind)
        .order_by("-recorded_at", "-id")
        .values_list("granted", flat=True)
        .first()
    )


def test_headers_name_an_https_link_and_one_click(settings):
    settings.SITE_URL = "https://relations.example.fr"
    settings.PRIVACY_UNSUBSCRIBE_MAILTO = "desabonnement@example.fr"
    viewer = ViewerFactory()
    headers = unsubscribe_headers(viewer=viewer, purpose="survey")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    links = [p.strip().strip("<>") for p in headers["List-Unsubscribe"].split(",")]
    assert links[0].startswith("https://relations.example.fr/donnees/desabonnement/")
    assert links[1].startswith("mailto:desabonnement@example.fr?subject=unsubscribe")


def test_the_one_click_post_withdraws_without_login_or_csrf(settings):
    viewer = ViewerFactory()
    ticket = TicketFactory(viewer=viewer)
    # Surveys go only to viewers who said yes (the web form's box).
    ViewerConsent.objects.create(viewer=viewer, kind=ConsentKind.SURVEY, granted=True, source="web")
    assert survey_email_for(ticket=ticket)
    url = urlparse(
        unsubscribe_headers(viewer=viewer, purpose="survey")["List-Unsubscribe"].strip("<>")
    ).path
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    page = client.get(url)
    assert page.status_code == 200
    assert in_force(viewer, ConsentKind.SURVEY) is True  # GET changes nothing
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert in_force(viewer, ConsentKind.SURVEY) is False
    assert in_force(viewer, ConsentKind.MARKETING) is None  # only what the email was about
    assert survey_email_for(ticket=ticket) == ""
    consent = ViewerConsent.objects.filter(viewer=viewer).latest("recorded_at", "pk")
    assert consent.source == "unsubscribe:survey" and consent.recorded_by is None


def test_a_forged_link_is_refused(client):
    assert client.post("/donnees/desabonnement/forged/").status_code == 404


def test_one_objection_stops_surveys_invitations_and_newsletters(srt):
    viewer = ViewerFactory()
    TicketFactory(viewer=viewer)
    ViewerConsent.objects.create(
        viewer=viewer, kind=ConsentKind.MARKETING, granted=True, source="web"
    )
    obj = objection_record(viewer=viewer, by=srt, source="lettre du 12/03")
    assert obj.state == "done"
    for kind in ConsentKind.values:
        assert in_force(viewer, kind) is False
    # The history stays: the earlier consent is still there.
    assert ViewerConsent.objects.filter(viewer=viewer, granted=True).exists()
    assert set(
        ViewerConsent.objects.filter(viewer=viewer, granted=False).values_list("source", flat=True)
    ) == {"lettre du 12/03"}
