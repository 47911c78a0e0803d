"""The data lifecycle at scale: single-viewer erasure and the nightly retention run.

Load the data once (a dedicated database; the run anonymises what has expired in it):

    createdb -h 127.0.0.1 -U postgres crm_privacy_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_privacy_bench
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py seed_demo --viewers 300000 --tickets 1000000 --years 5 --no-users
    .venv/bin/python bench/retention.py --prepare

(`--prepare` gives the demo data what retention needs and seed_demo does not write: each
viewer created at their first contact, callers' numbers on calls, 200,000 audit lines six
years old), then:

    .venv/bin/python bench/retention.py [--erasures 50] [--seconds 60] [--batch 1000]
    .venv/bin/python bench/retention.py --smoke        # a few seconds, any database

It prints:
1. the dry run (what tonight's run would do: one COUNT per step) and its time;
2. single-viewer erasure, p50 / p95 / max over --erasures viewers with the longest histories,
   each rolled back afterwards (the data stays as loaded);
3. the nightly run for --seconds of real work (committed, batch by batch): per step, rows per
   second and the longest transaction (the longest lock any row saw);
4. an extrapolation to 3.5 M tickets / 10 M contacts.
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
if os.environ.get("BENCH_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frt_crm.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402

from contacts.models import Contact, Ticket, Viewer  # noqa: E402
from privacy.services import retention  # noqa: E402
from privacy.services.erasure import ErasureBlocked, viewer_anonymise  # noqa: E402


class _Rollback(Exception):
    pass


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def bench_dry_run() -> dict:
    started = time.monotonic()
    run = retention.retention_run(dry_run=True)
    seconds = time.monotonic() - started
    print(f"dry run: {seconds:.2f} s")
    for step, s in run.progress.items():
        print(f"  {step:15} would handle {s['found']:>9,}")
    return {step: s["found"] for step, s in run.progress.items()}


def bench_erasures(count: int) -> list[float]:
    # The viewers with the longest histories (the worst case), among those not yet erased.
    ids = list(
        Contact.objects.filter(viewer__is_anonymised=False)
        .values("viewer_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("viewer_id", flat=True)[:count]
    )
    times, rows = [], []
    for pk in ids:
        try:
            with transaction.atomic():
                started = time.monotonic()
                report = viewer_anonymise(viewer_id=pk, reason="bench")
                times.append(time.monotonic() - started)
                rows.append(sum(report.counts.values()))
                raise _Rollback
        except (_Rollback, ErasureBlocked):
            pass
    if times:
        print(
            f"single-viewer erasure over {len(times)} viewers with the longest histories "
            f"({statistics.mean(rows):.0f} rows each on average, max {max(rows)}): "
            f"p50 {pct(times, 0.5) * 1000:.0f} ms, p95 {pct(times, 0.95) * 1000:.0f} ms, "
            f"max {max(times) * 1000:.0f} ms"
        )
    return times


def bench_nightly(seconds: float, batch: int) -> dict:
    """Each step for at most `seconds` (the viewers step within its own share), batch by batch,
    committed; the longest transaction is the longest any row stayed locked."""
    now = timezone.now()
    days = retention.retention_days()
    rates = {}
    for name in retention.STEPS:
        func, kind = retention._STEP_FUNCS[name]
        cursor, done_total, longest, spent, finished = 0, 0, 0.0, 0.0, False
        while not finished and spent < seconds:
            started = time.monotonic()
            found, done, skipped, cursor, finished = func(now, days.get(kind), cursor, batch, False)
            took = time.monotonic() - started
            spent += took
            done_total += done
            # The viewers step commits every VIEWERS_PER_TRANSACTION viewers; the others
            # once per batch.
            parts = -(-found // retention.VIEWERS_PER_TRANSACTION) if name == "viewers" else 1
            longest = max(longest, took / max(parts, 1))
        rate = done_total / spent if spent else 0.0
        rates[name] = rate
        state = "finished" if finished else "time budget reached"
        print(
            f"  {name:15} {done_total:>9,} rows in {spent:6.1f} s = {rate:8.0f} rows/s, "
            f"longest transaction {longest * 1000:.0f} ms ({state})"
        )
    return rates


PREPARE = [
    "UPDATE contacts_viewer v SET created_at = f.first FROM (SELECT viewer_id, min(occurred_at)"
    " AS first FROM contacts_contact GROUP BY viewer_id) f WHERE f.viewer_id = v.id",
    "UPDATE contacts_callrecord SET caller_number = '+3361' || lpad((id % 10000000)::text, 7, '0')"
    " WHERE caller_number = ''",
    "INSERT INTO accounts_auditevent (at, action, object_type, object_id, object_repr, data)"
    " SELECT now() - interval '6 years' + g * interval '1 second', 'bench.old', 'bench', g::text,"
    " '', '{}' FROM generate_series(1, 200000) g",
    "ANALYZE",
]


def prepare() -> None:
    for sql in PREPARE:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(sql)
        print(f"{time.monotonic() - started:6.1f} s  {sql[:70]}…")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few seconds, tiny figures")
    parser.add_argument("--prepare", action="store_true", help="ready seed_demo's data, once")
    parser.add_argument("--erasures", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0, help="per step of the run")
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    if args.prepare:
        prepare()
        return
    if args.smoke:
        args.erasures, args.seconds, args.batch = 5, 1.0, 100
    tickets, contacts = Ticket.objects.count(), Contact.objects.count()
    viewers = Viewer.objects.count()
    print(f"{connection.vendor}: {viewers:,} viewers, {tickets:,} tickets, {contacts:,} contacts")
    found = bench_dry_run()
    bench_erasures(args.erasures)
    print(f"nightly run, batches of {args.batch}, at most {args.seconds:.0f} s per step:")
    rates = bench_nightly(args.seconds, args.batch)
    if not tickets or args.smoke:
        return
    scale = 3_500_000 / tickets
    print("extrapolated to 3.5 M tickets / 10 M contacts (linear in rows; indexes keep the")
    print("per-row cost flat):")
    for step, n in found.items():
        rate = rates.get(step) or 0
        if n and rate:
            first = n * scale / rate
            print(
                f"  {step:15} first run {n * scale:>11,.0f} rows ≈ {first / 60:6.1f} min; "
                f"a night in steady state (1/365 of it) ≈ {first / 365:6.1f} s"
            )


if __name__ == "__main__":
    main()
