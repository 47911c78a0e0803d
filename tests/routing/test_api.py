"""Workflow actions of the integrations API: input validated, services called, scope kept."""

import pytest
from rest_framework.test import APIClient

from contacts.models import Ticket
from tests.routing.helpers import join, queued_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_escalate_through_the_api(api, agent):
    ticket = queued_ticket("n1-call-centre")
    api.force_authenticate(agent)
    response = api.post(
        f"/api/v1/ticket-workflow/{ticket.pk}/escalate/",
        {"reason": "Besoin du SRT", "version": ticket.version},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["level"] == 2
    assert response.json()["team"] == "srt-france2"


def test_the_api_refuses_without_reason_out_of_scope_and_stale(api, agent, outsider, srt):
    ticket = queued_ticket("n1-call-centre")
    api.force_authenticate(agent)
    url = f"/api/v1/ticket-workflow/{ticket.pk}/escalate/"
    assert api.post(url, {}, format="json").status_code == 400
    stale = api.post(url, {"reason": "x", "version": ticket.version + 5}, format="json")
    assert stale.status_code == 409
    send_back = f"/api/v1/ticket-workflow/{ticket.pk}/send-back/"
    assert api.post(send_back, {"reason": "x"}, format="json").status_code == 403
    api.force_authenticate(outsider)
    assert api.post(url, {"reason": "x"}, format="json").status_code == 404
    assert Ticket.objects.get(pk=ticket.pk).level == 1


def test_reroute_by_team_code_and_take_next(api, srt):
    ticket = queued_ticket("srt-france2")
    api.force_authenticate(srt)
    response = api.post(
        f"/api/v1/ticket-workflow/{ticket.pk}/reroute/",
        {"reason": "Réponse type", "team": "n1-call-centre"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert (response.json()["level"], response.json()["team"]) == (1, "n1-call-centre")

    assert api.post("/api/v1/ticket-workflow/take-next/").status_code == 204
    join(srt, "n1-call-centre")
    taken = api.post("/api/v1/ticket-workflow/take-next/")
    assert taken.status_code == 200
    assert taken.json()["id"] == ticket.pk


def test_the_schema_describes_the_actions(api, agent):
    api.force_authenticate(agent)
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/ticket-workflow/{id}/escalate/" in schema
