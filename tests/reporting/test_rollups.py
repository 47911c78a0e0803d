"""The rollups: kept current incrementally, and always equal to a rebuild from scratch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.models import Team
from contacts.models import (
    CallRecord,
    Contact,
    Direction,
    Status,
    TicketEvent,
    TicketEventKind,
)
from contacts.services.tickets import ticket_change_status
from reporting.models import RollupState, TicketDaily
from reporting.services.rollup_rows import rule_codes
from reporting.services.rollups import (
    ALL_ROLLUPS,
    rollup_rebuild,
    rollup_refresh,
)
from satisfaction.models import Survey
from tests.factories import TicketFactory, brand
from tests.markers import requires_postgres

from .conftest import NOW, at

pytestmark = pytest.mark.django_db


def snapshot() -> dict[str, set[tuple]]:
    """Every rollup row, without its id: two snapshots are equal when the figures are."""
    out = {}
    for model in ALL_ROLLUPS:
        names = [f.attname for f in model._meta.concrete_fields if f.name != "id"]
        out[model.__name__] = set(model.objects.values_list(*names))
    return out


def totals(**filters) -> dict:
    from django.db.models import Sum

    return TicketDaily.objects.filter(**filters).aggregate(
        created=Sum("created"),
        resolved=Sum("resolved"),
        escalated=Sum("escalated"),
        fcr=Sum("fcr"),
        res_due=Sum("res_due"),
        res_met=Sum("res_met"),
    )


def test_incremental_refresh_equals_rebuild_after_changes(rolled, frozen):
    t = rolled
    before = totals()
    frozen.move_to(NOW + timedelta(hours=1))
    # T10 answered and resolved through the service (writes a status event).
    ticket_change_status(ticket=t[10], to=Status.RESOLVED, by=None)
    # T5 escalated to level 2 (as routing does it: saved ticket and an event).
    t[5].level, t[5].team = 2, Team.objects.get(code="srt-france5")
    t[5].save()
    TicketEvent.objects.create(ticket=t[5], kind=TicketEventKind.ESCALATED, at=NOW)
    # The viewer of T8 writes again: T8 is no longer resolved at the first contact.
    Contact.objects.create(
        ticket=t[8],
        viewer=t[8].viewer,
        channel=t[8].channel,
        direction=Direction.INBOUND,
        occurred_at=NOW,
    )
    # A new ticket today, a survey answered, a call.
    TicketFactory(reference="FTV-2026-000011", brand=brand("france2"), created_at=NOW)
    Survey.objects.filter(ticket=t[8]).update(answered_at=NOW, score=5)
    CallRecord.objects.create(
        call_id="late",
        brand=brand("france2"),
        rang_at=NOW,
        answered_at=NOW,
        wait_seconds=3,
        handling_seconds=200,
    )

    report = rollup_refresh()
    assert not report.skipped
    # Only the touched days were recomputed: T5's, T8's, T10's and today, plus the days of
    # the open tickets saved within the overlap before the watermark (T4's, T6's).
    assert report.ticket_days == 6
    after = totals()
    assert after["created"] == before["created"] + 1
    assert after["resolved"] == before["resolved"] + 1
    assert after["escalated"] == before["escalated"] + 1
    # T8 loses its first-contact resolution, T10 (one message, resolved) gains one.
    assert after["fcr"] == before["fcr"]
    assert TicketDaily.objects.filter(day=at(12, 8).date()).get().fcr == 0
    incremental = snapshot()
    rollup_rebuild()
    assert snapshot() == incremental


def test_a_passing_deadline_changes_the_sla_figures_without_any_write(rolled, frozen):
    before = totals()
    # T5 (letter, open) was due for resolution on 19 March at 09:00.
    frozen.move_to(at(19, 10))
    rollup_refresh()
    after = totals()
    assert after["res_due"] == before["res_due"] + 1
    assert after["res_met"] == before["res_met"]
    incremental = snapshot()
    rollup_rebuild()
    assert snapshot() == incremental


def test_refresh_is_idempotent(rolled, frozen):
    frozen.move_to(NOW + timedelta(minutes=5))
    rollup_refresh()
    first = snapshot()
    rollup_refresh()
    assert snapshot() == first


def test_first_refresh_on_an_empty_state_rebuilds(known):
    assert not RollupState.objects.exists()
    rollup_refresh()
    incremental = snapshot()
    assert incremental["TicketDaily"]
    rollup_rebuild()
    assert snapshot() == incremental


def test_late_registered_contact_with_an_old_date_is_found_by_id(rolled, frozen):
    frozen.move_to(NOW + timedelta(hours=2))
    # A letter of 3 March registered today: its day is long past the watermark.
    Contact.objects.create(
        ticket=rolled[1],
        viewer=rolled[1].viewer,
        channel="letter",
        direction=Direction.INBOUND,
        occurred_at=at(3, 9),
    )
    rollup_refresh()
    incremental = snapshot()
    rollup_rebuild()
    assert snapshot() == incremental


def test_rule_codes_read_any_shape_of_decision():
    assert rule_codes({"matched_rules": ["a", "b"]}) == ["a", "b"]
    assert rule_codes({"rules": [{"code": "c"}]}) == ["c"]
    assert rule_codes({"rule": "d"}) == ["d"]
    assert rule_codes({"matched_rules": [], "source": "classifier"}) == ["(classifier)"]
    assert rule_codes({"source": "rules"}) == []
    assert rule_codes(None) == []
    raised = {"matched_rules": ["info-programme"], "tags": ["second-avis"], "source": "rules"}
    assert rule_codes(raised) == ["info-programme", "(second opinion)"]


def test_overrides_per_rule(known, frozen):
    from reporting.models import RuleDaily

    t = known
    t[1].triage_decision = {"matched_rules": ["replay"], "source": "rules"}
    t[1].save()
    t[2].triage_decision = {"matched_rules": ["replay", "france2"], "source": "rules"}
    t[2].save()
    t[3].triage_decision = {"matched_rules": [], "source": "classifier"}
    t[3].save()
    # T2 re-routed by staff: the event names the rules that had decided.
    TicketEvent.objects.create(
        ticket=t[2],
        kind=TicketEventKind.REROUTED,
        at=at(3, 9),
        data={"rules": ["replay", "france2"]},
    )
    rollup_rebuild()
    rows = {
        r["rule"]: (r["decided"], r["overridden"])
        for r in RuleDaily.objects.values("rule").annotate(
            decided=__import__("django.db.models").db.models.Sum("decided"),
            overridden=__import__("django.db.models").db.models.Sum("overridden"),
        )
    }
    assert rows == {"replay": (2, 1), "france2": (1, 1), "(classifier)": (1, 0)}


def test_task_and_beat_schedule():
    from reporting.tasks import refresh_rollups

    entry = settings.CELERY_BEAT_SCHEDULE["reporting-refresh-rollups"]
    assert entry["task"] == refresh_rollups.name == "reporting.tasks.refresh_rollups"
    assert "reporting.tasks.*" in settings.CELERY_TASK_ROUTES
    assert "reporting.tasks.reconcile_rollups" in {
        e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()
    }


def test_task_runs_the_refresh(known, frozen):
    from reporting.tasks import reconcile_rollups, refresh_rollups

    result = refresh_rollups.apply().get()
    assert result["skipped"] is False and result["days"] > 0
    first = snapshot()
    # The nightly reconciliation finds nothing new to change.
    reconcile_rollups.apply().get()
    assert snapshot() == first


def test_rebuild_rollups_command(known, frozen, capsys):
    call_command("rebuild_rollups")
    assert "ticket days" in capsys.readouterr().out
    first = snapshot()
    call_command("rebuild_rollups", "--incremental")
    call_command("rebuild_rollups", "--reconcile")
    assert snapshot() == first


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_refresh_finding_another_in_progress_skips():
    """Two beat ticks overlapping: the second returns at once instead of queueing."""
    import threading

    from django.db import connection, transaction
    from django.utils import timezone

    RollupState.objects.create(name="main", watermark=timezone.now())
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock():
        try:
            with transaction.atomic():
                RollupState.objects.select_for_update().get(name="main")
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert locked.wait(10)
        assert rollup_refresh().skipped
    finally:
        release.set()
        holder.join()
    assert not rollup_refresh().skipped


def test_the_migration_to_level_first_answers_takes_the_reconciliation_back(db):
    """Reporting 0004: the next nightly reconciliation recomputes the days of every ticket
    saved since `level_first_responded_at` exists (contacts 0004), and no more."""
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    migration = import_module("reporting.migrations.0004_reconcile_since_level_first_answer")
    applied = MigrationRecorder.Migration.objects.get(
        app="contacts", name="0004_ticket_level_first_responded_at"
    ).applied
    later = applied + timedelta(days=1)
    RollupState.objects.create(name="main", watermark=later, reconciled_at=later)
    RollupState.objects.create(name="older", watermark=later, reconciled_at=applied - timedelta(1))
    RollupState.objects.create(name="empty")
    # The function reads the schema editor's connection only.
    migration.rewind_reconciliation(apps, SimpleNamespace(connection=connection))
    states = {s.name: s.reconciled_at for s in RollupState.objects.all()}
    assert states == {"main": applied, "older": applied - timedelta(1), "empty": None}
