"""A first answer is on time or late against the deadline in force: the current level's.

An escalation gives the ticket a new first-answer deadline at the new level (routing's
`_place`), and an answer given at level 1 before it does not meet that deadline; the time to
the first answer still counts to the first answer ever, whatever the level. The service
dashboard, the rollups (rebuilt or refreshed) and the ticket list behind each figure agree.

Dates: Paris time, June 2026. Level 2 owes its first answer within 2 working days (09:00–18:00),
so a ticket escalated on Tuesday 2 June at 10:00 is due on Thursday 4 June at 10:00.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from reporting.filters import Filters
from reporting.models import TicketDaily
from reporting.selectors import Scope, service_page
from reporting.selectors.tickets import dashboard_tickets
from reporting.services.rollups import rollup_rebuild, rollup_refresh
from routing.services import ticket_escalate, ticket_triage
from tests.routing.helpers import answered, frozen_at, new_ticket, paris

from .conftest import follow_every_count
from .test_figures import bucket_of, cells
from .test_rollups import snapshot

pytestmark = pytest.mark.django_db

JUNE = {"from": "2026-06-01", "to": "2026-06-05"}
QUESTION = "Bonjour, quand sera rediffusé le documentaire sur les abeilles ? Merci."
LEVEL_2_DUE = paris(2026, 6, 4, 10)
FRIDAY_NOON = paris(2026, 6, 5, 12)


@pytest.fixture
def escalated(agent, srt):
    """Two France 2 emails opened on Monday 1 June at 10:00, answered by the call centre at
    11:00 and escalated to France 2's SRT on Tuesday at 10:00. `late` gets no answer at level
    2; `on_time` is answered by the SRT on Wednesday at 10:00, a day before its deadline."""
    with frozen_at(paris(2026, 6, 1, 10)):
        late = ticket_triage(ticket_id=new_ticket(body=QUESTION).pk)
        on_time = ticket_triage(ticket_id=new_ticket(body=QUESTION).pk)
    with frozen_at(paris(2026, 6, 1, 11)):
        late, on_time = answered(late, agent), answered(on_time, agent)
    with frozen_at(paris(2026, 6, 2, 10)):
        late = ticket_escalate(ticket=late, by=agent, reason="Besoin du SRT")
        on_time = ticket_escalate(ticket=on_time, by=agent, reason="Besoin du SRT")
    with frozen_at(paris(2026, 6, 3, 10)):
        on_time = answered(on_time, srt)
    for ticket in (late, on_time):
        assert (ticket.level, ticket.team.code) == (2, "srt-france2")
        assert ticket.first_response_due_at == LEVEL_2_DUE
        assert ticket.first_responded_at == paris(2026, 6, 1, 11)
    assert late.level_first_responded_at is None
    assert on_time.level_first_responded_at == paris(2026, 6, 3, 10)
    return SimpleNamespace(late=late, on_time=on_time)


def _scope(user) -> Scope:
    return Scope.build(user=user, filters=Filters.from_query(JUNE))


def _listed(user, **params) -> list[str]:
    page = dashboard_tickets(scope=_scope(user), params={**JUNE, **params})
    return [t.reference for t in page.tickets]


def test_a_level_1_answer_does_not_meet_the_level_2_deadline(escalated, manager):
    late, on_time = escalated.late, escalated.on_time
    with frozen_at(FRIDAY_NOON):
        rollup_rebuild()
        page = service_page(scope=_scope(manager))
        sla = page.table("sla")
        row = {(r[0].value, r[1].value): r for r in sla.rows}[("Level 2", "Email")]
        # Two first answers due at level 2 (one answered there, one past its deadline): one
        # on time, one late.
        assert [c.value for c in row[2:6]] == [2, 2, pytest.approx(1 / 2), 1]
        tile = {str(t.label): t.value for t in page.tiles}["First answer on time"]
        assert tile == pytest.approx(1 / 2)
        # The drill-down lists behind the figures hold those very tickets.
        filters = {"level": "2", "channel": "email"}
        assert _listed(manager, metric="fr_breached", **filters) == [late.reference]
        assert _listed(manager, metric="fr_met", **filters) == [on_time.reference]
        assert set(_listed(manager, metric="fr_due", **filters)) == {
            late.reference,
            on_time.reference,
        }
        # The breach list names the late one, late since the level-2 deadline.
        breaches = page.table("breaches")
        assert cells(breaches, "reference") == [late.reference]
        assert cells(breaches, "missed") == ["first answer"]
        assert cells(breaches, "late_by") == [(FRIDAY_NOON - LEVEL_2_DUE).total_seconds()]
        # The time to the first answer still counts to the call centre's answer (1 h) for both.
        times = page.table("times")
        times_row = {(r[0].value, r[1].value): r for r in times.rows}[("Level 2", "Email")]
        assert times_row[2].value == 2
        assert bucket_of(times_row[3].value) == bucket_of(3600)


def test_every_count_links_to_exactly_its_tickets_after_an_escalation(escalated, client, manager):
    client.force_login(manager)
    client.cookies["django_language"] = "en"
    with frozen_at(FRIDAY_NOON):
        rollup_rebuild()
        assert follow_every_count(client, manager, JUNE) > 20


def test_the_refresh_counts_a_level_2_deadline_passing_without_any_write(escalated):
    day = paris(2026, 6, 1, 10).date()
    with frozen_at(paris(2026, 6, 3, 12)):
        rollup_rebuild()
    row = TicketDaily.objects.get(day=day, level=2)
    # Wednesday: only the ticket answered at level 2 is decided (on time).
    assert (row.fr_due, row.fr_met) == (1, 1)
    with frozen_at(paris(2026, 6, 4, 12)):
        # Thursday noon: the level-2 deadline of the other one passed at 10:00, with no write
        # since the last run (the level-1 answer does not stop that deadline).
        report = rollup_refresh()
        assert report.ticket_days == 1
        row = TicketDaily.objects.get(day=day, level=2)
        assert (row.fr_due, row.fr_met) == (2, 1)
        refreshed = snapshot()
        rollup_rebuild()
        assert snapshot() == refreshed
