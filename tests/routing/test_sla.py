"""SLA clocks on the business calendar, pauses, and the at-risk / breached sweep."""

import pytest
import time_machine
from django.utils import timezone

from contacts.models import Priority, SlaState, Status, Ticket, TicketEvent, TicketEventKind
from contacts.services import ticket_change_status
from routing.models import SlaPolicy, SlaUnit
from routing.services import ticket_triage
from routing.sla import resume_after_pause, sla_sweep
from tests.factories import TicketFactory, UserFactory
from tests.routing.helpers import join, new_ticket, paris, queued_ticket, team

pytestmark = pytest.mark.django_db

QUESTION = "Bonjour, quand sera rediffusé le documentaire sur les abeilles ? Merci."


def _triaged_at(moment, **kwargs):
    with time_machine.travel(moment, tick=False):
        ticket = new_ticket(**kwargs)
        return ticket_triage(ticket_id=ticket.pk)


def test_level_1_email_due_dates_skip_the_weekend_and_14_july():
    # Friday 10 July 2026, 17:00: 2 working days → Wednesday 15 (14 July is off); 5 → Monday 20.
    ticket = _triaged_at(paris(2026, 7, 10, 17), body=QUESTION)
    assert ticket.level == 1
    assert ticket.first_response_due_at == paris(2026, 7, 15, 17)
    assert ticket.resolution_due_at == paris(2026, 7, 20, 17)


def test_level_1_letter_has_5_and_10_working_days_across_easter_monday():
    # Thursday 2 April 2026, 10:00; Easter Monday 6 April is off.
    ticket = _triaged_at(paris(2026, 4, 2, 10), body=QUESTION, channel="letter")
    assert ticket.first_response_due_at == paris(2026, 4, 10, 10)
    assert ticket.resolution_due_at == paris(2026, 4, 17, 10)


def test_level_3_has_5_and_35_working_days():
    body = "Votre réponse ne me satisfait pas, je saisis le médiateur."
    ticket = _triaged_at(paris(2026, 10, 5, 9, 30), body=body)
    assert ticket.level == 3
    assert ticket.first_response_due_at == paris(2026, 10, 12, 9, 30)
    # Seven weeks from Monday 5 October, across the end of summer time; Wednesday
    # 11 November is off, so one more day.
    assert ticket.resolution_due_at == paris(2026, 11, 24, 9, 30)


def test_a_gdpr_request_is_due_in_one_calendar_month():
    body = (
        "Conformément au RGPD, je vous demande l'effacement de mes données personnelles "
        "et l'accès à toutes les données que vous détenez sur moi."
    )
    ticket = _triaged_at(paris(2026, 1, 30, 11), body=body, subject="Demande RGPD")
    assert "rgpd" in ticket.tags
    assert ticket.first_response_due_at == paris(2026, 2, 3, 11)
    assert ticket.resolution_due_at == paris(2026, 2, 28, 11)


def test_a_message_received_on_saturday_counts_from_monday_morning():
    ticket = _triaged_at(paris(2026, 6, 6, 15), body=QUESTION)
    assert ticket.first_response_due_at == paris(2026, 6, 10, 9)


def test_sla_policies_are_data_managers_can_change():
    SlaPolicy.objects.filter(kind="standard", level=1, channel="email").update(
        first_response_amount=4, first_response_unit=SlaUnit.WORKING_HOURS
    )
    ticket = _triaged_at(paris(2026, 6, 5, 16), body=QUESTION)
    assert ticket.first_response_due_at == paris(2026, 6, 8, 11)


def test_waiting_for_the_viewer_pauses_the_clock_by_working_time():
    agent = UserFactory(username="a1", role="agent", brands=["france2"])
    ticket = _triaged_at(paris(2026, 6, 1, 10), body=QUESTION)
    assert ticket.first_response_due_at == paris(2026, 6, 3, 10)
    assert ticket.resolution_due_at == paris(2026, 6, 8, 10)
    with time_machine.travel(paris(2026, 6, 2, 10), tick=False):
        ticket = ticket_change_status(ticket=ticket, to=Status.WAITING_VIEWER, by=agent)
    assert ticket.sla_paused_at == paris(2026, 6, 2, 10)
    # The viewer answers the next Monday at 10:00: 4 working days waited.
    with time_machine.travel(paris(2026, 6, 8, 10), tick=False):
        ticket = ticket_change_status(ticket=ticket, to=Status.IN_PROGRESS, by=agent)
    assert ticket.sla_paused_at is None
    assert ticket.first_response_due_at == paris(2026, 6, 9, 10)
    assert ticket.resolution_due_at == paris(2026, 6, 12, 10)


def test_a_pause_over_a_weekend_costs_no_working_time():
    ticket = TicketFactory(
        first_response_due_at=paris(2026, 6, 9, 12), resolution_due_at=paris(2026, 6, 12, 12)
    )
    resume_after_pause(
        ticket=ticket, paused_at=paris(2026, 6, 5, 18), resumed_at=paris(2026, 6, 8, 9)
    )
    assert ticket.first_response_due_at == paris(2026, 6, 9, 12)
    assert ticket.resolution_due_at == paris(2026, 6, 12, 12)


def test_a_pause_moves_a_gdpr_month_by_calendar_time():
    ticket = TicketFactory(
        tags=["rgpd"],
        first_response_due_at=paris(2026, 6, 3, 12),
        first_responded_at=paris(2026, 6, 2, 12),
        level_first_responded_at=paris(2026, 6, 2, 12),
        resolution_due_at=paris(2026, 7, 1, 12),
    )
    resume_after_pause(
        ticket=ticket, paused_at=paris(2026, 6, 5, 12), resumed_at=paris(2026, 6, 8, 12)
    )
    assert ticket.first_response_due_at == paris(2026, 6, 3, 12)  # answered: unchanged
    assert ticket.resolution_due_at == paris(2026, 7, 4, 12)


def _running(**kwargs):
    # Level 1 by email, created Monday 1 June 2026 10:00 (5 working days = 45 h).
    defaults = dict(
        created_at=paris(2026, 6, 1, 10),
        first_response_due_at=paris(2026, 6, 3, 10),
        first_responded_at=paris(2026, 6, 1, 15),
        level_first_responded_at=paris(2026, 6, 1, 15),
        resolution_due_at=paris(2026, 6, 8, 10),
        priority=Priority.NORMAL,
    )
    defaults.update(kwargs)
    return queued_ticket("n1-call-centre", **defaults)


def test_the_sweep_marks_at_risk_then_breached_raises_priority_and_tells_the_leads_once(
    django_capture_on_commit_callbacks, mailoutbox
):
    lead = UserFactory(username="lead", email="lead@example.fr", role="agent")
    join(lead, "n1-call-centre", lead=True)
    member = UserFactory(username="member", email="member@example.fr", role="agent")
    join(member, "n1-call-centre")
    ticket = _running()

    with (
        time_machine.travel(paris(2026, 6, 3, 10), tick=False),  # 27 h of 45 left
        django_capture_on_commit_callbacks(execute=True),
    ):
        sla_sweep()
    assert Ticket.objects.get(pk=ticket.pk).sla_state == SlaState.OK

    with time_machine.travel(paris(2026, 6, 5, 10), tick=False):  # 9 h left: 80 % used
        with django_capture_on_commit_callbacks(execute=True):
            assert sla_sweep()[SlaState.AT_RISK] == 1
        with django_capture_on_commit_callbacks(execute=True):
            sla_sweep()  # again: nothing new
    ticket.refresh_from_db()
    assert ticket.sla_state == SlaState.AT_RISK
    assert ticket.priority == Priority.HIGH
    assert [m.to for m in mailoutbox] == [["lead@example.fr"]]
    assert ticket.reference in mailoutbox[0].subject

    with (
        time_machine.travel(paris(2026, 6, 8, 10, 1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sla_sweep()[SlaState.BREACHED] == 1
    ticket.refresh_from_db()
    assert ticket.sla_state == SlaState.BREACHED
    assert ticket.priority == Priority.URGENT
    assert len(mailoutbox) == 2
    events = TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.SLA)
    assert [(e.from_value, e.to_value) for e in events] == [
        ("ok", "at_risk"),
        ("at_risk", "breached"),
    ]


def test_an_unanswered_first_response_puts_the_ticket_at_risk_earlier():
    # First answer due Wed 3 June 10:00 (18 h).
    ticket = _running(first_responded_at=None, level_first_responded_at=None)
    with time_machine.travel(paris(2026, 6, 2, 15), tick=False):  # 4 h left of 18
        sla_sweep()
    assert Ticket.objects.get(pk=ticket.pk).sla_state == SlaState.AT_RISK


def test_paused_and_finished_tickets_are_left_alone():
    paused = _running(status=Status.WAITING_VIEWER, sla_paused_at=paris(2026, 6, 2, 10))
    resolved = _running(status=Status.RESOLVED)
    with time_machine.travel(paris(2026, 6, 9, 10), tick=False):
        sla_sweep()
    assert Ticket.objects.get(pk=paused.pk).sla_state == SlaState.OK
    assert Ticket.objects.get(pk=resolved.pk).sla_state == SlaState.OK


def test_due_dates_follow_the_teams_opening_hours():
    call_centre = team("n1-call-centre")
    call_centre.opens_at, call_centre.closes_at = "08:00", "20:00"
    call_centre.save()
    SlaPolicy.objects.filter(kind="standard", level=1, channel="email").update(
        first_response_amount=3, first_response_unit=SlaUnit.WORKING_HOURS
    )
    ticket = _triaged_at(paris(2026, 6, 5, 19), body=QUESTION)
    assert ticket.first_response_due_at == timezone.localtime(paris(2026, 6, 8, 10))
