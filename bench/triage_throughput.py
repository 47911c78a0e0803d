"""Triage throughput on PostgreSQL + Redis with one real Celery worker, and a burst of 10,000
new messages from their intake to their triage.

    .venv/bin/python bench/triage_throughput.py [--tickets 10000] [--queued 6000]
        [--via email|intake|tickets] [--batch 50] [--concurrency 2] [--classifier]
    .venv/bin/python bench/triage_throughput.py --smoke   # seconds: 20 + 20 messages, its
                                                          # own worker of one process

It migrates its own PostgreSQL database (crm_routing by default; BENCH_DATABASE_URL) and uses
its own Redis database (redis://127.0.0.1:6379/4; BENCH_BROKER_URL). The messages are texts
from tests/data/triage_examples.jsonl, from 3,000 senders whose addresses are new at each run.
They are taken in as the product takes in a burst of mail (--via email, the default):
`email_ingest_batch`, the path of `manage.py ingest_email`, --batch messages per transaction
(ingest_email's 50): parse, raw message stored (in a temporary MEDIA_ROOT), flood check, then
`contact_intake_many` writes viewers, tickets and contacts together, and the triage of the
batch's new tickets is asked for when it commits. --via intake hands parsed messages to
`contact_intake_many`; --via tickets is the former shortcut (`ticket_open` per ticket, no
viewer look-up), kept to compare with figures measured with it (use --batch 500 as then).

1. Throughput: --queued messages are taken in while no worker runs; then ONE Celery worker is
   started on the `triage` queue, as the product runs it (settings' prefetch; --concurrency
   processes, the machine's 2 cores), and the time from its first to its last triage gives
   tickets/s.
2. Burst: with the worker running, --tickets messages are taken in, batch by batch; the time
   from the first one taken in to the last ticket triaged is the burst time (aim: 10,000 in
   under 60 s on this machine). The intake takes its share of the machine too.

The machine is shared and noisy: compare ratios within one session, e.g. this script run from
a copy of the tree at an older commit (with BENCH_DATABASE_URL=…/crm_routing_old) alternated
with the current one. Measured here on 26 Nov 2026 (2 cores, load average 3–5 from other work),
one worker of 2 processes, TRIAGE_BATCH_SIZE=50, old and new alternated in one session:

    via email, 50 per transaction          throughput (tickets/s)   burst of 10,000
    before: a message per ticket,          216–270                  42.4–50.9 s
      bulk_update of the decisions
    after: a message per intake batch,     1,099–1,254              13.2–17.4 s
      UPDATE … FROM unnest                 (x4.1–5.8)               (x2.4–3.9)
    via tickets, 500 per transaction       336 → 481 (x1.4)         35.5 → 26.3 s (x1.35)
      (a message per ticket either way)

(An earlier session with --prefetch-multiplier 16 for both and 3,000 queued: x3.4–3.5 in
throughput, 805–810 against 228–235 tickets/s; x3.1 on the burst, 16.3–16.4 against
51.2–51.4 s.)

The burst is now as long as its intake (580–770 messages/s): the worker keeps up and has
triaged the last ticket 0.2 s after the last batch committed. With --via tickets every ticket
still sends its own message (`ticket_open`, as a web form or a call does): the worker takes
waiting tickets along by batches, but receives, dispatches and discards a message per ticket.

With --classifier, a classifier trained on the labelled sets is in use (`train_classifier`,
the train split and the development sets) and the live policy's second opinion is on
(review_threshold 0.3; the shipped policy has it off): it then runs on every decision the rules
leave at level 1, once per batch. Same session, back to back (load 2.4–2.7): without it
1,777 tickets/s and 13.3 s for the burst; with it 839 tickets/s and 17.6 s (a first run with
it: 497 tickets/s, 22.7 s). Without --classifier, none is in use.

The worker is stopped at the end, whatever happens. BENCH_PREFETCH (worker's
--prefetch-multiplier), BENCH_POOL and TRIAGE_BATCH_SIZE (environment) override the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_routing"
)
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/4")
# The product's setting (CELERY_WORKER_PREFETCH_MULTIPLIER) unless told: a message carries a
# batch of tickets, prefetching more of them only takes work from the other process.
PREFETCH = os.environ.get("BENCH_PREFETCH", "")
DATA = ROOT / "tests" / "data" / "triage_examples.jsonl"

ENV = {
    **os.environ,
    "DATABASE_URL": DATABASE_URL,
    "CELERY_BROKER_URL": BROKER_URL,
    "DJANGO_SETTINGS_MODULE": "frt_crm.settings",
    "LOG_LEVEL": "WARNING",
    # Only what this script starts reads this environment: no email leaves the machine.
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    # The raw messages the intake stores, in a folder of their own removed at the end.
    "MEDIA_ROOT": os.environ.get("BENCH_MEDIA_ROOT") or tempfile.mkdtemp(prefix="triage-bench-"),
}
os.environ.update(ENV)
sys.path.insert(0, str(ROOT))


def ensure_database() -> None:
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=ENV, check=True
    )


def purge_queue() -> None:
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    client.delete("triage", "default")


def start_worker(concurrency: int) -> subprocess.Popen:
    celery = Path(sys.executable).with_name("celery")
    worker = subprocess.Popen(
        [
            str(celery),
            "-A",
            "frt_crm",
            "worker",
            "-Q",
            "triage",
            "--concurrency",
            str(concurrency),
            *(["--prefetch-multiplier", PREFETCH] if PREFETCH else []),
            "--pool",
            os.environ.get("BENCH_POOL", "prefork"),
            "--loglevel",
            os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING"),
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"bench-triage-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=ENV,
        start_new_session=True,  # its own process group: stopped as a whole at the end
    )
    from frt_crm.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit("the worker did not start")
        replies = app.control.ping(timeout=1.0) or []
        if any(f"bench-triage-{os.getpid()}@" in name for r in replies for name in r):
            return worker
    stop_worker(worker)
    raise SystemExit("the worker did not answer within 60 s")


def stop_worker(worker: subprocess.Popen) -> None:
    """Warm shutdown of the worker (it stops its own processes), killed after 30 s."""
    if worker.poll() is not None:
        return
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def load_messages() -> list[dict]:
    with DATA.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


NATIONAL = {"france2": "france2", "france5": "france5"}  # every other brand code: france3


def build_inputs(*, count: int, offset: int, run: str, messages, viewers: int) -> list:
    """What arrives, built before the clock starts (writing the mail is the sender's work):
    raw RFC 5322 messages, one sender address per viewer slot (fresh addresses each run, so
    that one run's history does not change the next run's decisions)."""
    from email.message import EmailMessage
    from email.utils import format_datetime

    from django.utils import timezone

    inputs = []
    now = format_datetime(timezone.now())
    for k in range(offset, offset + count):
        m = messages[k % len(messages)]
        slot = k % viewers
        brand = NATIONAL.get(m["brand"], "france3")
        mail = EmailMessage()
        mail["From"] = f"Bench Viewer{slot} <bench.{run}.{slot}@example.org>"
        mail["To"] = f"relations.telespectateurs@{brand}.example.fr"
        mail["Subject"] = m["subject"]
        mail["Date"] = now
        mail["Message-ID"] = f"<bench-{run}-{k}@example.org>"
        mail.set_content(m["body"])
        inputs.append((bytes(mail), m, f"bench.{run}.{slot}@example.org", f"bench-{run}-{k}"))
    return inputs


def open_tickets(*, via: str, inputs: list, batch: int, viewers, brands) -> float:
    """Take ``inputs`` in, ``batch`` per transaction; each new ticket asks for its triage when
    its batch commits. Returns the seconds it took.

    via "email": `email_ingest_batch`, the path of `manage.py ingest_email` (in a transaction of
    its own: parse, store the raw message, flood check, `contact_intake_many`: viewers, tickets,
    contacts written together).
    via "intake": `contact_intake_many` on already parsed messages (no MIME parsing, no raw file).
    via "tickets": the former shortcut: `ticket_open` per ticket and the contacts in one INSERT
    (no viewer look-up or creation), kept to compare with the figures measured with it.
    """
    from django.db import transaction

    from contacts.models import Contact, Direction
    from contacts.services import ticket_open
    from contacts.services.email_intake import email_ingest_batch
    from contacts.services.intake import InboundMessage, SenderIdentity, contact_intake_many

    started = time.monotonic()
    for start in range(0, len(inputs), batch):
        chunk = inputs[start : start + batch]
        if via == "email":
            # Its own transaction, committed before it returns, as ingest_email calls it.
            outcomes = email_ingest_batch(items=[(raw, key) for raw, _, _, key in chunk])
            bad = [o for o in outcomes if o.status != "created"]
            if bad:
                raise SystemExit(f"intake did not open a ticket: {bad[0]}")
            continue
        with transaction.atomic():
            if via == "intake":
                results = contact_intake_many(
                    messages=[
                        InboundMessage(
                            channel="email",
                            sender=SenderIdentity(email=address, name="Bench Viewer"),
                            brand=brands.get(m["brand"]),
                            subject=m["subject"],
                            body_text=m["body"],
                            message_id=f"{key}@example.org",
                        )
                        for _, m, address, key in chunk
                    ]
                )
                bad = [r for r in results if r.status != "created"]
            else:
                contacts = []
                for i, (_, m, _, _) in enumerate(chunk):
                    viewer = viewers[(start + i) % len(viewers)]
                    ticket = ticket_open(
                        channel=m["channel"],
                        brand=brands.get(m["brand"]),
                        viewer=viewer,
                        subject=m["subject"],
                    )
                    contacts.append(
                        Contact(
                            ticket=ticket,
                            viewer=viewer,
                            channel=m["channel"],
                            direction=Direction.INBOUND,
                            subject=m["subject"],
                            body_text=m["body"],
                            occurred_at=ticket.created_at,
                        )
                    )
                Contact.objects.bulk_create(contacts)
                bad = []
        if bad:
            raise SystemExit(f"intake did not open a ticket: {bad[0]}")
    return time.monotonic() - started


def wait_triaged(tickets, *, since: float, timeout: float) -> float:
    from contacts.models import Status

    while tickets.filter(status=Status.NEW).exists():
        if time.monotonic() - since > timeout:
            left = tickets.filter(status=Status.NEW).count()
            raise SystemExit(f"timeout: {left} tickets still new after {timeout} s")
        time.sleep(0.2)
    return time.monotonic() - since


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=10000, help="size of the burst")
    parser.add_argument(
        "--queued", type=int, default=6000, help="tickets queued before the worker starts"
    )
    parser.add_argument(
        "--via",
        choices=["email", "intake", "tickets"],
        default="email",
        help="intake path (see open_tickets); default: email, as `ingest_email`",
    )
    parser.add_argument(
        "--batch", type=int, default=50, help="messages per intake transaction (ingest_email: 50)"
    )
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--viewers", type=int, default=3000, help="distinct senders")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument(
        "--classifier",
        action="store_true",
        help="train the classifier on the labelled sets, put it in use and turn the live "
        "policy's second opinion on (it then runs on every level-1 decision); without it, "
        "none is in use",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="seconds: 20 queued, a burst of 20, batches of 10, one worker process",
    )
    args = parser.parse_args()
    if args.smoke:
        args.queued, args.tickets, args.batch, args.concurrency = 20, 20, 10, 1
        args.viewers, args.timeout = 10, 60

    ensure_database()
    import django

    django.setup()
    from django.conf import settings
    from django.db.models import Max, Min

    from contacts.models import Brand, Status, Ticket, Viewer

    purge_queue()
    use_classifier(args.classifier)
    messages = load_messages()
    brands = {b.code: b for b in Brand.objects.all()}
    run = f"{int(time.time())}"
    viewers = []
    if args.via == "tickets":
        viewers = Viewer.objects.bulk_create(
            [Viewer(first_name="Bench", last_name=f"Viewer{i}") for i in range(args.viewers)]
        )
    queued_inputs = build_inputs(
        count=args.queued, offset=0, run=run, messages=messages, viewers=args.viewers
    )
    burst_inputs = build_inputs(
        count=args.tickets, offset=args.queued, run=run, messages=messages, viewers=args.viewers
    )
    leftovers = Ticket.objects.filter(status=Status.NEW).count()
    if leftovers:
        print(f"note: {leftovers} tickets were already new (they are triaged along)")
    print(
        f"database {DATABASE_URL.rsplit('/', 1)[1]}, broker {BROKER_URL}, one worker of "
        f"{args.concurrency} processes, TRIAGE_BATCH_SIZE={settings.TRIAGE_BATCH_SIZE}, "
        f"prefetch {PREFETCH or settings.CELERY_WORKER_PREFETCH_MULTIPLIER}, "
        f"intake via {args.via}, {args.batch} per transaction, load {_load()}"
    )

    # 1. Throughput: tickets queued while no worker runs, then one worker empties the queue.
    first_id = (Ticket.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    seconds = open_tickets(
        via=args.via, inputs=queued_inputs, batch=args.batch, viewers=viewers, brands=brands
    )
    queued = Ticket.objects.filter(id__gte=first_id)
    print(f"queued {args.queued} tickets in {seconds:.1f} s ({args.queued / seconds:.0f}/s)")
    worker = start_worker(args.concurrency)
    try:
        ready = time.monotonic()
        wait_triaged(queued, since=ready, timeout=args.timeout)
        span = queued.aggregate(first=Min("triaged_at"), last=Max("triaged_at"))
        # At least a millisecond: a small run may be triaged in one go.
        busy = max((span["last"] - span["first"]).total_seconds(), 0.001)
        print(
            f"triage throughput: {args.queued / busy:.0f} tickets/s "
            f"({args.queued} queued tickets triaged in {busy:.1f} s by one worker)"
        )

        # 2. The burst: tickets taken in, batch by batch, while the worker triages them.
        first_id = (Ticket.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        started = time.monotonic()
        seconds = open_tickets(
            via=args.via, inputs=burst_inputs, batch=args.batch, viewers=viewers, brands=brands
        )
        burst = Ticket.objects.filter(id__gte=first_id)
        print(
            f"burst: took in {args.tickets} messages in {seconds:.1f} s "
            f"({args.tickets / seconds:.0f}/s, {args.batch} per transaction, worker running)"
        )
        total = wait_triaged(burst, since=started, timeout=args.timeout)
        print(
            f"burst of {args.tickets} new tickets, first taken in to all triaged: {total:.1f} s "
            f"(aim: under 60 s), load {_load()}"
        )
        levels = {level: burst.filter(level=level).count() for level in (1, 2, 3)}
        share = ", ".join(f"level {k}: {v / args.tickets:.0%}" for k, v in levels.items())
        print(f"decisions in the burst: {share}")
    finally:
        stop_worker(worker)
        print("worker stopped")
        if not os.environ.get("BENCH_MEDIA_ROOT"):
            shutil.rmtree(ENV["MEDIA_ROOT"], ignore_errors=True)


def use_classifier(wanted: bool) -> None:
    """Put a classifier trained on the labelled sets in use with the live policy's second
    opinion on (review_threshold 0.3), or none and the second opinion off (the worker reads
    both)."""
    from routing.models import PolicyVersion, TriageClassifier

    live = PolicyVersion.objects.get(state=PolicyVersion.State.LIVE)
    PolicyVersion.objects.filter(pk=live.pk).update(
        defaults={**live.defaults, "review_threshold": 0.3 if wanted else None}
    )
    if not wanted:
        TriageClassifier.objects.filter(is_active=True).update(is_active=False)
        return
    files = sorted((ROOT / "tests" / "data").glob("triage_dev_*.jsonl"))
    args = ["--jsonl", str(ROOT / "tests" / "data" / "triage_examples.jsonl")]
    for path in files:
        args += ["--jsonl", str(path)]
    subprocess.run(
        [sys.executable, "manage.py", "train_classifier", *args, "--folds", "2"],
        cwd=ROOT,
        env=ENV,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"classifier in use, trained on the train split and {len(files)} development sets")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
