"""Throughput of the intake on PostgreSQL: `ingest_email` and POST /api/v1/contacts/, beside a
bare Django + DRF view that inserts one row, measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_intake_bench \\
        .venv/bin/python bench/intake_throughput.py [--n 1000]
    .venv/bin/python bench/intake_throughput.py --smoke     # seconds: n=20, the same paths

The database is migrated (earlier bench rows stay: the look-ups run against a growing
database). With a Redis on loopback, the Celery broker and cache are its database
BENCH_REDIS_DB (default 3; CELERY_BROKER_URL/REDIS_URL, if set, win): triage is enqueued as in
production, and the queues are purged afterwards; without it, triage is left out.

Prints, for each path, contacts/s, p50/p95 latency, SQL statements and this process's CPU time
per contact. `ingest_email` commits in batches of 50: its latency is that of a batch (a message
is stored once its batch commits). It runs in-process twice, new senders only, then a mix
(half new senders, a quarter known senders with a new request, a quarter answers to earlier
messages), and once as a command of its own (start-up included). The API and the bare view
take turns request by request, so that the load of the machine weighs on both alike.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frt_crm.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_intake_bench")


def _redis_up() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


REDIS = _redis_up() and not os.environ.get("BENCH_NO_REDIS")
if REDIS:
    _db = os.environ.get("BENCH_REDIS_DB", "3")
    os.environ.setdefault("CELERY_BROKER_URL", f"redis://127.0.0.1:6379/{_db}")
    os.environ.setdefault("REDIS_URL", f"redis://127.0.0.1:6379/{_db}")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="bench-media-"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.urls import include, path  # noqa: E402
from rest_framework import serializers  # noqa: E402
from rest_framework.parsers import JSONParser  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from accounts.models import AuditEvent  # noqa: E402
from contacts.api.auth import IntegrationTokenAuthentication, MayPostContacts  # noqa: E402
from contacts.models import IntegrationClient  # noqa: E402

FIRST = ["Jeanne", "Paul", "Camille", "Louis", "Nadia", "Hugo", "Léa", "Yann", "Maëlle", "René"]
LAST = ["Martin", "Le Gall", "Dubois", "Nguyen", "Girard", "Kerbrat", "Moreau", "Benali"]
TOPICS = [
    ("Sous-titres absents", "les sous-titres ont disparu pendant le journal de 20 h"),
    ("Horaire de rediffusion", "à quelle heure est rediffusé le magazine de dimanche"),
    ("Coupure du match", "le match a été coupé avant la fin, c'est inadmissible"),
    ("Merci", "merci pour ce très beau documentaire sur la Bretagne"),
]


# --- the bare view: DRF, token authentication, one INSERT ---------------------------------------


class BareSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=128)
    body = serializers.CharField()


class BareView(APIView):
    authentication_classes = [IntegrationTokenAuthentication]
    permission_classes = [MayPostContacts]
    parser_classes = [JSONParser]

    def post(self, request):
        serializer = BareSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = AuditEvent.objects.create(
            action="bench.bare",
            object_type="bench",
            object_id=serializer.validated_data["external_id"],
        )
        return Response({"id": row.pk}, status=201)


urlpatterns = [path("bench/bare/", BareView.as_view()), path("", include("frt_crm.urls"))]


# --- inputs ------------------------------------------------------------------------------------


def make_email(i: int, run: str, *, sender: str = "", in_reply_to: str = "") -> bytes:
    first, last = random.choice(FIRST), random.choice(LAST)
    subject, text = random.choice(TOPICS)
    body = (
        f"Bonjour,\n\nJe vous écris car {text}.\nPouvez-vous me répondre ?\n\n"
        f"Cordialement,\n{first} {last}\n"
    ) * 3
    reply = f"In-Reply-To: <{in_reply_to}>\r\n" if in_reply_to else ""
    return (
        f"From: {first} {last} <{sender or f'{run}.{i}@example.fr'}>\r\n"
        f"To: {settings.DEFAULT_FROM_EMAIL}\r\n"
        f"Subject: {'Re: ' if reply else ''}{subject} ({i})\r\n"
        f"Message-ID: <bench-{run}-{i}@example.fr>\r\n{reply}"
        f"Date: Mon, 02 Mar 2026 10:00:00 +0100\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n{body}"
    ).encode()


def make_mixed_email(i: int, run: str, earlier: str, n: int) -> bytes:
    """Half new senders, a quarter known senders with a new subject, a quarter replies to an
    earlier message (run `earlier` of n messages)."""
    other = random.randrange(n)
    if i % 4 == 1:
        return make_email(i, run, sender=f"{earlier}.{other}@example.fr")
    if i % 4 == 3:
        return make_email(
            i,
            run,
            sender=f"{earlier}.{other}@example.fr",
            in_reply_to=f"bench-{earlier}-{other}@example.fr",
        )
    return make_email(i, run)


def make_payload(i: int, run: str) -> dict:
    # Varied names and postcodes, as real senders are (a tiny pool would make every sender a
    # namesake of earlier ones, and record possible duplicates each time).
    first, last = random.choice(FIRST), f"{random.choice(LAST)}-{random.randrange(10**6)}"
    subject, text = random.choice(TOPICS)
    return {
        "external_id": f"{run}-{i}",
        "channel": "web",
        "brand": "france2",
        "subject": subject,
        "body": f"Bonjour, {text}. Merci de me répondre.",
        "sender": {
            "email": f"api.{run}.{i}@example.fr",
            "first_name": first,
            "last_name": last,
            "postcode": f"{random.randrange(1000, 96000):05d}",
        },
    }


class _Counter:
    """Counts SQL statements and this process's CPU time: figures that a busy machine does
    not distort the way it distorts wall-clock latency."""

    def __init__(self):
        self.statements = 0
        self.cpu = 0.0

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        return execute(sql, params, many, context)

    def __enter__(self):
        self._started = time.process_time()
        self._cm = connection.execute_wrapper(self)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc):
        self._cm.__exit__(*exc)
        self.cpu += time.process_time() - self._started


def summary(name: str, latencies: list[float], wall: float, n: int, counter=None) -> dict:
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    row = {"path": name, "n": n, "per_s": n / wall, "p50_ms": q[49] * 1000}
    row["p95_ms"] = q[94] * 1000
    extra = ""
    if counter is not None:
        row["cpu_ms"], row["sql"] = counter.cpu / n * 1000, counter.statements / n
        extra = f"   {counter.statements / n:4.1f} SQL/op, {counter.cpu / n * 1000:5.2f} ms CPU/op"
    print(
        f"{name:<34} {n:>6} {row['per_s']:>9.0f}/s   p50 {row['p50_ms']:6.2f} ms   "
        f"p95 {row['p95_ms']:6.2f} ms{extra}"
    )
    return row


# --- runs --------------------------------------------------------------------------------------


def bench_ingest_in_process(files: list[str], name: str, expect: dict[str, int]) -> dict:
    from django.db import transaction

    from contacts.management.commands import ingest_email as command

    # What the command calls per batch (it commits the batch before returning). Earlier
    # versions called email_ingest_many (in the command's transaction), or email_ingest per
    # message, which a comparison with them times instead. None of these: the command has
    # changed, and this bench with it (a silent fallback would time nothing).
    entry = next(
        (
            e
            for e in ("email_ingest_batch", "email_ingest_many", "email_ingest")
            if hasattr(command, e)
        ),
        None,
    )
    if entry is None:
        raise SystemExit("bench: ingest_email calls none of the entries this bench times")
    real = getattr(command, entry)
    latencies = []

    def timed(**kwargs):
        # From the batch's start to its commit: when its messages are stored.
        t = time.perf_counter()
        if transaction.get_autocommit() and entry == "email_ingest_batch":
            result = real(**kwargs)  # committed when it returns
            latencies.append(time.perf_counter() - t)
            return result
        transaction.on_commit(lambda: latencies.append(time.perf_counter() - t))
        return real(**kwargs)

    setattr(command, entry, timed)
    out = io.StringIO()
    t = time.perf_counter()
    try:
        with _Counter() as counter:
            call_command("ingest_email", "--json", *files, stdout=out)
    finally:
        setattr(command, entry, real)
    wall = time.perf_counter() - t
    for status, count in expect.items():
        found = out.getvalue().count(f'"status": "{status}"')
        if found != count:
            raise SystemExit(f"{name}: {found} {status}, expected {count}")
    if not latencies:
        raise SystemExit(f"{name}: no batch was timed ({entry} was not called)")
    return summary(name, latencies, wall, len(files), counter)


def bench_ingest_subprocess(files: list[str]) -> dict:
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "ingest_email", "--json", *files],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        cwd=ROOT,
    )
    wall = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"ingest_email subprocess failed: {done.stderr[-2000:]}")
    created = done.stdout.count('"status": "created"')
    print(
        f"{'ingest_email (subprocess, startup incl.)':<34} {len(files):>6} "
        f"{len(files) / wall:>9.0f}/s   wall {wall:.2f} s, {created} created"
    )
    return {"path": "ingest_email subprocess", "n": len(files), "per_s": len(files) / wall}


def bench_http(paths: list[tuple[str, str, list[dict]]], token: str) -> list[dict]:
    """POST each path's payloads, the paths taking turns request by request (in an order
    that rotates), so that whatever else loads the machine weighs on all of them alike."""
    import json

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    latencies: list[list[float]] = [[] for _ in paths]
    counters = [_Counter() for _ in paths]
    for i in range(max(len(payloads) for _, _, payloads in paths)):
        for k in range(len(paths)):
            which = (i + k) % len(paths)
            name, url, payloads = paths[which]
            if i >= len(payloads):
                continue
            body = json.dumps(payloads[i])
            t = time.perf_counter()
            with counters[which]:
                response = client.post(url, body, content_type="application/json")
            latencies[which].append(time.perf_counter() - t)
            if response.status_code != 201:
                raise SystemExit(f"{name}: {response.status_code} {response.content[:300]!r}")
    return [
        summary(name, spent, sum(spent), len(payloads), counter)
        for (name, _, payloads), spent, counter in zip(paths, latencies, counters, strict=True)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--smoke", action="store_true", help="seconds: n=20, the same paths")
    args = parser.parse_args()
    if args.smoke:
        args.n = 20
    warmup = min(50, args.n // 2)  # requests of warm-up, taken from the front of each list
    if connection.vendor != "postgresql":
        raise SystemExit("bench: set DATABASE_URL to a PostgreSQL database")
    settings.ROOT_URLCONF = "__main__"
    settings.INTAKE_API_RATE = "1000000/minute"
    settings.INTAKE_FLOOD_PER_HOUR = 0
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    if not REDIS:
        call_command("createcachetable", verbosity=0)
        settings.TRIAGE_TASK = ""
    client = IntegrationClient.objects.filter(code="bench").first()
    if client is not None:
        client.delete()
    from contacts.services.integrations import integration_client_create

    _, token = integration_client_create(code="bench", name="Bench", may_post_contacts=True)
    run = f"{int(time.time())}"
    print(
        f"PostgreSQL {connection.pg_version // 10000}, n={args.n}, "
        f"triage {'enqueued on ' + settings.CELERY_BROKER_URL if REDIS else 'left out'}\n"
    )

    with tempfile.TemporaryDirectory(prefix="bench-mail-") as tmp:
        files, files2, mixed = [], [], []
        for i in range(args.n):
            for bucket, prefix in ((files, "a"), (files2, "b"), (mixed, "c")):
                p = Path(tmp) / f"{prefix}{i}.eml"
                if prefix == "c":
                    p.write_bytes(make_mixed_email(i, f"{run}c", f"{run}a", args.n))
                else:
                    p.write_bytes(make_email(i, f"{run}{prefix}"))
                bucket.append(str(p))
        # Warm-up: imports, connection pool, caches.
        warm = Path(tmp) / "warm.eml"
        warm.write_bytes(make_email(0, f"{run}w"))
        call_command("ingest_email", str(warm), stdout=io.StringIO())
        bench_ingest_in_process(files, "ingest_email, new senders", {"created": len(files)})
        replies = len(range(3, args.n, 4))
        bench_ingest_in_process(
            mixed,
            "ingest_email, mixed (¼ replies)",
            {"created": args.n - replies, "threaded": replies},
        )
        bench_ingest_subprocess(files2)

    bare_payloads = [{"external_id": f"{run}-{i}", "body": "x"} for i in range(args.n)]
    api_payloads = [make_payload(i, run) for i in range(args.n)]
    bench_http(  # warm-up
        [
            ("bare view (warm-up)", "/bench/bare/", bare_payloads[:warmup]),
            ("POST /api/v1/contacts/ (warm-up)", "/api/v1/contacts/", api_payloads[:warmup]),
        ],
        token,
    )
    bare, api = bench_http(
        [
            ("bare DRF view, one INSERT", "/bench/bare/", bare_payloads[warmup:]),
            ("POST /api/v1/contacts/", "/api/v1/contacts/", api_payloads[warmup:]),
        ],
        token,
    )
    print(
        f"\nAPI / bare view: {api['p50_ms'] / bare['p50_ms']:.2f}x at p50, "
        f"{bare['per_s'] / api['per_s']:.2f}x in throughput (aim: within 3x); "
        f"CPU of this process {api['cpu_ms'] / bare['cpu_ms']:.2f}x, "
        f"SQL statements {api['sql']:.0f} vs {bare['sql']:.0f}"
    )
    print(
        f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
        "(other processes on this machine inflate every wall-clock figure)"
    )

    if REDIS:
        from frt_crm.celery import app

        with app.connection_for_write() as conn:
            for queue in ("triage", "default", "mail"):
                # A queue never declared has nothing to purge.
                with contextlib.suppress(Exception):
                    conn.default_channel.queue_purge(queue)


if __name__ == "__main__":
    main()
