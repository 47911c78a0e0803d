""" "Take next": the most urgent unassigned ticket of the user's queues, never given twice."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from contacts.models import Priority, Status, Ticket, TicketEvent, TicketEventKind
from routing.services import ticket_take_next
from tests.factories import UserFactory, brand
from tests.markers import requires_postgres
from tests.routing.helpers import join, queued_ticket

pytestmark = pytest.mark.django_db


def _due(hours):
    return timezone.now() + timedelta(hours=hours)


def test_the_most_urgent_ticket_of_the_users_queues_comes_first(agent):
    join(agent, "n1-call-centre")
    later = queued_ticket("n1-call-centre", resolution_due_at=_due(48))
    sooner = queued_ticket("n1-call-centre", resolution_due_at=_due(5))
    urgent = queued_ticket("n1-call-centre", resolution_due_at=_due(90), priority=Priority.URGENT)
    queued_ticket("srt-france2", resolution_due_at=_due(1))  # not the agent's queue
    queued_ticket("n1-call-centre", resolution_due_at=_due(1), brand=brand("france5"))  # scope
    queued_ticket(
        "n1-call-centre", resolution_due_at=_due(1), assignee=agent, status=Status.IN_PROGRESS
    )
    queued_ticket("n1-call-centre", resolution_due_at=_due(1), status=Status.WAITING_VIEWER)

    taken = [ticket_take_next(user=agent) for _ in range(4)]
    assert [t.pk if t else None for t in taken] == [urgent.pk, sooner.pk, later.pk, None]
    first = taken[0]
    assert first.assignee == agent
    assert first.status == Status.IN_PROGRESS
    assert TicketEvent.objects.filter(ticket=first, kind=TicketEventKind.ASSIGNED).count() == 1


def test_a_user_without_a_team_gets_nothing(agent):
    queued_ticket("n1-call-centre")
    assert ticket_take_next(user=agent) is None


def test_two_agents_in_turn_never_get_the_same_ticket():
    agents = [UserFactory(role=Role.AGENT, brands=["france2"]) for _ in range(3)]
    for a in agents:
        join(a, "n1-call-centre")
    tickets = [queued_ticket("n1-call-centre", resolution_due_at=_due(i)) for i in range(7)]
    given = []
    while True:
        got = [ticket_take_next(user=a) for a in agents]
        given += [t.pk for t in got if t]
        if not all(got):
            break
    assert sorted(given) == sorted(t.pk for t in tickets)


def test_take_next_button_opens_the_ticket(client, agent):
    join(agent, "n1-call-centre")
    ticket = queued_ticket("n1-call-centre")
    client.force_login(agent)
    response = client.post(reverse("routing:take_next"))
    assert response.status_code == 302
    assert response.url == f"/tickets/{ticket.pk}/"
    empty = client.post(reverse("routing:take_next"))
    assert empty.url == reverse("routing:queue")


def test_take_next_is_a_post(client, agent):
    client.force_login(agent)
    assert client.get(reverse("routing:take_next")).status_code == 405


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_agents_racing_on_postgresql_never_get_the_same_ticket():
    """Eight agents, each on its own connection, press "take next" at the same instant
    until the queue is empty: every ticket is given exactly once."""
    agents = [UserFactory(role=Role.AGENT, brands=["france2"]) for _ in range(8)]
    for a in agents:
        join(a, "n1-call-centre")
    tickets = [queued_ticket("n1-call-centre", resolution_due_at=_due(i % 5)) for i in range(40)]
    start = threading.Barrier(len(agents))
    given: dict[int, list[int]] = {a.pk: [] for a in agents}
    errors: list[BaseException] = []

    def work(agent):
        try:
            start.wait()
            while (ticket := ticket_take_next(user=agent)) is not None:
                given[agent.pk].append(ticket.pk)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(a,)) for a in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    all_given = [pk for pks in given.values() for pk in pks]
    assert len(all_given) == len(set(all_given)) == len(tickets)
    assert sum(1 for pks in given.values() if pks) > 1  # they really raced
    for agent_id, pks in given.items():
        assert set(Ticket.objects.filter(assignee_id=agent_id).values_list("pk", flat=True)) == set(
            pks
        )
