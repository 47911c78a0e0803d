"""Finding 6 of issue 11: SRT staff read only the level-3 tickets the SRT moved there.

A request that went straight to the mediators (triaged to level 3, or moved there by the
call centre's manager) is the mediators' alone; the SRT, whose brand it criticises, reads it
not. What the SRT escalated they keep reading, to answer the viewer who asks where it stands.
Everybody working a brand's tickets may still track any of them (reference, level, state, due
date) through the narrower "track" action.
"""

import pytest
from django.urls import reverse

from accounts import permissions
from contacts.models import Status
from contacts.selectors import ticket_list
from routing.services import ticket_escalate, ticket_reroute
from tests.factories import ContactFactory, TicketFactory, brand
from tests.routing.helpers import team

pytestmark = pytest.mark.django_db


def _ticket(level: int, brand_code: str = "france2", body: str = "Bonjour"):
    team_code = {1: "n1-call-centre", 2: f"srt-{brand_code[:7]}", 3: "mediator-programmes"}
    ticket = TicketFactory(
        level=level, brand=brand(brand_code), team=team(team_code[level]), status=Status.TRIAGED
    )
    ContactFactory(ticket=ticket, body_text=body)
    return ticket


def test_srt_does_not_read_a_request_that_went_straight_to_the_mediators(client, srt):
    direct = _ticket(3, body="Je saisis directement le médiateur.")
    client.force_login(srt)
    page = client.get(reverse("contacts:ticket", args=[direct.pk]))
    api = client.get(f"/api/v1/tickets/{direct.pk}/")
    assert (page.status_code, api.status_code) == (404, 404)
    assert not permissions.can(srt, "view", direct)
    assert direct not in ticket_list(user=srt)


def test_srt_keeps_reading_the_ticket_it_escalated_to_the_mediators(client, srt):
    ticket = _ticket(2, body="Je conteste la réponse du service.")
    ticket_escalate(ticket=ticket, by=srt, reason="Le téléspectateur fait appel.")
    ticket.refresh_from_db()
    assert ticket.level == 3
    client.force_login(srt)
    page = client.get(reverse("contacts:ticket", args=[ticket.pk]))
    assert page.status_code == 200
    assert "Je conteste la réponse du service." in page.content.decode()
    assert client.get(f"/api/v1/tickets/{ticket.pk}/").status_code == 200
    assert ticket in ticket_list(user=srt)
    # Reading is not working it: the mediators do.
    assert not permissions.can(srt, "work", ticket)


def test_a_colleague_of_the_same_srt_follows_it_another_brands_srt_does_not(srt, srt3):
    ticket = _ticket(2)
    ticket_escalate(ticket=ticket, by=srt, reason="Appel")
    ticket.refresh_from_db()
    colleague = type(srt).objects.create(username="srt-bis", role=srt.role)
    colleague.brands.set([brand("france2")])
    assert permissions.can(colleague, "view", ticket)
    assert not permissions.can(srt3, "view", ticket)
    assert ticket not in ticket_list(user=srt3)


def test_a_ticket_the_srt_rerouted_to_level_3_is_followed_too(srt):
    ticket = _ticket(2)
    ticket_reroute(ticket=ticket, by=srt, reason="Mauvais niveau", level=3)
    ticket.refresh_from_db()
    assert permissions.can(srt, "view", ticket)
    assert ticket in ticket_list(user=srt)


def test_a_ticket_the_agent_escalated_to_2_then_a_manager_to_3_is_not_the_srts(agent, manager, srt):
    ticket = _ticket(1)
    ticket_escalate(ticket=ticket, by=agent, reason="Besoin du service")
    ticket_escalate(ticket=ticket, by=manager, reason="Pour le médiateur")
    ticket.refresh_from_db()
    assert ticket.level == 3
    assert not permissions.can(srt, "view", ticket)


def test_staff_track_any_ticket_of_their_brands_whatever_its_level(personas):
    direct = _ticket(3)
    other_brand = _ticket(3, brand_code="france5")
    for role in ("agent", "srt", "mediator", "manager", "admin"):
        assert permissions.can(personas[role], "track", direct), role
    assert not permissions.can(personas["mailroom"], "track", direct)
    assert not permissions.can(personas["srt"], "track", other_brand)
    assert not permissions.can(personas["agent"], "view", direct)
