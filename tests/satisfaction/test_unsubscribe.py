"""The survey email, as a real SMTP server (aiosmtpd on loopback) receives it, carries the
one-click unsubscribe of RFC 8058 (`List-Unsubscribe` + `List-Unsubscribe-Post`) and a link in
its body; the mail client's POST withdraws the consent without login, and no survey follows."""

import re

import pytest
from aiosmtpd.controller import Controller

from contacts.models import ConsentKind, Outcome
from outbox.models import MessageKind, MessageState, OutboxMessage
from satisfaction import services
from tests.outbox.conftest import ScriptedServer, _smtp_settings, free_port
from tests.workspace.helpers import consent, workspace_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp_server(settings):
    handler = ScriptedServer()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    _smtp_settings(settings, port)
    yield handler
    controller.stop()


def resolved_ticket(viewer=None):
    ticket = workspace_ticket(**({"viewer": viewer} if viewer else {}))
    if viewer is None:
        consent(ticket.viewer, kind="survey", granted=True)
    ticket.status = "resolved"
    ticket.outcome = Outcome.ANSWERED
    ticket.save()
    return ticket


def test_one_click_unsubscribe_from_a_received_survey_stops_the_next_one(
    client, smtp_server, django_capture_on_commit_callbacks
):
    ticket = resolved_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        survey = services.survey_send_for(ticket=ticket)
    row = OutboxMessage.objects.get(kind=MessageKind.SURVEY)
    assert row.state == MessageState.SENT
    [received] = smtp_server.accepted
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header_url = re.search(r"<(https?://[^>]+)>", received["List-Unsubscribe"]).group(1)
    text = received.get_body(preferencelist=("plain",)).get_content()
    assert header_url in text  # the same link, readable in the body
    assert header_url in received.get_body(preferencelist=("html",)).get_content()

    path = re.sub(r"^https?://[^/]+", "", header_url)
    # What a mail client sends (RFC 8058 §3.2): no cookie, no CSRF token, no login.
    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    viewer = survey.ticket.viewer
    latest = viewer.consents.filter(kind=ConsentKind.SURVEY).latest("recorded_at", "pk")
    assert not latest.granted and latest.source == "unsubscribe:survey"

    later = resolved_ticket(viewer=viewer)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.survey_send_for(ticket=later) is None
    assert len(smtp_server.accepted) == 1
    assert OutboxMessage.objects.filter(kind=MessageKind.SURVEY).count() == 1
