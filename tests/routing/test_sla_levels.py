"""The first-answer clock of each level, and SLA states that follow the clocks both ways.

An escalation or a send-back starts a new first-answer (acknowledgement) clock at the new
level, even when the viewer was answered below; `first_responded_at` keeps the very first
answer (reporting's first-response time). The sweep raises a state (priority up, leads told)
and lowers it when the clocks allow (an event only); every breach stays recorded.

Dates: Paris time, 2026. Level 1 by email: 2 and 5 working days; level 2: 2 and 20. A working
day is 09:00–18:00 (9 h), so "at risk" (75 % used) leaves 4.5 h of 18 h, or 11.25 h of 45 h.
"""

import pytest

from contacts.models import Priority, SlaState, Status, Ticket, TicketEvent, TicketEventKind
from contacts.services import ticket_change_status
from routing.services import ticket_escalate, ticket_reroute, ticket_send_back, ticket_triage
from routing.sla import sla_sweep
from tests.factories import UserFactory
from tests.routing.helpers import answered, frozen_at, join, new_ticket, paris, queued_ticket, team

pytestmark = pytest.mark.django_db

QUESTION = "Bonjour, quand sera rediffusé le documentaire sur les abeilles ? Merci."


def _sweep(capture, moment):
    with frozen_at(moment), capture(execute=True):
        return sla_sweep()


def _sla_events(ticket):
    return [
        (e.from_value, e.to_value)
        for e in TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.SLA)
    ]


@pytest.fixture
def leads():
    """A lead on the call centre and on France 2's SRT: the emails the sweep sends."""
    n1 = UserFactory(username="lead1", email="lead1@example.fr", role="agent")
    join(n1, "n1-call-centre", lead=True)
    srt_lead = UserFactory(username="lead2", email="lead2@example.fr", role="srt")
    join(srt_lead, "srt-france2", lead=True)
    return n1, srt_lead


# --- the first-answer clock of each level ------------------------------------------------------


def test_an_escalated_ticket_answered_at_level_1_owes_level_2_a_new_first_answer(
    agent, srt, leads, django_capture_on_commit_callbacks, mailoutbox
):
    with frozen_at(paris(2026, 6, 1, 10)):  # Monday
        ticket = ticket_triage(ticket_id=new_ticket(body=QUESTION).pk)
    with frozen_at(paris(2026, 6, 1, 11)):
        ticket = answered(ticket, agent)
    level_1_answer = paris(2026, 6, 1, 11)
    assert ticket.first_responded_at == level_1_answer
    assert ticket.level_first_responded_at == level_1_answer

    with frozen_at(paris(2026, 6, 2, 10)):  # Tuesday: escalated to France 2's SRT
        ticket = ticket_escalate(ticket=ticket, by=agent, reason="Besoin du SRT")
    assert (ticket.level, ticket.team.code) == (2, "srt-france2")
    assert ticket.level_first_responded_at is None
    assert ticket.first_responded_at == level_1_answer  # reporting's first answer, kept
    assert ticket.first_response_due_at == paris(2026, 6, 4, 10)  # level 2: 2 working days

    # Wednesday 12:00: 7 h of 18 left, on time.
    assert _sweep(django_capture_on_commit_callbacks, paris(2026, 6, 3, 12))["checked"] == 1
    assert Ticket.objects.get(pk=ticket.pk).sla_state == SlaState.OK
    # Thursday 09:30: 30 minutes left.
    _sweep(django_capture_on_commit_callbacks, paris(2026, 6, 4, 9, 30))
    assert Ticket.objects.get(pk=ticket.pk).sla_state == SlaState.AT_RISK
    # Thursday 10:01: missed.
    _sweep(django_capture_on_commit_callbacks, paris(2026, 6, 4, 10, 1))
    ticket.refresh_from_db()
    assert ticket.sla_state == SlaState.BREACHED
    raised = ticket.priority
    assert [m.to for m in mailoutbox] == [["lead2@example.fr"], ["lead2@example.fr"]]

    # The SRT answers at 11:00: the level's first answer is given; the resolution is weeks away.
    with frozen_at(paris(2026, 6, 4, 11)):
        ticket = answered(ticket, srt)
    assert ticket.level_first_responded_at == paris(2026, 6, 4, 11)
    assert ticket.first_responded_at == level_1_answer
    counts = _sweep(django_capture_on_commit_callbacks, paris(2026, 6, 4, 11, 5))
    assert counts["lowered"] == 1
    ticket.refresh_from_db()
    assert ticket.sla_state == SlaState.OK
    assert ticket.priority == raised  # not lowered automatically
    assert len(mailoutbox) == 2  # nobody is told of a state going down
    assert _sla_events(ticket) == [("ok", "at_risk"), ("at_risk", "breached"), ("breached", "ok")]


def test_answering_at_level_2_in_time_keeps_the_ticket_on_time(
    agent, srt, django_capture_on_commit_callbacks
):
    ticket = queued_ticket(
        "n1-call-centre",
        first_responded_at=paris(2026, 6, 1, 11),
        level_first_responded_at=paris(2026, 6, 1, 11),
    )
    with frozen_at(paris(2026, 6, 2, 10)):
        ticket = ticket_escalate(ticket=ticket, by=agent, reason="Besoin du SRT")
    with frozen_at(paris(2026, 6, 3, 10)):
        answered(ticket, srt)
    _sweep(django_capture_on_commit_callbacks, paris(2026, 6, 4, 9, 30))
    assert Ticket.objects.get(pk=ticket.pk).sla_state == SlaState.OK
    assert _sla_events(ticket) == []


def test_a_ticket_sent_back_owes_level_1_a_first_answer_again(srt):
    ticket = queued_ticket(
        "srt-france2",
        first_responded_at=paris(2026, 6, 1, 11),
        level_first_responded_at=paris(2026, 6, 1, 11),
    )
    with frozen_at(paris(2026, 6, 5, 16)):  # Friday 16:00: 2 working days → Tuesday 16:00
        ticket = ticket_send_back(ticket=ticket, by=srt, reason="Réponse type suffisante")
    assert (ticket.level, ticket.level_first_responded_at) == (1, None)
    assert ticket.first_response_due_at == paris(2026, 6, 9, 16)
    assert ticket.first_responded_at == paris(2026, 6, 1, 11)


def test_a_move_between_teams_of_one_level_keeps_the_levels_answer(srt):
    ticket = queued_ticket(
        "srt-france2",
        first_responded_at=paris(2026, 6, 1, 11),
        level_first_responded_at=paris(2026, 6, 1, 11),
    )
    moved = ticket_reroute(ticket=ticket, by=srt, reason="Région", team=team("srt-france3"))
    assert moved.team.code == "srt-france3"
    assert moved.level_first_responded_at == paris(2026, 6, 1, 11)


def test_the_ticket_page_shows_the_levels_first_answer_clock(client, srt):
    ticket = queued_ticket(
        "srt-france2",
        first_responded_at=paris(2026, 6, 1, 11),
        first_response_due_at=paris(2026, 6, 4, 10),
        resolution_due_at=paris(2026, 6, 30, 10),
    )
    client.force_login(srt)
    with frozen_at(paris(2026, 6, 3, 10)):
        page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "04/06/2026 10:00" in page  # the level's due date, not a tick
    assert "01/06/2026 11:00" in page  # the earlier level's answer, as a note

    Ticket.objects.filter(pk=ticket.pk).update(level_first_responded_at=paris(2026, 6, 3, 9))
    with frozen_at(paris(2026, 6, 3, 10)):
        page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "✓ 03/06/2026 09:00" in page


# --- states that go back down ------------------------------------------------------------------


def _level_1(**kwargs):
    # Friday 10 July 2026 17:00; 14 July is off: first answer due Wednesday 15 July 17:00,
    # resolution Monday 20 July 17:00.
    defaults = dict(
        created_at=paris(2026, 7, 10, 17),
        first_response_due_at=paris(2026, 7, 15, 17),
        resolution_due_at=paris(2026, 7, 20, 17),
        priority=Priority.NORMAL,
    )
    defaults.update(kwargs)
    return queued_ticket("n1-call-centre", **defaults)


def test_the_first_answer_brings_an_at_risk_ticket_back_on_time_until_the_resolution_nears(
    agent, leads, django_capture_on_commit_callbacks, mailoutbox
):
    ticket = _level_1()
    # Monday 13 July 17:00: 9 working hours of 18 left (14 July is off), on time.
    _sweep(django_capture_on_commit_callbacks, paris(2026, 7, 13, 17))
    assert Ticket.objects.get(pk=ticket.pk).sla_state == SlaState.OK
    # Wednesday 15 July 14:00: 3 h left for the first answer; 30 h of 45 for the resolution.
    _sweep(django_capture_on_commit_callbacks, paris(2026, 7, 15, 14))
    ticket.refresh_from_db()
    assert (ticket.sla_state, ticket.priority) == (SlaState.AT_RISK, Priority.HIGH)

    with frozen_at(paris(2026, 7, 15, 15)):
        answered(ticket, agent)
    _sweep(django_capture_on_commit_callbacks, paris(2026, 7, 15, 15, 5))
    ticket.refresh_from_db()
    assert (ticket.sla_state, ticket.priority) == (SlaState.OK, Priority.HIGH)
    # Thursday 12:00: 23 h of the resolution's 45 are left, on time.
    _sweep(django_capture_on_commit_callbacks, paris(2026, 7, 16, 12))
    assert Ticket.objects.get(pk=ticket.pk).sla_state == SlaState.OK
    # Saturday: only Monday's 8 h are left, at risk again — a new risk: priority and email.
    _sweep(django_capture_on_commit_callbacks, paris(2026, 7, 18, 12))
    _sweep(django_capture_on_commit_callbacks, paris(2026, 7, 19, 12))  # Sunday: nothing new
    ticket.refresh_from_db()
    assert (ticket.sla_state, ticket.priority) == (SlaState.AT_RISK, Priority.URGENT)
    assert _sla_events(ticket) == [("ok", "at_risk"), ("at_risk", "ok"), ("ok", "at_risk")]
    assert len(mailoutbox) == 2


def test_a_late_first_answer_lowers_the_state_but_the_breach_stays_recorded(
    agent, django_capture_on_commit_callbacks
):
    ticket = _level_1()
    _sweep(django_capture_on_commit_callbacks, paris(2026, 7, 15, 17, 30))
    assert Ticket.objects.get(pk=ticket.pk).sla_state == SlaState.BREACHED
    with frozen_at(paris(2026, 7, 16, 10)):
        ticket = answered(ticket, agent)
    # Thursday 10:05: the resolution has about 25 h of 45 left.
    _sweep(django_capture_on_commit_callbacks, paris(2026, 7, 16, 10, 5))
    ticket.refresh_from_db()
    assert ticket.sla_state == SlaState.OK
    assert _sla_events(ticket) == [("ok", "breached"), ("breached", "ok")]
    breach = TicketEvent.objects.get(ticket=ticket, kind=TicketEventKind.SLA, to_value="breached")
    assert breach.data["first_answered_at_level"] is None
    # What reporting compares to count a late first answer is untouched.
    assert ticket.first_responded_at > ticket.first_response_due_at


def test_a_ticket_past_its_resolution_date_stays_breached_and_is_not_read_again(
    agent, django_capture_on_commit_callbacks
):
    ticket = _level_1(
        first_responded_at=paris(2026, 7, 13, 10), level_first_responded_at=paris(2026, 7, 13, 10)
    )
    _sweep(django_capture_on_commit_callbacks, paris(2026, 7, 20, 17, 30))
    assert Ticket.objects.get(pk=ticket.pk).sla_state == SlaState.BREACHED
    counts = _sweep(django_capture_on_commit_callbacks, paris(2026, 7, 21, 10))
    assert counts["checked"] == 0
    assert _sla_events(ticket) == [("ok", "breached")]


def test_an_answer_during_a_pause_over_a_holiday_lowers_the_state_once_the_clock_runs(
    agent, django_capture_on_commit_callbacks
):
    # Thursday 9 July 10:00: first answer due Monday 13 July 10:00, resolution due Friday
    # 17 July 10:00 (Tuesday 14 July is off).
    ticket = _level_1(
        created_at=paris(2026, 7, 9, 10),
        first_response_due_at=paris(2026, 7, 13, 10),
        resolution_due_at=paris(2026, 7, 17, 10),
    )
    _sweep(django_capture_on_commit_callbacks, paris(2026, 7, 10, 17))  # 2 h left of 18
    assert Ticket.objects.get(pk=ticket.pk).sla_state == SlaState.AT_RISK
    # The agent answers with a question and waits for the viewer from Friday 17:30 ...
    with frozen_at(paris(2026, 7, 10, 17, 30)):
        ticket = answered(ticket, agent)
        ticket = ticket_change_status(ticket=ticket, to=Status.WAITING_VIEWER, by=agent)
    # ... the paused ticket is left alone (its clock is stopped) ...
    counts = _sweep(django_capture_on_commit_callbacks, paris(2026, 7, 13, 12))
    assert counts["checked"] == 0
    assert Ticket.objects.get(pk=ticket.pk).sla_state == SlaState.AT_RISK
    # ... until the viewer writes back on Wednesday 15 July 09:00: 9.5 working hours waited
    # (Friday 17:30–18:00 and Monday; the weekend and 14 July cost nothing).
    with frozen_at(paris(2026, 7, 15, 9)):
        ticket = ticket_change_status(ticket=ticket, to=Status.IN_PROGRESS, by=agent)
    assert ticket.resolution_due_at == paris(2026, 7, 20, 10, 30)
    assert ticket.first_response_due_at == paris(2026, 7, 13, 10)  # answered: not pushed
    # 28.5 working hours of the resolution's 45 are left, as before the pause: on time.
    counts = _sweep(django_capture_on_commit_callbacks, paris(2026, 7, 15, 9, 5))
    assert counts["lowered"] == 1
    assert Ticket.objects.get(pk=ticket.pk).sla_state == SlaState.OK


def test_a_pause_keeps_the_state_when_the_time_left_is_the_same(
    agent, django_capture_on_commit_callbacks
):
    # Friday 17 July 15:00: 11 h of the resolution's 45 left (3 today, 8 on Monday): at risk.
    ticket = _level_1(
        first_responded_at=paris(2026, 7, 13, 10), level_first_responded_at=paris(2026, 7, 13, 10)
    )
    _sweep(django_capture_on_commit_callbacks, paris(2026, 7, 17, 15))
    ticket.refresh_from_db()
    assert ticket.sla_state == SlaState.AT_RISK
    with frozen_at(paris(2026, 7, 17, 15)):
        ticket = ticket_change_status(ticket=ticket, to=Status.WAITING_VIEWER, by=agent)
    # Back on Tuesday 21 July 12:00: 15 working hours waited, so the due date moves from
    # Monday 17:00 to Wednesday 14:00 and 11 h are left, as before the pause.
    with frozen_at(paris(2026, 7, 21, 12)):
        ticket = ticket_change_status(ticket=ticket, to=Status.IN_PROGRESS, by=agent)
    assert ticket.resolution_due_at == paris(2026, 7, 22, 14)
    counts = _sweep(django_capture_on_commit_callbacks, paris(2026, 7, 21, 12, 5))
    assert counts["checked"] == 1 and counts["lowered"] == 0
    ticket.refresh_from_db()
    assert ticket.sla_state == SlaState.AT_RISK
    assert _sla_events(ticket) == [("ok", "at_risk")]


def test_escalating_a_breached_ticket_records_the_state_going_back_down_without_email(
    agent, leads, django_capture_on_commit_callbacks, mailoutbox
):
    ticket = _level_1(priority=Priority.HIGH)
    _sweep(django_capture_on_commit_callbacks, paris(2026, 7, 16, 10))
    assert Ticket.objects.get(pk=ticket.pk).sla_state == SlaState.BREACHED
    sent = len(mailoutbox)
    with frozen_at(paris(2026, 7, 16, 11)), django_capture_on_commit_callbacks(execute=True):
        moved = ticket_escalate(ticket=ticket, by=agent, reason="Besoin du SRT")
    assert (moved.sla_state, moved.priority) == (SlaState.OK, Priority.URGENT)
    assert len(mailoutbox) == sent
    reset = TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.SLA).last()
    assert (reset.from_value, reset.to_value, reset.actor) == ("breached", "ok", agent)
    assert reset.data["move"] == "escalated"
