"""The triage of a batch of tickets: one message per intake batch, one claim and one UPDATE per
batch, and still exactly one triage per ticket (redelivery, the sweep and concurrent workers
find nothing left to do)."""

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from contacts.models import Contact, Direction, Status, Ticket, TicketEvent, TicketEventKind
from contacts.services.tickets import TicketOpening, ticket_open_many
from routing import config_cache
from routing.services.triage import ticket_triage_many, triage_sweep_stalled
from routing.tasks import triage_ticket, triage_tickets
from tests.factories import TicketFactory, ViewerFactory, brand
from tests.markers import requires_postgres
from tests.routing.helpers import (
    classifier_in_use_calling_level_3,
    held_by_another_worker,
    new_ticket,
)

pytestmark = pytest.mark.django_db

SCHEDULE_QUESTION = "Bonjour, quand sera rediffusé le documentaire sur les abeilles ? Merci."
MEDIATOR_REQUEST = (
    "Bonjour, votre réponse ne me satisfait pas du tout. Je demande que le médiateur "
    "examine ma réclamation sur le reportage du journal."
)


@pytest.fixture(autouse=True)
def _forget_recently_triaged():
    # A per-process hint: ids are reused once a test's transaction rolls back.
    config_cache.recently_triaged.clear()
    yield
    config_cache.recently_triaged.clear()


def _triaged_events(ids):
    return TicketEvent.objects.filter(ticket_id__in=ids, kind=TicketEventKind.TRIAGED)


def test_a_batch_is_triaged_with_the_same_decision_as_one_by_one():
    alone = new_ticket(subject="Réclamation", body=MEDIATOR_REQUEST)
    triage_ticket(alone.pk)
    alone.refresh_from_db()
    batch = [new_ticket(subject="Réclamation", body=MEDIATOR_REQUEST) for _ in range(3)]
    batch.append(new_ticket(body=SCHEDULE_QUESTION))

    got = ticket_triage_many(ticket_ids=[t.pk for t in batch])

    assert sorted(t.pk for t in got) == sorted(t.pk for t in batch)
    for ticket in batch[:3]:
        ticket.refresh_from_db()
        assert ticket.status == Status.TRIAGED
        assert (ticket.level, ticket.team_id, ticket.topic, ticket.priority) == (
            alone.level,
            alone.team_id,
            alone.topic,
            alone.priority,
        )
        assert ticket.tags == alone.tags
        assert ticket.triage_explanation == alone.triage_explanation
        assert ticket.triage_policy_version == alone.triage_policy_version
        assert ticket.triage_decision["matched_rules"] == alone.triage_decision["matched_rules"]
        assert ticket.triage_decision["sla_policy"] == alone.triage_decision["sla_policy"]
        assert ticket.first_response_due_at and ticket.resolution_due_at
        assert ticket.version == 2
        assert ticket.sla_state == alone.sla_state
    last = Ticket.objects.get(pk=batch[3].pk)
    assert (last.level, last.team.code) == (1, "n1-call-centre")
    assert _triaged_events([t.pk for t in batch]).count() == 4


def test_a_redelivered_batch_is_a_no_op():
    tickets = [new_ticket(body=SCHEDULE_QUESTION) for _ in range(4)]
    ids = [t.pk for t in tickets]
    triage_tickets(ids)
    first = {t.pk: (t.version, t.triaged_at) for t in Ticket.objects.filter(pk__in=ids)}

    triage_tickets(ids)  # the broker delivered the message again
    assert ticket_triage_many(ticket_ids=ids) == []

    again = {t.pk: (t.version, t.triaged_at) for t in Ticket.objects.filter(pk__in=ids)}
    assert again == first
    assert _triaged_events(ids).count() == 4


def test_a_batch_skips_its_tickets_already_triaged_or_moved_on():
    done = new_ticket(body=SCHEDULE_QUESTION)
    triage_ticket(done.pk)
    done.refresh_from_db()
    moved_on = TicketFactory(status=Status.IN_PROGRESS, level=2)
    waiting = new_ticket(body=SCHEDULE_QUESTION)

    got = ticket_triage_many(ticket_ids=[done.pk, moved_on.pk, waiting.pk, waiting.pk])

    assert [t.pk for t in got] == [waiting.pk]
    assert Ticket.objects.get(pk=done.pk).version == done.version
    moved_on.refresh_from_db()
    assert (moved_on.status, moved_on.level) == (Status.IN_PROGRESS, 2)
    assert _triaged_events([done.pk, waiting.pk]).count() == 2


def test_a_batch_in_process_triages_its_own_tickets_only(settings):
    other = new_ticket(body=SCHEDULE_QUESTION)
    tickets = [new_ticket(body=SCHEDULE_QUESTION) for _ in range(3)]
    settings.TRIAGE_BATCH_SIZE = 2  # two transactions for three tickets
    got = ticket_triage_many(ticket_ids=[t.pk for t in tickets])
    assert len(got) == 3
    assert Ticket.objects.get(pk=other.pk).status == Status.NEW


def test_a_worker_batch_with_room_takes_waiting_tickets_along():
    waiting = [new_ticket(body=SCHEDULE_QUESTION) for _ in range(3)]
    own = new_ticket(body=SCHEDULE_QUESTION)
    got = ticket_triage_many(ticket_ids=[own.pk], batch=3, take_along=True)
    assert [t.pk for t in got] == [own.pk]  # the tickets taken along are not its own
    states = dict(Ticket.objects.values_list("pk", "status"))
    assert [states[t.pk] for t in waiting].count(Status.TRIAGED) == 2
    # Their own messages then find nothing to do.
    assert ticket_triage_many(ticket_ids=[t.pk for t in waiting[:2]], take_along=True) == []


def test_an_intake_batch_asks_for_its_triage_in_one_message_per_batch(
    settings, django_capture_on_commit_callbacks
):
    settings.TRIAGE_BATCH_SIZE = 2
    viewer = ViewerFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tickets = ticket_open_many(
            openings=[
                TicketOpening(
                    channel="email", brand=brand("france2"), viewer=viewer, subject="Rediffusion"
                )
                for _ in range(5)
            ]
        )
        Contact.objects.bulk_create(
            [
                Contact(
                    ticket=t,
                    viewer=viewer,
                    channel="email",
                    direction=Direction.INBOUND,
                    subject="Rediffusion",
                    body_text=SCHEDULE_QUESTION,
                    occurred_at=t.created_at,
                )
                for t in tickets
            ]
        )
    assert len(callbacks) == 3  # 2 + 2 + 1 tickets
    ids = [t.pk for t in tickets]
    assert set(Ticket.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Status.TRIAGED
    }
    assert _triaged_events(ids).count() == 5


def test_the_sweep_enqueues_stalled_tickets_by_batches(
    settings, django_capture_on_commit_callbacks
):
    settings.TRIAGE_BATCH_SIZE = 2
    lost = [new_ticket(body=SCHEDULE_QUESTION) for _ in range(3)]
    Ticket.objects.filter(pk__in=[t.pk for t in lost]).update(
        created_at=timezone.now() - timedelta(minutes=20)
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert triage_sweep_stalled() == 3
    assert len(callbacks) == 2
    assert set(Ticket.objects.values_list("status", flat=True)) == {Status.TRIAGED}


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_batch_leaves_a_ticket_another_worker_holds_to_it():
    tickets = [new_ticket(body=SCHEDULE_QUESTION) for _ in range(3)]
    held = tickets[0]
    with held_by_another_worker(held):
        got = ticket_triage_many(ticket_ids=[t.pk for t in tickets])
    assert sorted(t.pk for t in got) == sorted(t.pk for t in tickets[1:])
    assert Ticket.objects.get(pk=held.pk).status == Status.NEW  # left to its holder


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_workers_on_the_same_batches_triage_each_ticket_once():
    ids = [new_ticket(body=SCHEDULE_QUESTION).pk for _ in range(40)]
    start = threading.Barrier(4)
    errors = []

    def worker(order):
        try:
            start.wait(timeout=30)
            for chunk in (order[:20], order[20:]):
                ticket_triage_many(ticket_ids=chunk, batch=10, take_along=True)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    orders = [ids, ids[::-1], ids[10:] + ids[:10], ids[::2] + ids[1::2]]
    threads = [threading.Thread(target=worker, args=(order,)) for order in orders]
    # Workers are separate processes: no shared hint of what another one triaged.
    with mock.patch.object(config_cache, "recently_triaged", config_cache.RecentIds(0)):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors
    assert not Ticket.objects.filter(pk__in=ids, status=Status.NEW).exists()
    assert _triaged_events(ids).count() == 40
    assert set(Ticket.objects.filter(pk__in=ids).values_list("version", flat=True)) == {2}


def test_a_batch_asks_the_classifiers_second_opinion_once_for_all_its_tickets():
    from routing import classifier

    classifier_in_use_calling_level_3(SCHEDULE_QUESTION)
    batch = [new_ticket(body=SCHEDULE_QUESTION) for _ in range(3)]
    with mock.patch.object(
        classifier.Model, "assess_many", autospec=True, side_effect=classifier.Model.assess_many
    ) as runs:
        ticket_triage_many(ticket_ids=[t.pk for t in batch])
    assert runs.call_count == 1
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in batch]):
        assert ticket.level == 2  # the rules said 1; the second opinion sends it for review
        assert "second-avis" in ticket.tags
        assert "second avis du classifieur" in ticket.triage_explanation
