"""A batch of mail taken in together (`ingest_email`, `email_ingest_many`): the same outcomes as
one message after the other, with the plain new messages written in a few statements."""

import io
import json
import uuid
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import transaction

from contacts.models import (
    Contact,
    Direction,
    QuarantineItem,
    Status,
    Ticket,
    TicketEvent,
    Viewer,
)
from contacts.services import intake as intake_service
from contacts.services.email_intake import email_ingest, email_ingest_many
from tests.contacts.conftest import TRIAGE_CALLS, eml
from tests.factories import ContactFactory, TicketFactory, ViewerFactory
from tests.markers import requires_broker

pytestmark = pytest.mark.django_db


def mail(
    sender: str,
    subject: str,
    *,
    msgid: str | None,
    in_reply_to: str = "",
    extra: tuple[str, ...] = (),
    body: str = "Bonjour, le journal de 20 h a été coupé.",
) -> bytes:
    head = [
        f"From: Jeanne Martin <{sender}>",
        "To: relations.telespectateurs@france2.fr",
        f"Subject: {subject}",
        "Date: Thu, 26 Mar 2026 09:05:44 +0100",
        "Content-Type: text/plain; charset=utf-8",
        *extra,
    ]
    if msgid:
        head.append(f"Message-ID: <{msgid}>")
    if in_reply_to:
        head.append(f"In-Reply-To: <{in_reply_to}>")
    return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode()


def scenario(tag: str) -> tuple[list[bytes], dict[str, object]]:
    """Every kind of message a batch meets, with addresses and ids of its own (`tag`), so two
    copies can run side by side in one database."""
    known = ViewerFactory(first_name="Karim", last_name="Benali", email=f"k.{tag}@example.fr")
    waiting = TicketFactory(viewer=known, status=Status.WAITING_VIEWER)
    ContactFactory(
        ticket=waiting,
        viewer=known,
        direction=Direction.OUTBOUND,
        message_id=f"out.{tag}@relations.france2.fr",
    )
    known_alone = ViewerFactory(email=f"m.{tag}@example.fr")
    nameless = ViewerFactory(first_name="", email=f"n.{tag}@example.fr")
    earlier = ContactFactory(message_id=f"old.{tag}@x")
    answered = ContactFactory(message_id=f"old2.{tag}@x", ticket__status=Status.IN_PROGRESS)
    resolved = ContactFactory(message_id=f"old3.{tag}@x", ticket__status=Status.RESOLVED)
    closed = ContactFactory(message_id=f"old4.{tag}@x", ticket__status=Status.CLOSED)
    raws = [
        mail(f"a.{tag}@example.fr", "Sous-titres absents", msgid=f"0.{tag}@x"),
        mail(f"b.{tag}@example.fr", "Horaires", msgid=f"1.{tag}@x"),
        mail(f"a.{tag}@example.fr", "Autre sujet", msgid=f"2.{tag}@x"),  # same sender as 0
        mail(f"b.{tag}@example.fr", "Re: Horaires", msgid=f"3.{tag}@x", in_reply_to=f"1.{tag}@x"),
        mail(f"a.{tag}@example.fr", "Sous-titres absents", msgid=f"0.{tag}@x"),  # 0 again
        mail(f"k.{tag}@example.fr", "Une nouvelle question", msgid=f"5.{tag}@x"),  # known
        mail(
            f"k.{tag}@example.fr",
            "Re: Votre demande",
            msgid=f"6.{tag}@x",
            in_reply_to=f"out.{tag}@relations.france2.fr",
        ),
        mail(
            f"ooo.{tag}@example.fr",
            "Absent",
            msgid=f"7.{tag}@x",
            extra=("Auto-Submitted: auto-replied",),
        ),
        eml("garbage.eml"),
        mail(f"d.{tag}@example.fr", "Merci", msgid=f"9.{tag}@x"),
        mail(f"e.{tag}@example.fr", "Sans identifiant", msgid=None, body=f"Texte {tag}."),
        mail(f"f.{tag}@example.fr", "Re: inconnu", msgid=f"11.{tag}@x", in_reply_to="nope@x"),
        mail(f"g.{tag}@example.fr", "Coupure", msgid=f"12.{tag}@x"),
        # Alone in the batch, yet known to the database: a viewer, a Message-ID, a thread.
        mail(f"m.{tag}@example.fr", "Question", msgid=f"13.{tag}@x"),
        mail(f"z.{tag}@example.fr", "Déjà reçu", msgid=f"old.{tag}@x"),
        mail(f"h.{tag}@example.fr", "Re: suite", msgid=f"15.{tag}@x", in_reply_to=f"old2.{tag}@x"),
        # A card to complete; a ticket to reopen; a closed one, followed by a new request.
        mail(f"n.{tag}@example.fr", "Bonjour", msgid=f"16.{tag}@x"),
        mail(
            f"i.{tag}@example.fr", "Re: réglé ?", msgid=f"17.{tag}@x", in_reply_to=f"old3.{tag}@x"
        ),
        mail(f"j.{tag}@example.fr", "Re: fermé", msgid=f"18.{tag}@x", in_reply_to=f"old4.{tag}@x"),
    ]
    fixed = {
        "known": known,
        "known alone": known_alone,
        "nameless": nameless,
        "waiting": waiting,
        "earlier": earlier.ticket,
        "answered": answered.ticket,
        "resolved": resolved.ticket,
        "closed": closed.ticket,
        "earlier viewer": earlier.viewer,
    }
    return raws, fixed


def canonical(outcomes, tag: str, fixed: dict[str, object]) -> list[tuple]:
    """Outcomes with tickets and viewers named by the first message that led to them."""
    tickets = {t.reference: name for name, t in fixed.items() if isinstance(t, Ticket)}
    viewers = {v.pk: name for name, v in fixed.items() if isinstance(v, Viewer)}
    rows = []
    for i, outcome in enumerate(outcomes):
        ticket = viewer = None
        if outcome.ticket:
            ticket = tickets.setdefault(outcome.ticket, f"ticket of {i}")
        if outcome.contact:
            viewer_id = Contact.objects.get(pk=outcome.contact).viewer_id
            viewer = viewers.setdefault(viewer_id, f"viewer of {i}")
        rows.append(
            (
                outcome.status,
                ticket,
                viewer,
                outcome.viewer_email.replace(tag, "*"),
                outcome.subject,
                outcome.body_chars,
                outcome.attachments,
                outcome.reason.split(" (")[0],
            )
        )
    return rows


def test_a_batch_gives_the_outcomes_of_one_message_after_the_other(intake_env):
    one_by_one, fixed_x = scenario("alpha")
    together, fixed_y = scenario("bravo")

    expected = [email_ingest(raw=raw, source_detail=str(i)) for i, raw in enumerate(one_by_one)]
    with transaction.atomic():
        got = email_ingest_many(items=[(raw, str(i)) for i, raw in enumerate(together)])

    assert canonical(got, "bravo", fixed_y) == canonical(expected, "alpha", fixed_x)
    statuses = [o.status for o in got]
    assert statuses == [
        "created",
        "created",
        "created",
        "threaded",
        "duplicate",
        "created",
        "threaded",
        "rejected",
        "rejected",
        "created",
        "created",
        "created",
        "created",
        "created",
        "duplicate",
        "threaded",
        "created",
        "threaded",
        "created",
    ]
    for name in ("waiting", "resolved", "nameless", "answered"):
        fixed_y[name].refresh_from_db()
    assert fixed_y["waiting"].status == Status.IN_PROGRESS  # the viewer answered
    assert fixed_y["resolved"].status == Status.TRIAGED and got[17].reason == "ticket reopened"
    assert Contact.objects.get(pk=got[18].contact).meta["follows"] == fixed_y["closed"].reference
    assert fixed_y["nameless"].first_name == "Jeanne"  # the card completed
    answer = Contact.objects.get(pk=got[15].contact)
    assert fixed_y["answered"].last_inbound_at == answer.occurred_at  # dated by the answer


def test_new_senders_are_written_together_in_a_few_statements(
    intake_env, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    email_ingest(raw=mail("first@example.fr", "Premier", msgid="first@x"))  # the year's counter
    TRIAGE_CALLS.clear()
    raws = [mail(f"n{i}@example.fr", f"Question {i}", msgid=f"n{i}@x") for i in range(20)]

    # Flood counts, duplicates and threads, known senders; then a savepoint around one INSERT
    # per table and the block of references: 11 statements, whatever the batch's size.
    with (
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
        django_assert_max_num_queries(11),
    ):
        outcomes = email_ingest_many(items=[(raw, f"n{i}") for i, raw in enumerate(raws)])

    assert [o.status for o in outcomes] == ["created"] * 20
    tickets = Ticket.objects.filter(reference__in=[o.ticket for o in outcomes])
    assert tickets.count() == 20 and {t.status for t in tickets} == {Status.NEW}
    assert TicketEvent.objects.filter(ticket__in=tickets, kind="created").count() == 20
    assert sorted(TRIAGE_CALLS) == sorted(t.pk for t in tickets)  # each asked for, after commit
    for i, outcome in enumerate(outcomes):
        contact = Contact.objects.select_related("viewer", "ticket").get(pk=outcome.contact)
        assert contact.raw_file.read() == raws[i]  # the raw input, kept as received
        assert contact.ticket.viewer_id == contact.viewer_id
        assert contact.viewer.emails.get().email == f"n{i}@example.fr"
        assert contact.viewer.search_text == f"jeanne martin n{i}@example.fr"


def test_attachments_of_messages_written_together_are_kept(intake_env):
    raws = [eml("attachments_pdf_jpeg.eml"), mail("solo@example.fr", "Photo", msgid="p@x")]

    with transaction.atomic():
        outcomes = email_ingest_many(items=[(raw, "") for raw in raws])

    contact = Contact.objects.get(pk=outcomes[0].contact)
    assert outcomes[0].attachments == contact.attachments.count() > 0
    assert all(a.file.read() for a in contact.attachments.all())


def test_flood_in_a_batch_counts_the_hour_before_it(intake_env):
    intake_env.INTAKE_FLOOD_PER_HOUR = 2
    for i in range(2):
        email_ingest(raw=mail("busy@example.fr", f"Message {i}", msgid=f"busy{i}@x"))

    with transaction.atomic():
        outcomes = email_ingest_many(
            items=[
                (mail("busy@example.fr", "Encore", msgid="busy2@x"), "a"),
                (mail("calm@example.fr", "Bonjour", msgid="calm@x"), "b"),
                (mail("calm2@example.fr", "Bonjour", msgid="calm2@x"), "c"),
            ]
        )

    assert [o.status for o in outcomes] == ["rejected", "created", "created"]
    held = QuarantineItem.objects.get(reason_code="flood")
    assert held.raw_file.read() == mail("busy@example.fr", "Encore", msgid="busy2@x")


def test_a_message_taken_in_elsewhere_meanwhile_is_a_duplicate(intake_env):
    first = email_ingest(raw=mail("race@example.fr", "Course", msgid="race@x"))
    nothing_known = intake_service._Known()

    # Another worker committed "race@x" after the batch looked: the unique constraint decides.
    items = [
        (mail("race@example.fr", "Course", msgid="race@x"), "a"),
        (mail("other@example.fr", "Autre", msgid="other@x"), "b"),
    ]
    with (
        mock.patch.object(intake_service, "_known", return_value=nothing_known),
        transaction.atomic(),
    ):
        outcomes = email_ingest_many(items=items)

    assert [o.status for o in outcomes] == ["duplicate", "created"]
    assert outcomes[0].contact == first.contact
    assert Viewer.objects.filter(emails__email="race@example.fr").count() == 1


def test_ingest_email_prints_each_line_in_order_after_the_batch(intake_env, tmp_path):
    files = []
    for i in range(7):
        path = tmp_path / f"{i}.eml"
        path.write_bytes(mail(f"c{i}@example.fr", f"Sujet {i}", msgid=f"c{i}@x"))
        files.append(str(path))
    out = io.StringIO()

    call_command("ingest_email", "--json", "--batch-size", "3", *files, stdout=out)

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["file"] for line in lines] == files
    assert [line["status"] for line in lines] == ["created"] * 7
    assert [line["subject"] for line in lines] == [f"Sujet {i}" for i in range(7)]


@requires_broker
def test_the_triage_of_a_batch_is_sent_in_one_go_one_message_per_ticket(settings):
    from celery import Celery

    from contacts.services.tickets import _SentTogether

    # A task of its own on a queue no worker reads: the messages stay there to be counted.
    queue = f"intake-batch-probe-{uuid.uuid4().hex[:8]}"
    probe = Celery("probe", broker=settings.CELERY_BROKER_URL, set_as_current=False)
    probe.conf.task_default_queue = queue

    @probe.task(name="probe.triage")
    def triage(ticket_id):  # pragma: no cover - never run
        pass

    _SentTogether(triage).delay([11, 12, 13])

    with probe.connection_for_read() as connection:
        received = connection.SimpleQueue(queue)
        try:
            bodies = [received.get(timeout=5) for _ in range(3)]
            for message in bodies:
                message.ack()  # or closing the queue would put them back
            assert [m.payload[0] for m in bodies] == [[11], [12], [13]]
            assert [m.headers["task"] for m in bodies] == ["probe.triage"] * 3
        finally:
            received.queue.delete()
            received.close()
