"""The staff workspace at one million tickets: server time of the queue page, the ticket page
and the viewer search.

On the seeded PostgreSQL database (1,000,000 tickets, 100,000 viewers), with the workspace's
tables and search indexes added (`migrate replies` adds them and nothing else):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_seed
    .venv/bin/python manage.py migrate replies
    .venv/bin/python bench/workspace_pages.py [--runs 200] [--seed 5]
    .venv/bin/python bench/workspace_pages.py --smoke    # seconds: 5 requests a page

It creates three staff users if missing (bench-ws-agent: call centre, France 2 and 3;
bench-ws-srt: SRT France 2; bench-ws-manager: every brand) and nothing else. Each page is
requested through the Django test client with a logged-in user (past the second factor for
the roles that need one), in-process: the time covers
middleware, queries and template rendering, not the network. After a warm-up it prints, per
page, p50 / p95 / max over --runs requests (each on a different ticket or query, drawn from
the data) and the number of SQL queries of one request. BENCH_DATABASE_URL overrides the
database.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL",
    os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_seed"),
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frt_crm.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import Role, Team, TeamMembership, User  # noqa: E402
from contacts.models import Brand, Ticket, Viewer  # noqa: E402
from contacts.selectors import ticket_scope_q  # noqa: E402


def user(username: str, role: str, *, brands=(), all_brands=False, team: str = "") -> User:
    u, _created = User.objects.get_or_create(
        username=username,
        defaults={"role": role, "all_brands": all_brands, "first_name": "Bench", "last_name": role},
    )
    if brands:
        u.brands.set(Brand.objects.filter(code__in=brands))
    if team:
        TeamMembership.objects.get_or_create(team=Team.objects.get(code=team), user=u)
    return u


def client_for(u: User) -> Client:
    """Signed in as `u`, past the second factor for the roles that need one (managers): a
    confirmed authenticator of the bench's own user, as the sign-in pages leave the session
    after a right code."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts import permissions

    c = Client()
    c.force_login(u)
    if permissions.second_factor_required(u):
        device, _ = TOTPDevice.objects.get_or_create(
            user=u, name="bench", defaults={"confirmed": True}
        )
        session = c.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return c


def measure(c: Client, urls: list[str], *, warmup: int = 5) -> dict:
    for url in urls[:warmup]:
        c.get(url)
    times = []
    for url in urls:
        started = time.perf_counter()
        response = c.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
    with CaptureQueriesContext(connection) as ctx:
        c.get(urls[0])
    times.sort()
    return {
        "n": len(times),
        "p50": statistics.median(times),
        "p95": times[min(len(times) - 1, int(len(times) * 0.95))],
        "max": times[-1],
        "queries": len(ctx.captured_queries),
    }


def sample_tickets(u: User, n: int, rng: random.Random) -> list[int]:
    """Tickets the user may see, spread over the whole table (open and years-old ones)."""
    top = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    found: list[int] = []
    scope = ticket_scope_q(u)
    for _ in range(1000):
        if len(found) >= n:
            break
        ids = [rng.randint(1, top) for _ in range(n * 3)]
        found += list(Ticket.objects.filter(scope, pk__in=ids).values_list("pk", flat=True))
    if not found:
        raise SystemExit(f"{u.username} may see no ticket: load the data first (see above)")
    rng.shuffle(found)
    return found[:n]


def search_queries(n: int, rng: random.Random) -> list[str]:
    """What staff type: names (with accents dropped or added, one typo in some), a first and
    last name, a postcode, an email, a phone number as dictated, a ticket reference."""
    top = Viewer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ids = [rng.randint(1, top) for _ in range(n * 2)]
    viewers = list(Viewer.objects.filter(pk__in=ids).prefetch_related("emails", "phones")[:n])
    refs = list(
        Ticket.objects.filter(pk__in=[rng.randint(1, 1_000_000) for _ in range(n)]).values_list(
            "reference", flat=True
        )
    )
    queries = []
    for i, v in enumerate(viewers):
        kind = i % 7
        if kind == 0:
            queries.append(v.last_name)
        elif kind == 1:
            queries.append(f"{v.first_name} {v.last_name}")
        elif kind == 2:
            queries.append(v.postcode)
        elif kind == 3 and v.emails.all():
            queries.append(v.emails.all()[0].email)
        elif kind == 4 and v.phones.all():
            number = v.phones.all()[0].number.replace("+33", "0")
            queries.append(" ".join(number[i : i + 2] for i in range(0, len(number), 2)))
        elif kind == 5 and refs:
            queries.append(refs[i % len(refs)])
        else:
            name = v.last_name.lower()
            if len(name) > 5:  # a typo: two letters swapped
                j = len(name) // 2
                name = name[:j] + name[j + 1] + name[j] + name[j + 2 :]
            queries.append(name)
    rng.shuffle(queries)
    return queries[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="seconds: 5 requests a page")
    args = parser.parse_args()
    if args.smoke:
        args.runs = 5
    if connection.vendor != "postgresql":
        raise SystemExit("run this on PostgreSQL (DATABASE_URL=postgres://…)")
    rng = random.Random(args.seed)
    tickets = Ticket.objects.count()
    print(
        f"database {connection.settings_dict['NAME']}: {tickets:,} tickets, "
        f"{Viewer.objects.count():,} viewers"
    )
    agent = user("bench-ws-agent", Role.AGENT, brands=["france2", "france3"], team="n1-call-centre")
    srt = user("bench-ws-srt", Role.SRT, brands=["france2"], team="srt-france2")
    manager = user("bench-ws-manager", Role.MANAGER, all_brands=True)

    from urllib.parse import quote

    rows = []
    for label, u in (("agent", agent), ("srt", srt), ("manager", manager)):
        c = client_for(u)
        rows.append((f"queue ({label})", measure(c, ["/queue/"] * args.runs)))
    for label, u in (("agent", agent), ("srt", srt)):
        c = client_for(u)
        urls = [f"/tickets/{pk}/" for pk in sample_tickets(u, args.runs, rng)]
        rows.append((f"ticket page ({label})", measure(c, urls)))
    c = client_for(srt)
    queries = search_queries(args.runs, rng)
    rows.append(("viewer search (srt)", measure(c, [f"/viewers/?q={quote(q)}" for q in queries])))
    viewer_ids = list(
        Ticket.objects.filter(
            ticket_scope_q(srt), pk__in=sample_tickets(srt, args.runs, rng), viewer__isnull=False
        ).values_list("viewer_id", flat=True)
    )
    rows.append(("viewer page (srt)", measure(c, [f"/viewers/{pk}/" for pk in viewer_ids])))

    print(f"{'page':<24} {'runs':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}")
    for name, r in rows:
        print(
            f"{name:<24} {r['n']:>5} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['max']:>8.1f} "
            f"{r['queries']:>8}"
        )


if __name__ == "__main__":
    main()
