"""`ingest_email` as a mail server's delivery program: exit codes from sysexits (0 handled, 75
try again later), honest statuses when a batch falls back to one by one, and the outages it
meets (broker down, database down)."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError

from contacts.models import Contact, QuarantineItem, Ticket
from frt_crm import middleware
from tests.contacts.conftest import EMAILS
from tests.markers import requires_postgres

ROOT = Path(__file__).resolve().parents[2]


def run(*args) -> tuple[list[dict], int]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("ingest_email", "--json", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    return [json.loads(line) for line in out.getvalue().splitlines()], code


FILES = [str(EMAILS / n) for n in ("plain_utf8.eml", "latin1_qp.eml", "html_only.eml")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_during_a_broker_outage_first_time_messages_are_created_not_duplicate(broker_down):
    lines, code = run(*FILES)

    assert code == 0
    assert [line["status"] for line in lines] == ["created"] * 3
    assert Ticket.objects.filter(status="new").count() == 3  # triage waits for the sweep


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_error_raised_after_the_batch_committed_does_not_replay_it(intake_env):
    from django.db import transaction

    from contacts.services import tickets

    def failing_hook(**kwargs):
        def boom():
            raise RuntimeError("a hook failed after commit")

        transaction.on_commit(boom)

    with mock.patch.object(tickets, "enqueue_triage_many", side_effect=failing_hook):
        lines, code = run(*FILES)

    assert [line["status"] for line in lines] == ["created"] * 3
    assert Contact.objects.count() == 3


def test_database_unreachable_defers_with_exit_75_and_keeps_nothing_half(db, intake_env):
    from contacts.services import email_intake

    locked = OperationalError("database is locked")
    with mock.patch.object(email_intake, "_own_addresses", side_effect=locked):
        lines, code = run(*FILES)

    assert code == 75  # EX_TEMPFAIL: the mail server keeps the messages and tries again
    assert [line["status"] for line in lines] == ["deferred"] * 3
    assert all("temporary failure" in line["reason"] for line in lines)
    assert Contact.objects.count() == 0 and QuarantineItem.objects.count() == 0

    again, code = run(*FILES)  # the database is back: the mail server's next try
    assert code == 0 and [line["status"] for line in again] == ["created"] * 3


def test_a_permanent_refusal_is_still_rejected_with_exit_0(db, intake_env):
    lines, code = run(str(EMAILS / "garbage.eml"), str(EMAILS / "plain_utf8.eml"))

    assert code == 0
    assert lines[0]["status"] == "rejected" and lines[0]["reason"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_command_exits_75_when_postgresql_does_not_answer(tmp_path):
    """A real delivery: the process started by the mail server, PostgreSQL on a closed port."""
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{_closed_port()}/crm_down",
        "DATABASE_POOL_TIMEOUT": "1",
        "MEDIA_ROOT": str(tmp_path),
    }
    env.pop("CELERY_BROKER_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "ingest_email", "--json", "-"],
        input=(EMAILS / "plain_utf8.eml").read_bytes(),
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )

    assert done.returncode == 75, done.stderr.decode()[-2000:]
    assert "Traceback" not in done.stderr.decode()
    [line] = [json.loads(x) for x in done.stdout.decode().splitlines()]
    assert line["status"] == "deferred"


@pytest.mark.cuts_database
@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_postgresql_cut_mid_run_defers_then_the_retry_creates(intake_env):
    from django.db import connection

    from tests.frt_crm.test_outages import _database_down, _database_up

    name = connection.settings_dict["NAME"]
    Contact.objects.exists()  # a warm connection, cut below as the server's would be
    connection.close()
    _database_down(name)
    try:
        lines, code = run(*FILES)
    finally:
        _database_up(name)
    assert code == 75 and {line["status"] for line in lines} == {"deferred"}

    middleware.database_pool_reset()  # the mail server's next try is a new process
    again, code = run(*FILES)
    assert code == 0 and [line["status"] for line in again] == ["created"] * 3
    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
