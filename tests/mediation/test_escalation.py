"""Opening a case from an escalated ticket: idempotent, right mediator, 35 working days."""

from datetime import date

import pytest
import time_machine

from accounts.models import AuditEvent, Role, Team, TeamMembership
from contacts.models import Programme, Topic
from mediation.models import Case, CaseOrigin, Desk
from mediation.services import add_working_days, case_open_from_escalation
from tests.factories import TicketFactory, UserFactory, brand

pytestmark = pytest.mark.django_db


@pytest.fixture
def mediators():
    news = UserFactory(username="med-news", role=Role.MEDIATOR, all_brands=True)
    progs = UserFactory(username="med-progs", role=Role.MEDIATOR, all_brands=True)
    TeamMembership.objects.create(team=Team.objects.get(code="mediator-news"), user=news)
    TeamMembership.objects.create(team=Team.objects.get(code="mediator-programmes"), user=progs)
    return {"news": news, "programmes": progs}


def test_working_days_skip_weekends_and_french_public_holidays():
    # April 2026: Easter Monday the 6th; May: 1st, 8th, Ascension 14th, Whit Monday 25th.
    assert add_working_days(start=date(2026, 4, 1), days=35) == date(2026, 5, 27)
    assert add_working_days(start=date(2026, 12, 24), days=1) == date(2026, 12, 28)


@time_machine.travel("2026-04-01 10:00 +0200", tick=False)
def test_escalated_news_ticket_opens_a_case_for_the_news_mediator(mediators, srt):
    ticket = TicketFactory(level=3, topic=Topic.EDITORIAL_NEWS, subject="Reportage partial")
    case = case_open_from_escalation(ticket=ticket, by=srt, reason="Demande de médiation")
    assert case.desk == Desk.NEWS
    assert case.mediator == mediators["news"]
    assert case.origin == CaseOrigin.ESCALATION
    assert case.due_on == date(2026, 5, 27)
    assert list(case.tickets.all()) == [ticket]
    assert case.reference.startswith("MED-2026-")
    assert AuditEvent.objects.filter(
        action="mediation.case.open", object_type="mediation.case", object_id=str(case.pk)
    ).exists()


def test_a_news_programme_goes_to_the_news_mediator_the_rest_to_programmes(mediators, srt):
    news_programme = Programme.objects.filter(genre="news").first()
    fiction = Programme.objects.exclude(genre="news").first()
    on_news = TicketFactory(level=3, topic=Topic.EDITORIAL_PROGRAMMES, programme=news_programme)
    on_fiction = TicketFactory(level=3, topic=Topic.EDITORIAL_PROGRAMMES, programme=fiction)
    assert (
        case_open_from_escalation(ticket=on_news, by=srt, reason="").mediator == mediators["news"]
    )
    case = case_open_from_escalation(ticket=on_fiction, by=srt, reason="")
    assert case.desk == Desk.PROGRAMMES
    assert case.mediator == mediators["programmes"]


def test_escalating_twice_returns_the_same_open_case(mediators, srt):
    ticket = TicketFactory(level=3, topic=Topic.EDITORIAL_NEWS, brand=brand("france3"))
    first = case_open_from_escalation(ticket=ticket, by=srt, reason="one")
    again = case_open_from_escalation(ticket=ticket, by=srt, reason="two")
    assert first == again
    assert Case.objects.count() == 1
    assert first.links.count() == 1


def test_without_a_mediator_in_the_team_the_case_waits_unassigned(srt):
    ticket = TicketFactory(level=3, topic=Topic.EDITORIAL_NEWS)
    case = case_open_from_escalation(ticket=ticket, by=srt, reason="")
    assert case.mediator is None


def test_the_mediator_team_chosen_by_routing_decides_the_desk(mediators, srt):
    ticket = TicketFactory(
        level=3, topic=Topic.REGIONAL, team=Team.objects.get(code="mediator-news")
    )
    case = case_open_from_escalation(ticket=ticket, by=srt, reason="")
    assert case.desk == Desk.NEWS
    assert case.mediator == mediators["news"]


def test_escalation_through_routing_opens_the_case(mediators, srt):
    workflow = pytest.importorskip("routing.services.workflow")
    ticket = TicketFactory(level=2, topic=Topic.EDITORIAL_NEWS, brand=brand("france2"))
    workflow.ticket_escalate(ticket=ticket, by=srt, reason="Le téléspectateur fait appel.")
    case = Case.objects.get(links__ticket=ticket)
    assert case.mediator == mediators["news"]
    assert case.summary == "Le téléspectateur fait appel."
