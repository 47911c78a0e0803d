"""The nightly retention run: what expired goes, in batches, resumably and once; a dry run
says what it would do; a consenting viewer is asked once to renew before their data goes."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.models import AuditEvent
from contacts.models import (
    CallRecord,
    ConsentKind,
    Direction,
    QuarantineItem,
    Viewer,
    ViewerConsent,
)
from outbox.models import MessageKind, MessageState, OutboxMessage
from privacy.models import ConsentRenewal, HoldKind, LegalHold, RetentionRule, RetentionRun
from privacy.services.retention import retention_run
from tests.factories import ContactFactory, TicketFactory, ViewerFactory
from tests.markers import requires_postgres

pytestmark = pytest.mark.django_db

YEAR = timedelta(days=365)


def viewer_last_seen(ago: timedelta, *, direction=Direction.INBOUND, **kw):
    viewer = ViewerFactory(created_at=timezone.now() - ago - timedelta(days=30), **kw)
    ticket = TicketFactory(viewer=viewer, created_at=timezone.now() - ago)
    ContactFactory(ticket=ticket, occurred_at=timezone.now() - ago, direction=direction)
    return viewer


def test_viewers_silent_for_three_years_are_anonymised_and_others_kept(manager):
    old = viewer_last_seen(3 * YEAR + timedelta(days=2))
    recent = viewer_last_seen(2 * YEAR)
    # Our answer two years ago does not count: the viewer did not initiate it.
    answered = viewer_last_seen(4 * YEAR)
    ContactFactory(
        ticket=answered.tickets.first(),
        direction=Direction.OUTBOUND,
        occurred_at=timezone.now() - 2 * YEAR,
    )
    held = viewer_last_seen(4 * YEAR)
    LegalHold.objects.create(viewer=held, kind=HoldKind.LEGAL_HOLD, reason="x", placed_by=manager)

    run = retention_run()

    assert run.state == RetentionRun.State.DONE
    anonymised = set(Viewer.objects.filter(is_anonymised=True).values_list("pk", flat=True))
    assert anonymised == {old.pk, answered.pk}
    assert run.progress["viewers"]["done"] == 2
    assert not Viewer.objects.get(pk=recent.pk).is_anonymised
    assert not Viewer.objects.get(pk=held.pk).is_anonymised


def test_a_dry_run_counts_and_changes_nothing():
    viewer_last_seen(4 * YEAR)
    run = retention_run(dry_run=True)
    assert run.dry_run and run.progress["viewers"]["found"] == 1
    assert not Viewer.objects.filter(is_anonymised=True).exists()


def test_the_run_works_in_batches_resumes_and_is_idempotent():
    for _ in range(5):
        viewer_last_seen(4 * YEAR)
    # A time budget of zero stops after the first batch of two: the run stays `running`.
    first = retention_run(batch=2, max_seconds=0)
    assert first.state == RetentionRun.State.RUNNING
    assert Viewer.objects.filter(is_anonymised=True).count() == 2
    # The next call resumes that run and finishes it.
    resumed = retention_run(batch=2, max_seconds=60)
    assert resumed.pk == first.pk and resumed.state == RetentionRun.State.DONE
    assert Viewer.objects.filter(is_anonymised=True).count() == 5
    again = retention_run()
    assert again.pk != first.pk and again.progress["viewers"]["found"] == 0


def test_call_numbers_go_after_six_months_and_the_call_stays():
    old = CallRecord.objects.create(
        call_id="old",
        caller_number="+33612345678",
        rang_at=timezone.now() - timedelta(days=200),
        wait_seconds=12,
    )
    new = CallRecord.objects.create(
        call_id="new", caller_number="+33612345679", rang_at=timezone.now() - timedelta(days=10)
    )
    old.events.create(kind="ring", at=old.rang_at, payload={"from": "+33612345678", "line": "1"})
    retention_run()
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.caller_number == "" and old.wait_seconds == 12
    assert old.events.get().payload == {"from": "[…]", "line": "1"}
    assert new.caller_number == "+33612345679"


def test_quarantined_inputs_lose_their_raw_file_after_thirty_days(
    django_capture_on_commit_callbacks,
):
    from django.core.files.base import ContentFile

    item = QuarantineItem(
        source="email",
        source_detail="x@example.fr",
        raw_sha256="a" * 64,
        reason_code="flood",
        reason="flood from x@example.fr",
        received_at=timezone.now() - timedelta(days=31),
    )
    item.raw_file.save("q.eml", ContentFile(b"From: x@example.fr"), save=True)
    name = item.raw_file.name
    with django_capture_on_commit_callbacks(execute=True):
        retention_run()
    item.refresh_from_db()
    from django.core.files.storage import default_storage

    assert not item.raw_file and "x@example.fr" not in item.source_detail
    assert not default_storage.exists(name)


def test_audit_lines_older_than_five_years_are_purged():
    from django.db import connection

    # `at` is set on insert by the ORM: an old line is written the way a past insert left it.
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO accounts_auditevent (at, action, object_type, object_id, object_repr, "
            "data) VALUES (%s, 'old', 't', '1', '', '{}')",
            [timezone.now() - 6 * YEAR],
        )
    kept = AuditEvent.objects.create(action="new", object_type="t", object_id="2")
    run = retention_run()
    assert run.progress["audit"]["done"] == 1
    assert list(AuditEvent.objects.filter(action__in=["old", "new"])) == [kept]


@requires_postgres
def test_outside_the_purge_the_audit_log_stays_append_only():
    from django.db import DatabaseError, connection, transaction

    event = AuditEvent.objects.create(action="x", object_type="t", object_id="1")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as c:
        c.execute("DELETE FROM accounts_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as c:
        c.execute("UPDATE accounts_auditevent SET action = 'y' WHERE id = %s", [event.pk])


def test_a_consenting_viewer_is_asked_once_to_renew_a_month_before_expiry(
    django_capture_on_commit_callbacks,
):
    viewer = viewer_last_seen(3 * YEAR - timedelta(days=20))
    ViewerConsent.objects.create(
        viewer=viewer, kind=ConsentKind.MARKETING, granted=True, source="web"
    )
    silent = viewer_last_seen(3 * YEAR - timedelta(days=20))  # no consent: not asked
    with django_capture_on_commit_callbacks(execute=True):
        retention_run()
        retention_run()
    assert ConsentRenewal.objects.filter(viewer=viewer).count() == 1
    assert not ConsentRenewal.objects.filter(viewer=silent).exists()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [viewer.emails.get().email]
    assert "List-Unsubscribe" in message.extra_headers
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/donnees/desabonnement/" in message.body
    (row,) = OutboxMessage.objects.filter(kind=MessageKind.CONSENT_RENEWAL)
    assert row.state == MessageState.SENT and row.recipients == message.to


def test_managers_change_the_days_and_the_run_follows():
    viewer = viewer_last_seen(2 * YEAR)
    RetentionRule.objects.filter(kind="viewer_data").update(days=365)
    retention_run()
    assert Viewer.objects.get(pk=viewer.pk).is_anonymised


def test_the_command_prints_what_a_dry_run_would_do():
    viewer_last_seen(4 * YEAR)
    out = StringIO()
    call_command("retention_run", "--dry-run", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["dry_run"] is True and report["viewers"]["found"] == 1
    assert not Viewer.objects.filter(is_anonymised=True).exists()


def test_a_viewer_in_an_open_mediation_case_is_skipped_and_the_batch_goes_on(mediator):
    from mediation.models import Case, CaseTicket

    kept = viewer_last_seen(4 * YEAR)
    gone = viewer_last_seen(4 * YEAR)
    case = Case.objects.create(
        reference="MED-2026-0001",
        title="x",
        desk="news",
        origin="mediator",
        due_on=timezone.localdate(),
    )
    CaseTicket.objects.create(case=case, ticket=kept.tickets.get())
    run = retention_run()
    assert run.progress["viewers"]["skipped"] == 1 and run.progress["viewers"]["done"] == 1
    assert not Viewer.objects.get(pk=kept.pk).is_anonymised
    assert Viewer.objects.get(pk=gone.pk).is_anonymised
