"""Escalation 1 → 2 → 3 and back down: reasons, permissions, history, the mediation case."""

import logging
import sys

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from contacts.models import SlaState, Status, Ticket, TicketEvent, TicketEventKind
from contacts.services import StaleTicket
from routing.services import ReasonRequired, ticket_escalate, ticket_send_back
from tests.factories import brand
from tests.routing.helpers import queued_ticket

pytestmark = pytest.mark.django_db


def test_an_agent_escalates_a_level_1_ticket_to_its_brands_srt(agent):
    ticket = queued_ticket(
        "n1-call-centre", status=Status.IN_PROGRESS, assignee=agent, sla_state=SlaState.AT_RISK
    )
    moved = ticket_escalate(ticket=ticket, by=agent, reason="Needs the news desk's answer")
    assert moved.level == 2
    assert moved.team.code == "srt-france2"
    assert moved.status == Status.TRIAGED
    assert moved.assignee is None
    assert moved.sla_state == SlaState.OK
    assert moved.resolution_due_at > moved.first_response_due_at
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEventKind.ESCALATED)
    assert (event.from_value, event.to_value, event.actor) == ("1", "2", agent)
    assert event.reason == "Needs the news desk's answer"
    assert event.data["from"]["team"] == "n1-call-centre"


def test_a_regional_stations_ticket_goes_to_the_national_brands_srt(agent):
    ticket = queued_ticket("n1-call-centre", brand=brand("france3-bretagne"))
    assert ticket_escalate(ticket=ticket, by=agent, reason="x").team.code == "srt-france3"


def test_a_reason_is_required(agent):
    ticket = queued_ticket("n1-call-centre")
    with pytest.raises(ReasonRequired):
        ticket_escalate(ticket=ticket, by=agent, reason="   ")
    assert Ticket.objects.get(pk=ticket.pk).level == 1
    assert not TicketEvent.objects.filter(ticket=ticket).exists()


def test_an_agent_cannot_escalate_a_level_2_ticket(agent):
    ticket = queued_ticket("srt-france2")
    with pytest.raises(PermissionDenied):
        ticket_escalate(ticket=ticket, by=agent, reason="I would like to")
    assert Ticket.objects.get(pk=ticket.pk).level == 2


def test_staff_of_another_brand_cannot_escalate(srt3):
    ticket = queued_ticket("srt-france2")
    with pytest.raises(PermissionDenied):
        ticket_escalate(ticket=ticket, by=srt3, reason="x")


def test_an_agent_cannot_send_back(agent):
    ticket = queued_ticket("n1-call-centre")
    with pytest.raises(PermissionDenied):
        ticket_send_back(ticket=ticket, by=agent, reason="x")


def test_level_3_opens_a_mediation_case_once(srt):
    from mediation.models import Case

    ticket = queued_ticket("srt-france2", topic="editorial_news")
    moved = ticket_escalate(ticket=ticket, by=srt, reason="Le téléspectateur conteste la réponse")
    assert moved.level == 3
    assert moved.team.code == "mediator-news"
    cases = Case.objects.filter(links__ticket=ticket)
    assert cases.count() == 1
    with pytest.raises(PermissionDenied):  # level 3 is the top
        ticket_escalate(ticket=moved, by=srt, reason="again")


def test_programmes_go_to_the_programmes_mediator(srt):
    ticket = queued_ticket("srt-france2", topic="editorial_programmes")
    assert ticket_escalate(ticket=ticket, by=srt, reason="x").team.code == "mediator-programmes"


def test_escalation_to_3_goes_on_without_the_mediation_app(srt, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "mediation.services", None)  # import fails
    ticket = queued_ticket("srt-france2")
    with caplog.at_level(logging.WARNING, logger="routing.services.workflow"):
        moved = ticket_escalate(ticket=ticket, by=srt, reason="x")
    assert moved.level == 3
    assert "no case opened" in caplog.text


def test_sending_back_down_3_to_2_to_1(mediator, srt):
    ticket = queued_ticket("mediator-news", topic="editorial_news")
    at_2 = ticket_send_back(ticket=ticket, by=mediator, reason="Pas une question éditoriale")
    assert (at_2.level, at_2.team.code) == (2, "srt-france2")
    at_1 = ticket_send_back(ticket=at_2, by=srt, reason="Réponse type suffisante")
    assert (at_1.level, at_1.team.code) == (1, "n1-call-centre")
    kinds = list(
        TicketEvent.objects.filter(ticket=ticket).values_list("kind", "from_value", "to_value")
    )
    assert kinds == [("sent_back", "3", "2"), ("sent_back", "2", "1")]


def test_an_outdated_form_is_refused(agent):
    ticket = queued_ticket("n1-call-centre")
    with pytest.raises(StaleTicket):
        ticket_escalate(ticket=ticket, by=agent, reason="x", expected_version=ticket.version - 1)


def test_a_resolved_ticket_is_not_escalated(srt):
    from routing.services import RoutingError

    ticket = queued_ticket("srt-france2", status=Status.RESOLVED)
    with pytest.raises(RoutingError):
        ticket_escalate(ticket=ticket, by=srt, reason="x")


# --- the POST endpoints ------------------------------------------------------------------------


def test_escalate_endpoint_moves_the_ticket_and_returns_to_the_queue(client, agent):
    ticket = queued_ticket("n1-call-centre")
    client.force_login(agent)
    url = reverse("routing:escalate", args=[ticket.pk])
    response = client.post(url, {"reason": "Besoin du SRT", "version": ticket.version})
    # The ticket is now out of an agent's sight: back to the queue.
    assert response.status_code == 302
    assert response.url == reverse("routing:queue")
    assert Ticket.objects.get(pk=ticket.pk).level == 2


def test_escalate_endpoint_without_reason_changes_nothing(client, srt):
    ticket = queued_ticket("srt-france2")
    client.force_login(srt)
    response = client.post(reverse("routing:escalate", args=[ticket.pk]), {"reason": ""})
    assert response.status_code == 302
    assert response.url == f"/tickets/{ticket.pk}/"
    assert Ticket.objects.get(pk=ticket.pk).level == 2


def test_endpoints_hide_tickets_outside_the_scope(client, outsider, agent):
    ticket = queued_ticket("n1-call-centre")
    client.force_login(outsider)
    assert (
        client.post(reverse("routing:escalate", args=[ticket.pk]), {"reason": "x"}).status_code
        == 404
    )
    client.force_login(agent)
    response = client.post(reverse("routing:send_back", args=[ticket.pk]), {"reason": "x"})
    assert response.status_code == 403


def test_send_back_endpoint_redirects_to_next(client, srt):
    ticket = queued_ticket("srt-france2")
    client.force_login(srt)
    response = client.post(
        reverse("routing:send_back", args=[ticket.pk]),
        {"reason": "Script", "next": f"/tickets/{ticket.pk}/?tab=history"},
    )
    assert response.url == f"/tickets/{ticket.pk}/?tab=history"
    assert Ticket.objects.get(pk=ticket.pk).level == 1
    unsafe = client.post(
        reverse("routing:reroute", args=[ticket.pk]),
        {"reason": "x", "topic": "sport", "next": "https://evil.example/"},
    )
    assert unsafe.url == f"/tickets/{ticket.pk}/"
