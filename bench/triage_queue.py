"""Teams' queues on a large database: time of a queue page (counts + page) per role.

    DATABASE_URL=postgres://…/crm_big .venv/bin/python bench/triage_queue.py [--explain]

Point it at a database filled by `manage.py seed_demo --tickets 3500000` (or any copy of
production). It creates an agent, an SRT officer and a manager inside a transaction that is
rolled back at the end (the database is left as it was), then times `queue_list` (one grouped
count, the programmes' counts, one keyset page) for each: the first page, a filtered page, the
tenth page through the keyset cursor. With --explain it prints PostgreSQL's plans of the
agent's queries. With --smoke (seconds, any database with the migrations' teams and brands),
each query once, plans included.
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
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frt_crm.settings")


def timed(fn, runs: int = 5) -> tuple[float, object]:
    result = None
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="each query once, plans included")
    args = parser.parse_args()
    runs = 1 if args.smoke else 5
    if args.smoke:
        args.explain = True

    import django

    django.setup()
    from django.db import connection, transaction

    from accounts.models import Role, Team, TeamMembership, User
    from contacts.models import OPEN_STATUSES, Brand, Ticket
    from routing import selectors

    total = Ticket.objects.count()
    open_count = Ticket.objects.filter(status__in=list(OPEN_STATUSES)).count()
    print(f"{connection.vendor}: {total:,} tickets, {open_count:,} open")

    with transaction.atomic():
        brands = Brand.objects.filter(code__in=["france2", "france3"])
        agent = User.objects.create(username="bench-queue-agent", role=Role.AGENT)
        agent.brands.set(brands)
        srt = User.objects.create(username="bench-queue-srt", role=Role.SRT)
        srt.brands.set(brands.filter(code="france2"))
        manager = User.objects.create(
            username="bench-queue-manager", role=Role.MANAGER, all_brands=True
        )
        TeamMembership.objects.create(user=agent, team=Team.objects.get(code="n1-call-centre"))
        TeamMembership.objects.create(user=srt, team=Team.objects.get(code="srt-france2"))

        for user, team_code in (
            (agent, "n1-call-centre"),
            (srt, "srt-france2"),
            (manager, None),
        ):
            team = Team.objects.get(code=team_code) if team_code else None
            label = f"{user.role} / {team_code or 'all queues'}"
            ms, page = timed(lambda u=user, t=team: selectors.queue_list(user=u, team=t), runs)
            print(f"{label}: first page {ms:.0f} ms ({page.total:,} open tickets in the queue)")
            ms, _ = timed(
                lambda u=user, t=team: selectors.queue_list(
                    user=u, team=t, filters={"channel": "email", "sla_state": "breached"}
                ),
                runs,
            )
            print(f"{label}: filtered (email, breached) {ms:.0f} ms")
            cursor = page.next_cursor
            for _ in range(8):
                if cursor is None:
                    break
                cursor = selectors.queue_list(user=user, team=team, after=cursor).next_cursor
            if cursor:
                ms, _ = timed(
                    lambda u=user, t=team, c=cursor: selectors.queue_list(user=u, team=t, after=c),
                    runs,
                )
                print(f"{label}: tenth page through the cursor {ms:.0f} ms")

        if args.explain and connection.vendor == "postgresql":
            from django.db.models import Count

            team = Team.objects.get(code="n1-call-centre")
            base = selectors._queue_base(user=agent, team=team)
            page_qs = base.order_by(*selectors._order_and_after("due", None)[0])[:51]
            counts_qs = (
                base.values("status", "brand_id", "topic", "priority", "sla_state", "channel")
                .annotate(n=Count("id"))
                .order_by()
            )
            for name, qs in (("page", page_qs), ("counts", counts_qs)):
                print(f"\n-- plan of the agent's {name} query")
                print(qs.explain(analyze=True))
        transaction.set_rollback(True)


if __name__ == "__main__":
    main()
