"""Re-routing by staff, recorded next to the automatic decision; override rates per rule."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from contacts.models import TicketEvent, TicketEventKind
from routing.selectors import override_rates
from routing.services import RoutingError, ticket_escalate, ticket_reroute, ticket_triage
from tests.routing.helpers import classifier_in_use_calling_level_3, new_ticket, team

pytestmark = pytest.mark.django_db

ACCESSIBILITY = (
    "Bonjour, les sous-titres pour sourds et malentendants étaient absents hier soir pendant "
    "tout le film sur France 2. C'est inadmissible."
)
QUESTION = "Bonjour, quand sera rediffusé le documentaire sur les abeilles ? Merci."


def _triaged(body):
    return ticket_triage(ticket_id=new_ticket(body=body).pk)


def test_rerouting_records_the_rules_that_had_decided(srt):
    ticket = _triaged(ACCESSIBILITY)
    assert ticket.level == 2
    decided_by = ticket.triage_decision["matched_rules"]
    moved = ticket_reroute(
        ticket=ticket, by=srt, reason="C'est un problème de diffusion", topic="reception_technical"
    )
    assert moved.topic == "reception_technical"
    assert moved.level == 2 and moved.team == ticket.team
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEventKind.REROUTED)
    assert event.data["rules"] == decided_by
    assert event.data["automatic"]["topic"] == "accessibility"
    assert event.data["to"]["topic"] == "reception_technical"
    assert event.reason == "C'est un problème de diffusion"
    assert event.actor == srt


def test_a_new_level_without_a_team_goes_to_that_levels_default_team(srt):
    ticket = _triaged(ACCESSIBILITY)
    moved = ticket_reroute(ticket=ticket, by=srt, reason="Réponse type", level=1)
    assert (moved.level, moved.team.code) == (1, "n1-call-centre")


def test_a_team_must_serve_the_level(srt):
    ticket = _triaged(ACCESSIBILITY)
    with pytest.raises(RoutingError):
        ticket_reroute(ticket=ticket, by=srt, reason="x", level=2, team=team("n1-call-centre"))
    with pytest.raises(RoutingError):
        ticket_reroute(ticket=ticket, by=srt, reason="x")  # nothing to change


def test_a_team_chosen_alone_brings_its_level(srt):
    ticket = _triaged(ACCESSIBILITY)
    moved = ticket_reroute(ticket=ticket, by=srt, reason="x", team=team("n1-call-centre"))
    assert (moved.level, moved.team.code) == (1, "n1-call-centre")


def test_agents_do_not_reroute(agent):
    ticket = _triaged(QUESTION)
    with pytest.raises(PermissionDenied):
        ticket_reroute(ticket=ticket, by=agent, reason="x", topic="sport")


def test_override_rates_per_rule(srt, agent):
    accessibility = [_triaged(ACCESSIBILITY) for _ in range(4)]
    questions = [_triaged(QUESTION) for _ in range(2)]
    ticket_reroute(ticket=accessibility[0], by=srt, reason="x", topic="reception_technical")
    ticket_reroute(ticket=accessibility[1], by=srt, reason="x", level=1)
    ticket_escalate(ticket=questions[0], by=agent, reason="x")
    now = timezone.now()
    rates = {
        r.rule: r for r in override_rates((now - timedelta(hours=1), now + timedelta(hours=1)))
    }
    access_rule = accessibility[0].triage_decision["matched_rules"][0]
    question_rule = questions[0].triage_decision["matched_rules"][0]
    assert rates[access_rule].decided == 4
    assert rates[access_rule].rerouted == 2
    assert rates[access_rule].override_rate == 0.5
    assert rates[question_rule].decided == 2
    assert rates[question_rule].rerouted == 0
    assert rates[question_rule].escalated == 1
    earlier = override_rates((now - timedelta(days=3), now - timedelta(days=2)))
    assert earlier == []


def test_tickets_the_second_opinion_raised_have_their_own_override_line(srt):
    classifier_in_use_calling_level_3(QUESTION)
    raised = [_triaged(QUESTION) for _ in range(2)]
    assert all("second-avis" in t.tags and t.level == 2 for t in raised)
    ticket_reroute(ticket=raised[0], by=srt, reason="Simple question", level=1)
    now = timezone.now()
    rates = {
        r.rule: r for r in override_rates((now - timedelta(hours=1), now + timedelta(hours=1)))
    }
    assert (rates["(second opinion)"].decided, rates["(second opinion)"].rerouted) == (2, 1)
