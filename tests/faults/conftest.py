"""The rig of a fault-injection test: a Redis of its own (the broker), an SMTP server, a Celery
worker on pytest-django's test database, a media folder; all stopped in the fixture's
teardown, whatever happened. Figures of each test go to var/ci/faults.json (FAULTS_SUMMARY),
which `.ci/run` prints after the PostgreSQL + Redis run."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from tests.faults.harness import (
    ROOT,
    RedisServer,
    SmtpSink,
    Worker,
    database_url,
    free_port,
    process_env,
)

SUMMARY = Path(os.environ.get("FAULTS_SUMMARY") or ROOT / "var" / "ci" / "faults.json")


def pytest_collection_modifyitems(items):
    """What a fault-injection test needs of the machine, checked once: it starts its own
    Redis and worker, on the PostgreSQL test database it shares with them."""
    reasons = []
    if connection.vendor != "postgresql":
        reasons.append("PostgreSQL shared with the workers (set DATABASE_URL=postgres://…)")
    if not shutil.which("redis-server"):
        reasons.append("the redis-server program (the test starts a broker of its own)")
    if not reasons:
        return
    skip = pytest.mark.skip(reason="needs service: " + "; ".join(reasons))
    for item in items:
        if item.get_closest_marker("faults"):
            item.add_marker(skip)


@dataclass
class Rig:
    redis: RedisServer
    smtp: SmtpSink
    worker: Worker
    env: dict
    folder: Path  # the test's mail files and media
    logs: Path  # the worker's, the intake's and Redis's logs (kept for CI: var/ci/faults/…)


@pytest.fixture
def rig(request, tmp_path):
    """Broker, SMTP server and one worker on this test's database. The test runs
    transactionally (its rows are committed, the worker sees them)."""
    logs = SUMMARY.parent / "faults" / request.node.name
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    smtp = SmtpSink()
    redis = RedisServer(port=free_port(), folder=logs / "redis")
    worker = None
    try:
        smtp.start()
        redis.start()
        env = process_env(
            database=database_url(connection.settings_dict),
            broker=redis.url,
            media_root=tmp_path / "media",
            smtp_port=smtp.port,
        )
        worker = Worker(env=env, folder=logs, name="a")
        worker.start()
        yield Rig(redis=redis, smtp=smtp, worker=worker, env=env, folder=tmp_path, logs=logs)
    finally:
        if worker is not None:
            worker.stop()
        redis.stop()
        smtp.stop()
        # The workers' and the intake's sessions are gone; pytest-django may now flush, on a
        # fresh pool: a cut may have killed connections idle in this process's pool.
        connection.close()
        if getattr(connection, "pool", None) is not None:
            connection.close_pool()


_figures: list[dict] = []


@pytest.fixture
def record_figures():
    """Write a test's figures to the summary (every test of the session so far, each time:
    a run cut short still leaves what it measured)."""

    def record(figures: dict) -> None:
        _figures.append(figures)
        SUMMARY.parent.mkdir(parents=True, exist_ok=True)
        SUMMARY.write_text(json.dumps(_figures, indent=2, ensure_ascii=False) + "\n")

    return record
