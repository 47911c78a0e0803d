"""The triage task: applied once, stored with its reasons, found again when lost."""

from datetime import timedelta
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.db import OperationalError
from django.utils import timezone

from contacts.models import (
    Contact,
    Direction,
    SenderKind,
    Status,
    Ticket,
    TicketEvent,
    TicketEventKind,
)
from contacts.services import ticket_open
from routing import classifier
from routing.services import classifier_store, facts_for_tickets, ticket_triage
from routing.services.triage import triage_sweep_stalled
from routing.tasks import triage_ticket
from tests.factories import TicketFactory, ViewerFactory, brand
from tests.markers import requires_postgres
from tests.routing.helpers import held_by_another_worker, new_ticket

pytestmark = pytest.mark.django_db

MEDIATOR_REQUEST = (
    "Bonjour, votre réponse ne me satisfait pas du tout. Je demande que le médiateur "
    "examine ma réclamation sur le reportage du journal."
)
SCHEDULE_QUESTION = "Bonjour, quand sera rediffusé le documentaire sur les abeilles ? Merci."


def test_opening_a_ticket_enqueues_its_triage_after_commit(django_capture_on_commit_callbacks):
    viewer = ViewerFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ticket = ticket_open(
            channel="email", brand=brand("france2"), viewer=viewer, subject="Rediffusion"
        )
        Contact.objects.create(
            ticket=ticket,
            viewer=viewer,
            channel="email",
            direction=Direction.INBOUND,
            subject="Rediffusion",
            body_text=SCHEDULE_QUESTION,
        )
    assert len(callbacks) == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.TRIAGED
    assert ticket.level == 1
    assert ticket.team.code == "n1-call-centre"


def test_triage_twice_gives_one_decision_and_one_event():
    ticket = new_ticket(subject="Réclamation", body=MEDIATOR_REQUEST)
    triage_ticket(ticket.pk)
    first = Ticket.objects.get(pk=ticket.pk)
    triage_ticket(ticket.pk)  # the broker redelivered the message
    again = Ticket.objects.get(pk=ticket.pk)
    assert first.status == Status.TRIAGED
    assert again.version == first.version
    assert again.triaged_at == first.triaged_at
    events = TicketEvent.objects.filter(ticket=ticket, kind=TicketEventKind.TRIAGED)
    assert events.count() == 1


def test_triage_does_nothing_to_a_ticket_already_moved_on():
    ticket = TicketFactory(status=Status.IN_PROGRESS, level=2)
    assert ticket_triage(ticket_id=ticket.pk) is None
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    assert ticket.level == 2


def test_triage_stores_the_decision_its_reasons_and_the_policy_version():
    ticket = new_ticket(subject="Réclamation", body=MEDIATOR_REQUEST)
    ticket = ticket_triage(ticket_id=ticket.pk)
    assert ticket.level == 3
    assert ticket.team.code.startswith("mediator-")
    assert ticket.triage_policy_version == "2026.2"
    assert "médiateur" in ticket.triage_explanation
    assert ticket.triage_decision["level"] == 3
    assert ticket.triage_decision["matched_rules"]
    assert ticket.first_response_due_at and ticket.resolution_due_at
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEventKind.TRIAGED)
    assert event.data["rules"] == ticket.triage_decision["matched_rules"]
    assert event.data["policy_version"] == "2026.2"


def test_a_request_for_information_stays_at_level_1_with_the_call_centre():
    ticket = ticket_triage(ticket_id=new_ticket(body=SCHEDULE_QUESTION).pk)
    assert (ticket.level, ticket.team.code, ticket.topic) == (1, "n1-call-centre", "programme_info")


def test_a_database_error_schedules_a_retry_with_backoff():
    ticket = new_ticket(body=SCHEDULE_QUESTION)
    failure = OperationalError("server closed the connection unexpectedly")
    with (
        mock.patch("routing.services.ticket_triage", side_effect=failure),
        pytest.raises(Retry),
    ):
        triage_ticket.apply(args=[ticket.pk])
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW
    assert OperationalError in triage_ticket.autoretry_for
    assert triage_ticket.retry_backoff
    triage_ticket.apply(args=[ticket.pk])  # the retry, once the database is back
    assert Ticket.objects.get(pk=ticket.pk).status == Status.TRIAGED


def test_the_sweep_enqueues_tickets_left_new_again(django_capture_on_commit_callbacks):
    lost = new_ticket(body=SCHEDULE_QUESTION)
    Ticket.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=20))
    fresh = new_ticket(body=SCHEDULE_QUESTION)
    done = TicketFactory(status=Status.TRIAGED, created_at=timezone.now() - timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert triage_sweep_stalled() == 1
    assert len(callbacks) == 1
    assert Ticket.objects.get(pk=lost.pk).status == Status.TRIAGED
    assert Ticket.objects.get(pk=fresh.pk).status == Status.NEW
    assert Ticket.objects.get(pk=done.pk).version == done.version


def test_a_sweep_asked_for_every_ticket_left_new_takes_even_the_fresh_one(
    django_capture_on_commit_callbacks,
):
    """older_than=0 means "every ticket still new" (the fault-injection tests' sweep), not the
    default delay: a falsy timedelta used to fall back to TRIAGE_STALLED_AFTER_MINUTES."""
    fresh = new_ticket(body=SCHEDULE_QUESTION)
    Ticket.objects.filter(pk=fresh.pk).update(created_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert triage_sweep_stalled(older_than=timedelta(0)) == 1
    assert Ticket.objects.get(pk=fresh.pk).status == Status.TRIAGED


def _contact(ticket, direction, at, subject=""):
    return Contact.objects.create(
        ticket=ticket,
        viewer=ticket.viewer,
        channel="email",
        direction=direction,
        subject=subject,
        body_text="…",
        occurred_at=at,
    )


def test_facts_count_the_viewers_history_as_it_was_when_the_ticket_arrived():
    viewer = ViewerFactory(sender_kind=SenderKind.PRESS)
    now = timezone.now()
    days = timedelta(days=1)
    earlier = TicketFactory(
        viewer=viewer,
        subject="Journal de 20h",
        status=Status.RESOLVED,
        created_at=now - 10 * days,
        resolved_at=now - 8 * days,
    )
    _contact(earlier, Direction.INBOUND, now - 10 * days, "Journal de 20h")
    _contact(earlier, Direction.OUTBOUND, now - 9 * days, "RE: Journal de 20h")
    other = TicketFactory(
        viewer=viewer,
        subject="Re: journal de 20h !",
        status=Status.IN_PROGRESS,
        created_at=now - 5 * days,
    )
    _contact(other, Direction.INBOUND, now - 5 * days, "Re: journal de 20h !")
    unrelated = TicketFactory(
        viewer=viewer,
        subject="Météo",
        status=Status.CLOSED,
        created_at=now - 20 * days,
        resolved_at=now - 19 * days,
    )
    _contact(unrelated, Direction.INBOUND, now - 20 * days, "Météo")
    ticket = new_ticket(subject="TR: Journal de 20h", body="Encore moi.", viewer=viewer)
    _contact(other, Direction.OUTBOUND, ticket.created_at + timedelta(hours=1))  # after: unseen

    ticket = Ticket.objects.select_related("brand", "programme", "viewer").get(pk=ticket.pk)
    facts = facts_for_tickets([ticket])[ticket.pk]
    assert facts.open_tickets == 1
    assert facts.earlier_answers == 1
    assert facts.repeat_contacts_same_subject == 2
    assert facts.sender_kind == "press"
    assert facts.brand == "france2"
    assert facts.body == "Encore moi."


def test_the_classifier_decides_only_where_no_rule_did_and_when_confident(settings):
    texts = ["zorglub quantique gribouille"] * 4 + ["blorp vermicelle tartempion"] * 4
    model = classifier.train(
        texts=texts, topics=["sport"] * 4 + ["praise"] * 4, levels=[2] * 4 + [1] * 4
    )
    classifier_store(model=model, metrics={}, source="test", examples=8, by=None, activate=True)

    settings.TRIAGE_CLASSIFIER_THRESHOLD = 0.0
    unknown = ticket_triage(ticket_id=new_ticket(body="zorglub quantique gribouille").pk)
    assert unknown.triage_decision["source"] == "classifier"
    assert unknown.topic == "sport"
    assert "classifieur" in unknown.triage_explanation

    ruled = ticket_triage(ticket_id=new_ticket(body=SCHEDULE_QUESTION).pk)
    assert ruled.triage_decision["source"] == "rules"

    from routing.services import reset_caches

    reset_caches()
    settings.TRIAGE_CLASSIFIER_THRESHOLD = 1.0
    unsure = ticket_triage(ticket_id=new_ticket(body="zorglub quantique gribouille").pk)
    assert unsure.triage_decision["source"] != "classifier"


def test_a_worker_takes_waiting_tickets_along_in_one_batch():
    tickets = [new_ticket(body=SCHEDULE_QUESTION) for _ in range(5)]
    Ticket.objects.filter(pk=tickets[4].pk).update(
        created_at=timezone.now() - timedelta(minutes=1)
    )  # the oldest waiting ticket
    got = ticket_triage(ticket_id=tickets[2].pk, batch=3)
    assert got.pk == tickets[2].pk
    states = dict(Ticket.objects.values_list("pk", "status"))
    assert [states[t.pk] for t in tickets] == [
        Status.TRIAGED,
        Status.NEW,
        Status.TRIAGED,
        Status.NEW,
        Status.TRIAGED,
    ]
    assert TicketEvent.objects.filter(kind=TicketEventKind.TRIAGED).count() == 3
    # The batched tickets' own messages then find nothing to do.
    assert ticket_triage(ticket_id=tickets[4].pk, batch=3) is None


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_whose_ticket_another_holds_takes_the_next_waiting_batch():
    tickets = [new_ticket(body=SCHEDULE_QUESTION) for _ in range(4)]
    held = tickets[0]
    with held_by_another_worker(held):
        assert ticket_triage(ticket_id=held.pk, batch=2) is None
    states = dict(Ticket.objects.values_list("pk", "status"))
    assert states[held.pk] == Status.NEW  # left to the worker that holds it
    assert [states[t.pk] for t in tickets[1:]].count(Status.TRIAGED) == 2
