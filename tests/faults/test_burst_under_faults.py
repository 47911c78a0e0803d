"""A burst of French viewer mail taken in through `ingest_email` while a fault is injected —
the worker killed with SIGKILL and restarted, the broker restarted empty, the database's
connections cut — then one stalled-ticket sweep: nothing lost, nothing doubled, every ticket
triaged exactly once, none left `new`. Web-form submissions run alongside the burst, so the
outbox carries their acknowledgements through the same faults: after one outbox sweep each is
received by the test's SMTP server exactly once (by Message-ID).

Run on PostgreSQL (CI's PostgreSQL + Redis pass); each test starts its own Redis (on a port of
its own, never the machine's 6379) and its own Celery worker on pytest-django's database:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_faults \\
        .venv/bin/python -m pytest tests/faults -q -p no:cacheprovider

FAULTS_MESSAGES (default 1000) sets the size of each burst. Figures go to
var/ci/faults.json.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from django.db import connection
from django.db.models import Count, Max, Min
from django.utils import timezone

from contacts.models import (
    Brand,
    Contact,
    Direction,
    QuarantineItem,
    Status,
    Ticket,
    TicketEvent,
    TicketEventKind,
    ViewerEmail,
)
from outbox.models import MessageKind, OutboxMessage
from tests.faults import mails
from tests.faults.conftest import Rig
from tests.faults.harness import (
    Delivery,
    Feeder,
    SmtpSink,
    cut_database_connections,
    database_busy,
    run_django,
    wait_until,
)

pytestmark = [
    pytest.mark.faults,
    # Not the in-process (eager) Celery of the other tests: real workers of the test's own.
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MESSAGES = int(os.environ.get("FAULTS_MESSAGES") or 1000)
WARM_UP = 50
# Bounds: the burst's feeding, then the triage's catching up before and after the sweep.
FEED_SECONDS = 240
SETTLE_SECONDS = 60
SWEEP_SECONDS = 90
# Web forms submitted alongside the burst (their acknowledgements go through the outbox).
WEB_FORMS = int(os.environ.get("FAULTS_WEB_FORMS") or 60)
WEB_FORM_BATCH = 10


LAST = 1.01  # `Fault.at`: while the burst's last intake run goes on


@dataclass
class Fault:
    """A fault injected once the feeder has had `at` (0–1) of the burst handled, or, with
    LAST, once the last run of the burst has begun (nothing left to hand over after it)."""

    kind: str
    at: float
    inject: Callable[[Rig, Feeder], dict]
    started: datetime | None = None
    ended: datetime | None = None
    detail: dict = field(default_factory=dict)


def kill_worker(rig: Rig, feeder: Feeder) -> dict:
    """kill -9 of the worker (and its pool) while it has tasks in hand, then a new one."""
    wait_until(lambda: rig.worker.busy() > 0, timeout=15, every=0.01)
    in_hand = rig.worker.kill()
    time.sleep(1.0)
    return {"tasks_in_hand": in_hand, "restart_s": round(rig.worker.start(), 2)}


def restart_broker_empty(rig: Rig, feeder: Feeder) -> dict:
    """Redis killed while the worker has tasks in hand, down 2 s (long enough for an intake
    run to commit while it is away), back empty."""
    wait_until(lambda: rig.worker.busy() > 0, timeout=15, every=0.01)
    queued = rig.redis.queued("triage")
    rig.redis.kill()
    time.sleep(2.0)
    rig.redis.start()
    return {"queued_lost": max(queued, 0)}


def broker_down_until_the_end(rig: Rig, feeder: Feeder) -> dict:
    """Redis killed during the burst's last intake run and back empty once it is over: no
    later intake asks for the triage of what that run committed; the sweep must."""
    queued = rig.redis.queued("triage")
    rig.redis.kill()
    began = time.monotonic()
    feeder.join(timeout=feeder.deadline)
    rig.redis.start()
    return {"queued_lost": max(queued, 0), "down_s": round(time.monotonic() - began, 1)}


def cut_database(rig: Rig, feeder: Feeder) -> dict:
    """pg_terminate_backend while a session (the intake's, a worker's) is in a transaction."""
    wait_until(lambda: database_busy(connection) > 0, timeout=10, every=0.01)
    return {"sessions_cut": cut_database_connections(connection)}


class WebForms(threading.Thread):
    """Viewers submitting the web form while the burst runs, `WEB_FORM_BATCH` per Django
    process, one process after another: each submission writes its acknowledgement to the
    outbox in its own transaction. A submission that a fault breaks (its connection cut) is
    rolled back whole (no contact, no acknowledgement), as a viewer's failed page would be."""

    def __init__(self, *, env: dict, brand_code: str, tag: int, total: int, feeder: Feeder):
        super().__init__(name="faults-webforms", daemon=True)
        self.env, self.brand_code, self.tag, self.total = env, brand_code, tag, total
        self.feeder = feeder
        self.submitted = 0
        self.failed = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        done = 0
        try:
            while done < self.total and self.feeder.is_alive():
                out = run_django(self.env, self._code(done), timeout=120).split()
                self.submitted += int(out[-2])
                self.failed += int(out[-1])
                done += WEB_FORM_BATCH
                time.sleep(1.0)
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _code(self, start: int) -> str:
        return (
            "from django.db import connection\n"
            "from contacts.models import Brand\n"
            "from contacts.services.webform import WebFormInput, webform_submit\n"
            f"brand = Brand.objects.get(code={self.brand_code!r})\n"
            "ok = failed = 0\n"
            f"for i in range({start}, {start + WEB_FORM_BATCH}):\n"
            "    data = WebFormInput(request_type='question', civility='Mme',\n"
            "        first_name='Claire', last_name=f'Faure-{i}',\n"
            f"        email=f'claire.faure.{self.tag}.{{i}}@example.fr',\n"
            "        message=f'Bonjour, à quelle heure est rediffusé le magazine ? ({i})')\n"
            "    try:\n"
            "        webform_submit(brand=brand, data=data, raw=b'{}')\n"
            "        ok += 1\n"
            "    except Exception:\n"
            "        failed += 1\n"
            "        connection.close()\n"
            "print(ok, failed)\n"
        )


# --- the one scenario, three faults ------------------------------------------------------------


def test_nothing_lost_or_doubled_when_the_worker_is_killed_mid_burst(rig, record_figures):
    figures = burst_under_faults(
        rig,
        "worker_killed",
        [Fault("worker SIGKILL + restart", at, kill_worker) for at in (0.25, 0.6)],
    )
    record_figures(figures)
    assert_nothing_lost_nor_doubled(figures, rig)


def test_nothing_lost_or_doubled_when_the_broker_restarts_empty(rig, record_figures):
    figures = burst_under_faults(
        rig,
        "broker_restarted_empty",
        [
            Fault("redis restarted empty", 0.25, restart_broker_empty),
            Fault("redis restarted empty", 0.6, restart_broker_empty),
            Fault("redis down for the last intake run", LAST, broker_down_until_the_end),
        ],
    )
    record_figures(figures)
    assert_nothing_lost_nor_doubled(figures, rig)


def test_nothing_lost_or_doubled_when_the_database_connections_are_cut(rig, record_figures):
    figures = burst_under_faults(
        rig,
        "database_cut",
        [Fault("pg_terminate_backend", at, cut_database) for at in (0.15, 0.35, 0.55, 0.75)],
    )
    record_figures(figures)
    assert_nothing_lost_nor_doubled(figures, rig)


# --- how it runs -------------------------------------------------------------------------------


def burst_under_faults(rig: Rig, scenario: str, faults: list[Fault]) -> dict:
    began = time.monotonic()
    brands = list(
        Brand.objects.filter(is_active=True, parent__isnull=True)
        .exclude(email_address="")
        .values_list("email_address", flat=True)
    )
    assert brands, "no brand has a reply address: the mails would name no brand"

    # Tickets opened before the burst, for its answers to thread onto (no fault yet).
    seed = random.randrange(1 << 30)
    before = mails.warm_up(rig.folder / "avant", count=WARM_UP, brands=brands, seed=seed)
    warm = Feeder(
        env=rig.env, deliveries=_deliveries(before), log=rig.logs / "intake.log", deadline=120
    )
    warm.run()
    assert warm.error is None and all(d.kept for d in warm.deliveries), (
        f"the warm-up was not taken in: {warm.runs}"
    )

    burst = mails.burst(
        rig.folder / "rafale", count=MESSAGES, brands=brands, answered=before, seed=seed + 1
    )
    deliveries = _deliveries(burst.mails)
    # A mail server's redeliveries come later than the first delivery, anywhere after it.
    rng = random.Random(seed + 2)
    by_path = {d.path.name: d for d in deliveries}
    for copy in burst.redeliveries:
        original = by_path[copy.name.replace("-redelivered", "")]
        index = deliveries.index(original)
        deliveries.insert(
            rng.randint(index + 1, len(deliveries)), Delivery(copy, original.message_id)
        )

    feeder = Feeder(
        env=rig.env, deliveries=deliveries, log=rig.logs / "intake.log", deadline=FEED_SECONDS
    )
    brand_code = (
        Brand.objects.filter(is_active=True, parent__isnull=True)
        .exclude(email_address="")
        .values_list("code", flat=True)
        .first()
    )
    web_forms = WebForms(
        env=rig.env, brand_code=brand_code, tag=seed, total=WEB_FORMS, feeder=feeder
    )
    outbox_before = OutboxMessage.objects.aggregate(last=Max("pk"))["last"] or 0
    feeder.start()
    web_forms.start()
    try:
        pending = sorted(faults, key=lambda f: f.at)
        while feeder.is_alive():
            while pending and (
                feeder.progress >= pending[0].at or (pending[0].at == LAST and feeder.last_run)
            ):
                fault = pending.pop(0)
                fault.started = timezone.now()
                fault.detail = fault.inject(rig, feeder)
                fault.ended = timezone.now()
            rig.worker.supervise()
            feeder.join(timeout=0.1)
    finally:
        feeder.stop()
        feeder.join(timeout=30)
        web_forms.join(timeout=150)
    burst_done = time.monotonic()
    assert feeder.error is None, f"the feeder failed: {feeder.error!r}"
    assert web_forms.error is None, f"the web forms failed: {web_forms.error!r}"
    assert not pending, f"faults not injected (the burst ended first): {[f.kind for f in pending]}"

    # The triage catches up with what it was asked; then one sweep for what was lost.
    tickets = Ticket.objects.filter(contacts__message_id__in=_ids(before, burst)).distinct()
    new_before_sweep = _settle(tickets, rig)
    swept = int(
        run_django(
            rig.env,
            "from datetime import timedelta\n"
            "from routing.services.triage import triage_sweep_stalled\n"
            # Every ticket left `new`, however young (not 0: the service reads 0 as "unset").
            "print(triage_sweep_stalled(older_than=timedelta(milliseconds=1)))\n",
        ).strip()
        or 0
    )
    wait_until(
        lambda: not rig.worker.supervise() and not tickets.filter(status=Status.NEW).exists(),
        timeout=SWEEP_SECONDS,
    )
    all_triaged = time.monotonic()
    outbox = _outbox_settle(rig, outbox_before)

    figures = {
        "scenario": scenario,
        "messages": len(burst.mails),
        "warm_up": len(before),
        "redeliveries": len(burst.redeliveries),
        "faults": [
            {
                "kind": f.kind,
                "at_progress": f.at,
                **f.detail,
                **_recovery(f),
            }
            for f in faults
        ],
        # A worker that died (or stopped consuming after an unrecoverable error) and was
        # started again by the test, as a process supervisor would.
        "worker_deaths": rig.worker.deaths,
        "intake_runs": len(feeder.runs),
        "intake_exit_codes": dict(Counter(str(r["exit"]) for r in feeder.runs)),
        "inputs_refed": feeder.refed,
        "new_before_sweep": new_before_sweep,
        "swept": swept,
        "web_forms_submitted": web_forms.submitted,
        "web_forms_failed": web_forms.failed,
        **outbox,
        **check_burst(before, burst, feeder, rig.smtp, outbox_before),
        "burst_seconds": round(burst_done - feeder.started_at, 1),
        "time_to_all_triaged_s": round(all_triaged - burst_done, 1),
        "total_seconds": round(time.monotonic() - began, 1),
    }
    recoveries = [f.get("recovered_s") for f in figures["faults"]]
    figures["time_to_recover_s"] = (
        max(recoveries) if recoveries and None not in recoveries else None
    )
    print(f"\nfaults {scenario}: {figures}")  # noqa: T201 (read with -s; also in faults.json)
    return figures


def _outbox_settle(rig: Rig, after_pk: int) -> dict:
    """Wait for the outbox to drain, then one sweep as the beat would run it once the lost
    messages are due (a minute later) and a dead worker's `sending` rows free (the task's time
    limit later), then wait again. Returns what was left pending, and the sweep's counts."""
    rows = OutboxMessage.objects.filter(pk__gt=after_pk)
    pending = ("queued", "sending", "deferred")
    wait_until(lambda: not rows.filter(state__in=pending).exists(), timeout=30)
    pending_before_sweep = rows.filter(state__in=pending).count()
    swept = run_django(
        rig.env,
        "import json\n"
        "from django.conf import settings\n"
        "from django.utils import timezone\n"
        "from outbox import services\n"
        "later = timezone.now() + services.LOST_AFTER + services._stuck_after()\n"
        "print(json.dumps(services.outbox_sweep(now=later)))\n",
    ).strip()
    wait_until(
        lambda: not rig.worker.supervise() and not rows.filter(state__in=pending).exists(),
        timeout=SWEEP_SECONDS,
    )
    return {
        "outbox_messages": rows.count(),
        "outbox_pending_before_sweep": pending_before_sweep,
        "outbox_sweep": json.loads(swept.splitlines()[-1]) if swept else {},
        "outbox_left_pending": rows.filter(state__in=pending).count(),
        "outbox_states": dict(Counter(rows.values_list("state", flat=True))),
    }


def _deliveries(items: list[mails.Mail]) -> list[Delivery]:
    return [Delivery(m.path, m.message_id) for m in items]


def _ids(before: list[mails.Mail], burst: mails.Burst) -> list[str]:
    return [m.message_id for m in [*before, *burst.mails]]


def _settle(tickets, rig: Rig) -> int:
    """Wait until no ticket is `new`, or their number stays the same for 3 s (what the broker
    lost waits for the sweep); returns how many are left `new`."""
    deadline = time.monotonic() + SETTLE_SECONDS
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        if rig.worker.supervise():
            last, since = -1, time.monotonic()
        left = tickets.filter(status=Status.NEW).count()
        if left == 0:
            return 0
        if left != last:
            last, since = left, time.monotonic()
        elif time.monotonic() - since >= 3:
            break
        time.sleep(0.3)
    return tickets.filter(status=Status.NEW).count()


def _recovery(fault: Fault) -> dict:
    """Seconds from the end of a fault until mail was taken in again, and until a ticket was
    triaged again (the worker's recovery, or the sweep's when nothing else was left)."""

    def first(model, field_name, **filters):
        found = (
            model.objects.filter(**{f"{field_name}__gt": fault.ended}, **filters)
            .aggregate(first=Min(field_name))
            .get("first")
        )
        return round((found - fault.ended).total_seconds(), 2) if found else None

    intake = first(Contact, "created_at", direction=Direction.INBOUND)
    triage = first(TicketEvent, "at", kind=TicketEventKind.TRIAGED)
    seen = [s for s in (intake, triage) if s is not None]  # no intake after the last fault
    return {
        "intake_resumed_s": intake,
        "triage_resumed_s": triage,
        "recovered_s": max(seen) if seen else None,
    }


# --- what must hold ----------------------------------------------------------------------------


def outbox_sent_counts(smtp: SmtpSink, after_pk: int) -> dict[str, int]:
    """How many times the SMTP server received each message of the outbox written during the
    test, by Message-ID (0: never received), with any other Message-ID the server saw (the
    intake and the triage send nothing else)."""
    counts = {
        f"<{mid}>": smtp.sent.get(f"<{mid}>", 0)
        for mid in OutboxMessage.objects.filter(
            pk__gt=after_pk, kind=MessageKind.ACKNOWLEDGEMENT
        ).values_list("message_id", flat=True)
    }
    return {**dict(smtp.sent), **counts}


def check_burst(
    before: list[mails.Mail], burst: mails.Burst, feeder: Feeder, smtp: SmtpSink, after_pk: int
) -> dict:
    """The figures the assertions read: what was lost, doubled, misreported."""
    ids = _ids(before, burst)
    contacts = dict(
        Contact.objects.filter(message_id__in=ids, direction=Direction.INBOUND)
        .values("message_id")
        .annotate(n=Count("id"))
        .values_list("message_id", "n")
    )
    tickets = Ticket.objects.filter(contacts__message_id__in=ids).distinct()
    triaged = dict(
        TicketEvent.objects.filter(ticket__in=tickets, kind=TicketEventKind.TRIAGED)
        .values("ticket_id")
        .annotate(n=Count("id"))
        .values_list("ticket_id", "n")
    )
    ticket_ids = list(tickets.values_list("pk", flat=True))
    # Each answer joins the ticket of the message it answers.
    ticket_of = dict(
        Contact.objects.filter(message_id__in=ids).values_list("message_id", "ticket_id")
    )
    misthreaded = [
        m.message_id
        for m in burst.mails
        if m.kind == "answer"
        and m.message_id in ticket_of
        and ticket_of[m.message_id] != ticket_of.get(m.answers)
    ]
    addresses = {m.sender[1].lower() for m in [*before, *burst.mails]}
    viewers_per_address = (
        ViewerEmail.objects.filter(email__in=addresses)
        .values("email")
        .annotate(n=Count("viewer_id", distinct=True))
        .filter(n__gt=1)
        .count()
    )
    quarantined = list(QuarantineItem.objects.values_list("reason", flat=True)[:20])
    # Each message reported taken in once; its other deliveries (redeliveries, re-feeds of a
    # run that died after its commit) reported `duplicate`.
    taken_in = Counter(
        d.message_id for d in feeder.deliveries if d.kept and d.answers[-1] != "duplicate"
    )
    sent = outbox_sent_counts(smtp, after_pk)
    sent_twice = {mid: n for mid, n in sent.items() if n > 1}
    return {
        "contacts_expected": len(ids),
        "lost": sum(1 for mid in ids if mid not in contacts),
        "duplicated_contacts": sum(n - 1 for n in contacts.values() if n > 1),
        "tickets_expected": len(before) + burst.new_requests,
        "tickets": len(ticket_ids),
        "misthreaded": len(misthreaded),
        "viewers_doubled": viewers_per_address,
        "never_triaged": sum(1 for pk in ticket_ids if triaged.get(pk, 0) == 0),
        "triaged_more_than_once": sum(1 for n in triaged.values() if n > 1),
        "left_new_after_sweep": tickets.filter(status=Status.NEW).count(),
        "quarantined": QuarantineItem.objects.count(),
        "quarantine_reasons": sorted(set(quarantined)),
        "undelivered": sum(1 for d in feeder.deliveries if not d.kept),
        "first_deliveries_misreported_duplicate": len(feeder.misreported),
        "reported_taken_in_twice": sum(1 for n in taken_in.values() if n > 1),
        "sent_twice": len(sent_twice),
        "outbox_never_received": sum(1 for n in sent.values() if n == 0),
        "outbox_received_once": sum(1 for n in sent.values() if n == 1),
    }


def assert_nothing_lost_nor_doubled(figures: dict, rig: Rig) -> None:
    assert figures["undelivered"] == 0, f"inputs never handled by ingest_email: {figures}"
    assert figures["lost"] == 0, f"messages with no contact: {figures}"
    assert figures["duplicated_contacts"] == 0, figures
    assert figures["tickets"] == figures["tickets_expected"], f"tickets lost or doubled: {figures}"
    assert figures["misthreaded"] == 0, figures
    assert figures["viewers_doubled"] == 0, figures
    assert figures["never_triaged"] == 0, f"tickets never triaged: {figures}"
    assert figures["triaged_more_than_once"] == 0, f"tickets triaged twice: {figures}"
    assert figures["left_new_after_sweep"] == 0, f"left `new` after one sweep: {figures}"
    assert figures["reported_taken_in_twice"] == 0, f"a redelivery not `duplicate`: {figures}"
    assert figures["sent_twice"] == 0, f"a message sent twice: {figures}"
    assert figures["outbox_messages"] >= 1, f"no acknowledgement written: {figures}"
    assert figures["outbox_left_pending"] == 0, f"outbox not drained by its sweep: {figures}"
    assert figures["outbox_never_received"] == 0, f"an outbox message never sent: {figures}"
    assert figures["quarantined"] == 0, f"valid mail quarantined by a fault: {figures}"
    assert figures["first_deliveries_misreported_duplicate"] == 0, (
        f"first deliveries reported `duplicate`: {figures}"
    )
