"""The retention policy, applied every night (and as a dry run that says what it would do).

Each step finds what has expired by the policy's days, and works through it in batches of
at most PRIVACY_RETENTION_BATCH rows, each batch its own short transaction (no long locks; an
erasure locks one viewer). A step keeps its cursor in the run's `progress`: a run that stops
(time budget, worker lost) is resumed by the next call, and every step's query only finds
what is still to do, so running twice changes nothing more (idempotent).

Steps:
- `viewers`: viewers whose last contact they initiated (or, without any, their creation) is
  older than `viewer_data` days are anonymised (`viewers_anonymise`, a hundred per
  transaction); held ones and those in an open mediation case are skipped;
- `renewals`: viewers with marketing consent whose data expires within 30 days are asked once
  to renew it;
- `call_numbers`: the caller's number leaves call records older than `call_numbers` days;
- `quarantine`: quarantined inputs older than `quarantine` days lose their raw file and sender;
- `audit`: audit lines older than `audit` days are deleted (the sanctioned purge, see migration
  privacy 0003);
- `access_exports`: access files older than their link's life are deleted.
Published opinions are kept for ever (they name no viewer).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from ..models import LegalHold, PrivacyRequest, RetentionKind, RetentionRule, RetentionRun
from .erasure import ERASED, Target, _delete_files, _pattern, viewers_anonymise

RENEWAL_NOTICE_DAYS = 30
VIEWERS_PER_TRANSACTION = 100
STEPS = ("viewers", "renewals", "call_numbers", "quarantine", "audit", "access_exports")


def retention_days() -> dict[str, int | None]:
    return dict(RetentionRule.objects.values_list("kind", "days"))


def _cutoff(now: datetime, days: int | None) -> datetime | None:
    return None if days is None else now - timedelta(days=days)


# --- what each step finds ----------------------------------------------------------------------


def _initiated_since(cutoff: datetime):
    from contacts.models import Contact, Direction

    return Contact.objects.filter(
        viewer_id=OuterRef("pk"), direction=Direction.INBOUND, occurred_at__gte=cutoff
    )


def expired_viewers(*, now: datetime, days: int):
    from contacts.models import Viewer

    cutoff = _cutoff(now, days)
    held = LegalHold.objects.filter(viewer_id=OuterRef("pk"), lifted_at__isnull=True)
    return (
        Viewer.objects.filter(is_anonymised=False, merged_into__isnull=True, created_at__lt=cutoff)
        .exclude(Exists(_initiated_since(cutoff)))
        .exclude(Exists(held))
    )


def renewal_candidates(*, now: datetime, days: int):
    """Viewers with marketing consent in force whose data expires within the notice period,
    annotated with `last_in` (their last initiated contact)."""
    from contacts.models import ConsentKind, Contact, Direction, Viewer, ViewerConsent

    latest = ViewerConsent.objects.filter(
        viewer_id=OuterRef("pk"), kind=ConsentKind.MARKETING
    ).order_by("-recorded_at", "-id")
    last_in = (
        Contact.objects.filter(viewer_id=OuterRef("pk"), direction=Direction.INBOUND)
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    cutoff = _cutoff(now, days)
    consenting = ViewerConsent.objects.filter(kind=ConsentKind.MARKETING, granted=True)
    return (
        Viewer.objects.filter(
            is_anonymised=False,
            merged_into__isnull=True,
            pk__in=consenting.values("viewer_id"),
        )
        .annotate(consent=Subquery(latest.values("granted")[:1]), last_in=Subquery(last_in))
        .filter(
            consent=True,
            last_in__gte=cutoff,
            last_in__lt=cutoff + timedelta(days=RENEWAL_NOTICE_DAYS),
        )
    )


# --- the steps ---------------------------------------------------------------------------------
# Each takes (now, days, cursor, batch, dry_run) and returns (found, done, skipped, new cursor,
# finished). In a dry run, `found` is the whole count and nothing is changed.

StepResult = tuple[int, int, int, int, bool]


def _step_viewers(now, days, cursor, batch, dry_run) -> StepResult:
    if days is None:
        return 0, 0, 0, cursor, True
    todo = expired_viewers(now=now, days=days)
    if dry_run:
        return todo.count(), 0, 0, cursor, True
    ids = list(todo.filter(pk__gt=cursor).order_by("pk").values_list("pk", flat=True)[:batch])
    done = skipped = 0
    # A viewer brings a few dozen rows: VIEWERS_PER_TRANSACTION keeps each transaction to a
    # few thousand rows.
    for i in range(0, len(ids), VIEWERS_PER_TRANSACTION):
        erased, blocked = viewers_anonymise(
            viewer_ids=ids[i : i + VIEWERS_PER_TRANSACTION], reason="retention"
        )
        done += len(erased)
        skipped += len(blocked)
    return len(ids), done, skipped, ids[-1] if ids else cursor, len(ids) < batch


def _step_renewals(now, days, cursor, batch, dry_run) -> StepResult:
    from contacts.models import ViewerEmail

    from .consent import consent_renewal_request

    if days is None:
        return 0, 0, 0, cursor, True
    todo = renewal_candidates(now=now, days=days)
    if dry_run:
        return todo.count(), 0, 0, cursor, True
    rows = list(todo.filter(pk__gt=cursor).order_by("pk")[:batch])
    done = skipped = 0
    for viewer in rows:
        email = (
            ViewerEmail.objects.filter(viewer=viewer, is_failing=False)
            .order_by("-is_primary", "id")
            .values_list("email", flat=True)
            .first()
        )
        expires_on = timezone.localdate(viewer.last_in + timedelta(days=days))
        with transaction.atomic():
            if email and consent_renewal_request(viewer=viewer, email=email, expires_on=expires_on):
                done += 1
            else:
                skipped += 1
    return len(rows), done, skipped, rows[-1].pk if rows else cursor, len(rows) < batch


def _step_call_numbers(now, days, cursor, batch, dry_run) -> StepResult:
    from contacts.models import CallEvent, CallRecord

    if days is None:
        return 0, 0, 0, cursor, True
    todo = CallRecord.objects.filter(rang_at__lt=_cutoff(now, days)).exclude(caller_number="")
    if dry_run:
        return todo.count(), 0, 0, cursor, True
    with transaction.atomic():
        calls = list(
            todo.filter(pk__gt=cursor).order_by("pk").values_list("pk", "caller_number")[:batch]
        )
        ids = [pk for pk, _ in calls]
        numbers = {pk: n for pk, n in calls}
        for event in CallEvent.objects.filter(call_id__in=ids).only("pk", "call_id", "payload"):
            target = Target([], [], [], [], [], [], _pattern([numbers[event.call_id]]))
            payload = target.redact(event.payload)
            if payload != event.payload:
                CallEvent.objects.filter(pk=event.pk).update(payload=payload)
        CallRecord.objects.filter(pk__in=ids).update(caller_number="")
    return len(ids), len(ids), 0, ids[-1] if ids else cursor, len(ids) < batch


def _step_quarantine(now, days, cursor, batch, dry_run) -> StepResult:
    from contacts.models import QuarantineItem

    if days is None:
        return 0, 0, 0, cursor, True
    todo = QuarantineItem.objects.filter(received_at__lt=_cutoff(now, days)).exclude(raw_file="")
    if dry_run:
        return todo.count(), 0, 0, cursor, True
    with transaction.atomic():
        rows = list(todo.filter(pk__gt=cursor).order_by("pk").values_list("pk", "raw_file")[:batch])
        ids = [pk for pk, _ in rows]
        QuarantineItem.objects.filter(pk__in=ids).update(
            raw_file="", source_detail=ERASED, reason=ERASED, meta={}
        )
        names = [name for _, name in rows if name]
        transaction.on_commit(lambda: _delete_files(names))
    return len(ids), len(ids), 0, ids[-1] if ids else cursor, len(ids) < batch


def _step_audit(now, days, cursor, batch, dry_run) -> StepResult:
    from accounts.models import AuditEvent

    if days is None:
        return 0, 0, 0, cursor, True
    cutoff = _cutoff(now, days)
    todo = AuditEvent.objects.filter(at__lt=cutoff)
    if dry_run:
        return todo.count(), 0, 0, cursor, True
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as c:
                c.execute(
                    "SELECT set_config('crm.audit_purge_before', %s, true)", [cutoff.isoformat()]
                )
        ids = list(todo.order_by("pk").values_list("pk", flat=True)[:batch])
        # The audit queryset refuses deletes on purpose; this purge is the sanctioned one.
        models.QuerySet.delete(AuditEvent.objects.filter(pk__in=ids))
    return len(ids), len(ids), 0, cursor, len(ids) < batch


def _step_access_exports(now, days, cursor, batch, dry_run) -> StepResult:
    if days is None:
        return 0, 0, 0, cursor, True
    todo = PrivacyRequest.objects.filter(built_at__lt=_cutoff(now, days)).filter(
        ~Q(archive="") | ~Q(pdf="")
    )
    if dry_run:
        return todo.count(), 0, 0, cursor, True
    with transaction.atomic():
        rows = list(todo.order_by("pk").values_list("pk", "archive", "pdf")[:batch])
        ids = [r[0] for r in rows]
        PrivacyRequest.objects.filter(pk__in=ids).update(archive="", pdf="", token_nonce="")
        names = [n for r in rows for n in r[1:] if n]
        transaction.on_commit(lambda: _delete_files(names))
    return len(ids), len(ids), 0, cursor, len(ids) < batch


_STEP_FUNCS: dict[str, tuple[Callable[..., StepResult], str]] = {
    "viewers": (_step_viewers, RetentionKind.VIEWER_DATA),
    "renewals": (_step_renewals, RetentionKind.VIEWER_DATA),
    "call_numbers": (_step_call_numbers, RetentionKind.CALL_NUMBERS),
    "quarantine": (_step_quarantine, RetentionKind.QUARANTINE),
    "audit": (_step_audit, RetentionKind.AUDIT),
    "access_exports": (_step_access_exports, RetentionKind.ACCESS_EXPORTS),
}


# --- the run -----------------------------------------------------------------------------------


def _resumable() -> RetentionRun | None:
    """The last real run, if it stopped part-way (time budget or a lost worker)."""
    return (
        RetentionRun.objects.filter(dry_run=False, state=RetentionRun.State.RUNNING)
        .order_by("-started_at", "-id")
        .first()
    )


def retention_run(
    *,
    dry_run: bool = False,
    by=None,
    run_id: int | None = None,
    now: datetime | None = None,
    max_seconds: float | None = None,
    batch: int | None = None,
) -> RetentionRun:
    """Apply (or, dry, count) the retention policy. Resumes the given run, or the last one
    left running; stops after `max_seconds` with the run still `running` (the caller calls
    again with its id). Returns the run, whose `progress` is the report."""
    now = now or timezone.now()
    batch = batch or settings.PRIVACY_RETENTION_BATCH
    max_seconds = settings.PRIVACY_RETENTION_SLICE_SECONDS if max_seconds is None else max_seconds
    run = None
    if not dry_run:
        run = RetentionRun.objects.filter(pk=run_id).first() if run_id is not None else _resumable()
    if run is None or run.state != RetentionRun.State.RUNNING:
        run = RetentionRun.objects.create(dry_run=dry_run, started_by=by)
    days = retention_days()
    started = time.monotonic()
    try:
        for name in STEPS:
            func, kind = _STEP_FUNCS[name]
            state = run.progress.setdefault(
                name, {"found": 0, "done": 0, "skipped": 0, "cursor": 0, "finished": False}
            )
            state["days"] = days.get(kind)
            while not state["finished"]:
                found, done, skipped, cursor, finished = func(
                    now, days.get(kind), state["cursor"], batch, dry_run
                )
                state["found"] += found
                state["done"] += done
                state["skipped"] += skipped
                state["cursor"] = cursor
                state["finished"] = finished
                RetentionRun.objects.filter(pk=run.pk).update(progress=run.progress)
                if not finished and time.monotonic() - started > max_seconds:
                    return run
    except Exception as exc:
        RetentionRun.objects.filter(pk=run.pk).update(
            state=RetentionRun.State.FAILED, error=repr(exc)[:2000], finished_at=timezone.now()
        )
        raise
    run.state, run.finished_at = RetentionRun.State.DONE, timezone.now()
    RetentionRun.objects.filter(pk=run.pk).update(
        state=run.state, finished_at=run.finished_at, progress=run.progress
    )
    return run


def retention_rule_update(*, rule: RetentionRule, days: int | None, note: str, by) -> RetentionRule:
    from accounts.services import audit_record

    from .. import policy

    policy.require(by, "manage")
    old = rule.days
    RetentionRule.objects.filter(pk=rule.pk).update(
        days=days, note=note, updated_at=timezone.now(), updated_by=by
    )
    rule.refresh_from_db()
    audit_record(
        actor=by, action="privacy.retention_rule", obj=rule, data={"from": old, "to": days}
    )
    return rule
