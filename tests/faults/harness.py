"""The moving parts of the fault-injection tests, each started by the test and killed by it:
a Redis of the test's own (the broker), Celery workers, a feeder that delivers mail through
`manage.py ingest_email` as a mail server would, an SMTP server that counts what is sent, and
the cut of the database's connections.

Every wait has a deadline and every process is started in its own process group, so that a
test never hangs and `kill` reaches a worker's children too.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
CELERY = str(ROOT / ".venv" / "bin" / "celery")
QUEUES = "default,triage,mail,ocr,reports"
# The PostgreSQL application_name of every process a test starts (libpq reads PGAPPNAME): the
# cuts reach these sessions only, not those of a worker another test relies on (CI's).
APP_NAME = "frt-faults"
# Statuses of `ingest_email --json` that mean the input was handled: a mail server delivering
# through the command forgets the message. Anything else (no line, an exit code asking for a
# retry, a status the contract does not know) means "not kept": the feeder delivers it again.
HANDLED = {"created", "threaded", "duplicate", "rejected"}


def free_port(preferred: range = range(6391, 6400)) -> int:
    """A free TCP port on loopback, one of `preferred` when possible."""
    for port in [*preferred, 0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError("no free port on loopback")


def wait_until(predicate, *, timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())


def _stop_group(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 15):
    """Signal a process started with start_new_session=True and its whole group; SIGKILL if it
    is still there after `timeout`."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def database_url(settings_dict: dict) -> str:
    """The URL of the database this test runs on (pytest-django's test database)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def process_env(*, database: str, broker: str, media_root: Path, smtp_port: int) -> dict:
    """The environment of every process a test starts: the test database, the test's own
    broker and media folder, its SMTP server; nothing of the machine's Redis."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "PYTEST_CURRENT_TEST"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="frt_crm.settings",
        DATABASE_URL=database,
        CELERY_BROKER_URL=broker,
        MEDIA_ROOT=str(media_root),
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        PGAPPNAME=APP_NAME,
    )
    return env


# --- the broker --------------------------------------------------------------------------------


class RedisServer:
    """A Redis of the test's own that keeps nothing on disk: restarted, it is empty."""

    def __init__(self, *, port: int, folder: Path):
        self.port = port
        self.folder = folder
        self.proc: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self, timeout: float = 15) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # Never the machine's Redis: this one listens on its own port, on loopback only.
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                "--logfile",
                str(self.folder / "redis.log"),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if not wait_until(self.ping, timeout=timeout, every=0.05):
            self.stop()
            raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def ping(self) -> bool:
        return self.command("PING") == "+PONG"

    def command(self, *words: str) -> str:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(" ".join(words).encode() + b"\r\n")
                return sock.recv(256).decode().strip()
        except OSError:
            return ""

    def queued(self, queue: str = "triage") -> int:
        answer = self.command("LLEN", queue)
        return int(answer[1:]) if answer.startswith(":") else -1

    def kill(self) -> None:
        _stop_group(self.proc, signal.SIGKILL)

    def stop(self) -> None:
        _stop_group(self.proc, signal.SIGTERM, timeout=5)


# --- workers -----------------------------------------------------------------------------------


class Worker:
    """A Celery worker on every queue, 2 processes, on the test's database and broker."""

    def __init__(self, *, env: dict, folder: Path, name: str):
        self.env = env
        self.log = folder / f"worker-{name}.log"
        self.name = name
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._read = 0  # how far busy() has read the log
        self._in_hand: set[str] = set()
        self._started_at = 0  # where the log of the current process begins
        self.deaths: list[str] = []  # restarts by supervise(), and why

    def start(self, timeout: float = 60) -> float:
        """Start it and wait until it consumes; returns the seconds that took."""
        began = time.monotonic()
        self.starts += 1
        offset = self.log.stat().st_size if self.log.exists() else 0
        self._started_at = offset
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [
                    CELERY,
                    "-A",
                    "frt_crm",
                    "worker",
                    "-Q",
                    QUEUES,
                    "-c",
                    "2",
                    "-l",
                    "info",
                    "-n",
                    f"faults-{self.name}-{self.starts}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],  # fmt: skip
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the worker exited ({self.proc.returncode}): see {self.log}")
            with open(self.log, "rb") as fh:
                fh.seek(offset)
                return b" ready." in fh.read()

        if not wait_until(ready, timeout=timeout, every=0.2):
            self.stop()
            raise RuntimeError(f"the worker was not ready within {timeout} s: see {self.log}")
        return time.monotonic() - began

    def supervise(self) -> str:
        """What a process supervisor (systemd, a container's restart policy) does: start the
        worker again if it died, or if it logged an unrecoverable error and stays on without
        consuming. Returns why it was restarted ("" when it was fine)."""
        if self.proc is None:
            return ""
        with open(self.log, "rb") as fh:
            fh.seek(self._started_at)
            crashed = b"Unrecoverable error" in fh.read()
        if self.proc.poll() is None and not crashed:
            return ""
        why = f"exited ({self.proc.returncode})" if self.proc.poll() is not None else "crashed"
        _stop_group(self.proc, signal.SIGKILL)
        self._in_hand.clear()
        self.deaths.append(why)
        self.start()
        return why

    def kill(self) -> int:
        """kill -9 of the worker and of its pool processes, as when its machine dies; returns
        how many tasks it had in hand (received, not finished)."""
        in_hand = self.busy()
        _stop_group(self.proc, signal.SIGKILL)
        self._in_hand.clear()
        return in_hand

    _TASK = re.compile(rb"Task [\w.]+\[([0-9a-f-]+)\] (received)?")

    def busy(self) -> int:
        """How many tasks this worker has received and not finished (read in its log)."""
        if not self.log.exists():
            return 0
        with open(self.log, "rb") as fh:
            fh.seek(self._read)
            chunk = fh.read()
        end = chunk.rfind(b"\n") + 1  # whole lines only
        self._read += end
        for match in self._TASK.finditer(chunk[:end]):
            task_id = match.group(1).decode()
            if match.group(2):
                self._in_hand.add(task_id)
            else:
                self._in_hand.discard(task_id)
        return len(self._in_hand)

    def stop(self) -> None:
        # A warm shutdown finishes the tasks in hand; past 5 s, kill -9 (nothing is lost: the
        # test has checked what it wanted).
        _stop_group(self.proc, signal.SIGTERM, timeout=5)

    def tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


# --- the mail server -------------------------------------------------------------------------


@dataclass
class Delivery:
    """What the feeder knows of one input file."""

    path: Path
    message_id: str
    answers: list[str] = field(default_factory=list)  # one status per attempt ("" = no line)
    reasons: list[str] = field(default_factory=list)

    @property
    def kept(self) -> bool:
        return bool(self.answers) and self.answers[-1] in HANDLED


class Feeder(threading.Thread):
    """Delivers files through `manage.py ingest_email --json`, `chunk` files per run (the
    command commits them in batches of 50), one run after another, as a mail server would:
    an input without a handled status in the command's output (the run died, timed out, or
    asked for a retry) goes back to the end of the queue and is delivered again."""

    def __init__(
        self,
        *,
        env: dict,
        deliveries: list[Delivery],
        log: Path,
        chunk: int = 100,
        run_timeout: float = 120,
        deadline: float = 240,
        max_attempts: int = 6,
    ):
        super().__init__(name="faults-feeder", daemon=True)
        self.env = env
        self.queue = deque(deliveries)
        self.deliveries = deliveries
        self.log = log
        self.chunk = chunk
        self.run_timeout = run_timeout
        self.deadline = deadline
        self.max_attempts = max_attempts
        self.runs: list[dict] = []  # {"files", "exit", "seconds", "answered"}
        self.first_answers: dict[str, str] = {}  # Message-ID → status of its first delivery
        self.delivered_ids: set[str] = set()  # Message-IDs handed to the command at least once
        self.misreported: list[str] = []  # first-time messages answered "duplicate"
        self.refed = 0
        self.kept_count = 0
        self.error: BaseException | None = None
        self._halt = threading.Event()
        self._proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.finished_at = 0.0

    def stop(self) -> None:
        self._halt.set()
        _stop_group(self._proc, signal.SIGKILL)

    def run(self) -> None:
        self.started_at = time.monotonic()
        try:
            self._feed()
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.error = exc
        finally:
            self.finished_at = time.monotonic()

    def _feed(self) -> None:
        limit = self.started_at + self.deadline
        while self.queue and not self._halt.is_set() and time.monotonic() < limit:
            batch = []
            while self.queue and len(batch) < self.chunk:
                delivery = self.queue.popleft()
                if len(delivery.answers) < self.max_attempts:
                    batch.append(delivery)
            if not batch:
                break
            self._deliver(batch, timeout=min(self.run_timeout, max(1.0, limit - time.monotonic())))
            for delivery in batch:
                if delivery.kept:
                    self.kept_count += 1
                else:
                    self.refed += 1
                    self.queue.append(delivery)
            if any(not d.kept for d in batch):
                time.sleep(0.5)  # a mail server waits before it tries again

    def _deliver(self, batch: list[Delivery], *, timeout: float) -> None:
        began = time.monotonic()
        first_time = {d.message_id for d in batch if d.message_id not in self.delivered_ids}
        self.delivered_ids.update(d.message_id for d in batch)
        with open(self.log, "ab") as err:
            self._proc = subprocess.Popen(
                [PYTHON, "manage.py", "ingest_email", "--json", *[str(d.path) for d in batch]],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=err,
                start_new_session=True,
            )
            try:
                out, _ = self._proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                _stop_group(self._proc, signal.SIGKILL)
                out, _ = self._proc.communicate()
        lines = {}
        for line in out.decode(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                row = json.loads(line)
                if isinstance(row, dict) and "file" in row:
                    lines[row["file"]] = row
        for delivery in batch:
            row = lines.get(str(delivery.path), {})
            status = str(row.get("status") or "")
            delivery.answers.append(status)
            delivery.reasons.append(str(row.get("reason") or ""))
            if status and delivery.message_id not in self.first_answers:
                self.first_answers[delivery.message_id] = status
                if status == "duplicate" and delivery.message_id in first_time:
                    self.misreported.append(delivery.message_id)
        self.runs.append(
            {
                "files": len(batch),
                "exit": self._proc.returncode,
                "seconds": round(time.monotonic() - began, 2),
                "answered": sum(1 for d in batch if d.kept),
            }
        )
        self._proc = None

    @property
    def last_run(self) -> bool:
        """The run under way is the last: nothing waits to be handed over after it."""
        return self._proc is not None and not self.queue

    @property
    def progress(self) -> float:
        return self.kept_count / max(1, len(self.deliveries))


# --- the SMTP server ---------------------------------------------------------------------------


class SmtpSink:
    """An SMTP server on loopback that accepts everything and counts each Message-ID it is
    handed: what "sent" means to the outside world."""

    def __init__(self):
        self.sent: Counter[str] = Counter()
        self._controller = None
        self.port = 0

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.sent[str(message.get("Message-ID", "")).strip()] += 1
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.port = free_port(range(0))
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()


# --- the database ------------------------------------------------------------------------------


def cut_database_connections(connection) -> int:
    """pg_terminate_backend on the test database's sessions of the processes the test started
    (the intake's, the workers'), never this one (the test's control connection). Returns how
    many were cut."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = %s",
            [APP_NAME],
        )
        return cursor.fetchone()[0]


def database_busy(connection) -> int:
    """Sessions of the test database (not this one) inside a transaction or a query: the
    moment a cut hurts."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = %s AND state IN ('active', 'idle in transaction')",
            [APP_NAME],
        )
        return cursor.fetchone()[0]


def run_django(env: dict, code: str, *, timeout: float = 60) -> str:
    """Run Python `code` in a Django process of the test's environment; returns its stdout."""
    script = "import django\ndjango.setup()\n" + code
    done = subprocess.run(
        [PYTHON, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{code!r} failed:\n{done.stderr.decode(errors='replace')[-3000:]}")
    return done.stdout.decode()
