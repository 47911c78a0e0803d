"""Dashboards at ten years of history: server time per page and the rollups' refresh time.

Load the data once (several minutes; the database is dedicated to this benchmark):

    createdb -h 127.0.0.1 -U postgres crm_bench_reporting
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_reporting
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py seed_demo --viewers 300000 --tickets 3500000 --years 10 --no-users
    .venv/bin/python manage.py seed_activity
    .venv/bin/python manage.py rebuild_rollups

then:

    .venv/bin/python bench/dashboards.py [--runs 20] [--periods 28d,90d,365d]
    .venv/bin/python bench/dashboards.py --smoke   # seconds: every page at 28d, one refresh

It prints, for each dashboard page and period, the server time (Django test client, a logged-in
manager past the second factor, in-process: request, queries, template) p50 and p95 over --runs
requests after a warm-up, and the number of SQL queries (the cost model twice: with its Erlang C
figures memoised, as between two refreshes, and cold); then the incremental refresh of the
rollups after a burst of realistic activity (new tickets with their contact, status changes,
escalations, survey answers, calls), p50 and max over --refreshes rounds, and a refresh with
nothing to do. The activity it adds stays in the benchmark database (a few hundred rows).
BENCH_DATABASE_URL overrides the database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL",
    os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_bench_reporting"),
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frt_crm.settings")

import django  # noqa: E402

django.setup()

from datetime import timedelta  # noqa: E402

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Role, Team, User  # noqa: E402
from contacts.models import (  # noqa: E402
    OPEN_STATUSES,
    CallRecord,
    Contact,
    Direction,
    Status,
    Ticket,
    TicketEvent,
    TicketEventKind,
)
from contacts.services.tickets import ticket_change_status  # noqa: E402
from reporting import costmodel  # noqa: E402
from reporting.models import RollupState, TicketDaily  # noqa: E402
from reporting.services.rollups import rollup_refresh  # noqa: E402
from satisfaction.models import Survey  # noqa: E402

PAGES = [
    ("overview", "/dashboards/"),
    ("volumes", "/dashboards/volumes/"),
    ("volumes by programme", "/dashboards/volumes/?dimension=programme"),
    ("volumes by topic", "/dashboards/volumes/?dimension=topic"),
    ("service levels", "/dashboards/service/"),
    ("satisfaction", "/dashboards/satisfaction/"),
    ("trends", "/dashboards/trends/"),
    ("cost model", "/dashboards/cost/"),
    # The Erlang C figures are memoised between refreshes; "cold" clears them first, as the
    # first view after a refresh finds them.
    ("cost model (cold)", "/dashboards/cost/"),
    ("tickets (list)", "/dashboards/tickets/"),
    ("tickets: res. late", "/dashboards/tickets/?metric=res_breached"),
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def manager() -> User:
    user, _ = User.objects.get_or_create(
        username="bench-manager", defaults={"role": Role.MANAGER, "all_brands": True}
    )
    return user


def signed_in(user: User) -> Client:
    """A client signed in as `user`, past the second factor (managers need one): a confirmed
    authenticator of the bench's own user, as the sign-in pages leave the session after a right
    code."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="bench", defaults={"confirmed": True}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def time_pages(client: Client, periods: list[str], runs: int) -> None:
    print(f"\nServer time per page ({runs} requests after 2 warm-ups; ms)")
    print(f"{'page':<24} {'period':>6} {'p50':>8} {'p95':>8} {'max':>8} {'queries':>8}")
    worst = 0.0
    for label, url in PAGES:
        for period in periods:
            sep = "&" if "?" in url else "?"
            full = f"{url}{sep}period={period}"
            for _ in range(2):
                status = client.get(full).status_code
                if status != 200:
                    sys.exit(f"{full}: HTTP {status}")
            times = []
            for _ in range(runs):
                if "cold" in label:
                    costmodel.monthly_cost.cache_clear()
                    costmodel.sensitivity.cache_clear()
                started = time.perf_counter()
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(full)
                times.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    sys.exit(f"{full}: HTTP {response.status_code}")
            p95 = pct(times, 0.95)
            worst = max(worst, p95) if period == periods[0] else worst
            print(
                f"{label:<24} {period:>6} {statistics.median(times):8.1f} {p95:8.1f} "
                f"{max(times):8.1f} {len(queries):8d}"
            )
    print(f"worst p95 at the default period ({periods[0]}): {worst:.1f} ms")


def activity(round_no: int) -> dict[str, int]:
    """A few minutes of a busy day: new tickets, status changes, escalations, survey answers,
    calls, a late letter."""
    now = timezone.now()
    team = Team.objects.get(code="n1-call-centre")
    open_ids = list(
        Ticket.objects.filter(status__in=[Status.TRIAGED, Status.IN_PROGRESS])
        .order_by("-created_at")
        .values_list("pk", flat=True)[round_no * 60 : round_no * 60 + 60]
    )
    new = Ticket.objects.bulk_create(
        [
            Ticket(
                reference=f"B{round_no:03d}-{i:05d}-{int(now.timestamp()) % 100000}",
                channel="email",
                level=1,
                team=team,
                status=Status.TRIAGED,
                topic="programme_info",
                created_at=now,
                first_response_due_at=now + timedelta(days=2),
                resolution_due_at=now + timedelta(days=5),
            )
            for i in range(150)
        ]
    )
    Contact.objects.bulk_create(
        [
            Contact(ticket=t, channel="email", direction=Direction.INBOUND, occurred_at=now)
            for t in new
        ]
    )
    changed = 0
    for pk in open_ids[:40]:
        ticket = Ticket.objects.get(pk=pk)
        ticket_change_status(ticket=ticket, to=Status.RESOLVED, by=None)
        changed += 1
    for pk in open_ids[40:60]:
        TicketEvent.objects.create(ticket_id=pk, kind=TicketEventKind.ESCALATED, at=now)
        Ticket.objects.filter(pk=pk).update(level=2)
    answered = 0
    for survey in Survey.objects.filter(answered_at__isnull=True).order_by("-sent_at")[:30]:
        survey.answered_at, survey.score = now, 4
        survey.save(update_fields=["answered_at", "score"])
        answered += 1
    CallRecord.objects.bulk_create(
        [
            CallRecord(
                call_id=f"bench-{round_no}-{i}-{int(now.timestamp())}",
                rang_at=now - timedelta(seconds=i * 20),
                answered_at=now,
                wait_seconds=i % 40,
                handling_seconds=240,
            )
            for i in range(80)
        ]
    )
    # A letter of three weeks ago, registered only now.
    old = Ticket.objects.filter(created_at__lt=now - timedelta(days=21)).order_by("-pk").first()
    Contact.objects.create(
        ticket=old,
        channel="letter",
        direction=Direction.INBOUND,
        occurred_at=now - timedelta(days=21),
    )
    return {"new": len(new), "resolved": changed, "escalated": 20, "answers": answered}


def time_refresh(rounds: int) -> None:
    print("\nIncremental refresh of the rollups (after each burst of activity)")
    rollup_refresh()  # catch up first
    times = []
    for r in range(rounds):
        done = activity(r)
        started = time.perf_counter()
        report = rollup_refresh()
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        finding = report.detail.get("find_seconds", 0) * 1000
        print(
            f"  round {r + 1}: {done['new']} new tickets, {done['resolved']} resolved, "
            f"{done['escalated']} escalated, {done['answers']} survey answers, 80 calls, 1 late "
            f"letter → {report.ticket_days} ticket days, {report.survey_days} survey days, "
            f"{report.call_days} call days, {report.contact_days} contact days in "
            f"{elapsed * 1000:.0f} ms (finding them: {finding:.0f} ms)"
        )
    started = time.perf_counter()
    idle = rollup_refresh()
    idle_ms = (time.perf_counter() - started) * 1000
    print(
        f"refresh p50 {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms; "
        f"with nothing new: {idle_ms:.0f} ms ({idle.days} days)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--periods", default="28d,90d,365d")
    parser.add_argument("--refreshes", type=int, default=5)
    parser.add_argument("--skip-refresh", action="store_true")
    parser.add_argument(
        "--smoke", action="store_true", help="seconds: each page twice at 28d, one refresh round"
    )
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.periods, args.refreshes, args.skip_refresh = 2, "28d", 1, False
    if connection.vendor != "postgresql":
        sys.exit("This benchmark runs on PostgreSQL: set BENCH_DATABASE_URL or DATABASE_URL.")
    tickets = Ticket.objects.count()
    state = RollupState.objects.filter(name="main").first()
    if state is None or not TicketDaily.objects.exists():
        sys.exit("No rollups yet: run `manage.py rebuild_rollups` first (see the docstring).")
    open_now = Ticket.objects.filter(status__in=sorted(OPEN_STATUSES)).count()
    print(
        f"{tickets:,} tickets ({open_now:,} open), {Contact.objects.count():,} contacts, "
        f"{CallRecord.objects.count():,} calls, {Survey.objects.count():,} surveys; "
        f"rollups: {TicketDaily.objects.count():,} daily ticket rows"
    )
    client = signed_in(manager())
    time_pages(client, [p for p in args.periods.split(",") if p], args.runs)
    if not args.skip_refresh:
        time_refresh(args.refreshes)


if __name__ == "__main__":
    main()
