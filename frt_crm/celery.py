"""The Celery application, and the one way the code enqueues a task.

Tasks are enqueued after the surrounding transaction commits, never inside it: a worker must
not pick up a task for a row it cannot see yet, and a rolled-back request must not leave a
task behind.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from celery import Celery
from celery.signals import task_retry
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frt_crm.settings")

app = Celery("frt_crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


def _task_name(task: Any) -> str:
    name = getattr(task, "name", None)
    if name:
        return name
    inner = getattr(task, "task", None)  # a stand-in wrapping a task (contacts' _SentTogether)
    return getattr(inner, "name", None) or type(task).__name__


# Inside a request served with the embedded default (no broker): the in-process tasks its
# commits asked for, run once the response has been sent (frt_crm.middleware).
_after_response: contextvars.ContextVar[list[Callable[[], None]] | None] = contextvars.ContextVar(
    "tasks_after_response", default=None
)


@contextlib.contextmanager
def tasks_after_response() -> Iterator[list[Callable[[], None]]]:
    """Within this block, in-process tasks are collected instead of run; the caller runs the
    list once the response is sent. Nothing is collected when a broker takes the tasks."""
    pending: list[Callable[[], None]] = []
    token = _after_response.set(pending if app.conf.task_always_eager else None)
    try:
        yield pending
    finally:
        _after_response.reset(token)


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Send `task` with these (JSON-able) arguments once the current transaction commits.

    Outside a transaction it is sent at once. With the embedded default (no broker), the task
    runs in-process: after the response when inside a request (TasksAfterResponseMiddleware),
    at that moment otherwise. A failure to enqueue (broker down) or of an in-process
    task is logged and goes no further: the request that committed still succeeds, every
    other on-commit hook of its transaction still runs, and the periodic sweeps find the work
    again from the database, which is the record of what is left to do (see the README,
    "When a dependency is down").
    """

    def send() -> None:
        try:
            task.delay(*args, **kwargs)
        except Exception as exc:
            if app.conf.task_always_eager:
                # In-process: the task itself failed (a bug or an outside service); its
                # traceback is what the developer needs.
                logger.exception("task %s%r failed in-process", _task_name(task), args)
            else:
                # One line: which task and ids; the sweeps will do the work.
                logger.warning(
                    "enqueue of %s%r failed after commit, left for the sweeps: %s: %s",
                    _task_name(task),
                    args,
                    exc.__class__.__name__,
                    exc,
                )

    def send_or_defer() -> None:
        pending = _after_response.get()
        if pending is not None and app.conf.task_always_eager:
            pending.append(send)  # in-process: after the response, not inside the request
        else:
            send()

    # Not `robust=True`: Django's robust hook logs the callback's __qualname__, which a
    # functools.partial lacks (an AttributeError that turned a broker outage into a 500).
    transaction.on_commit(send_or_defer)


@task_retry.connect
def _fresh_pool_after_a_database_outage(reason: BaseException | None = None, **_: Any) -> None:
    """A task retried because the database was unreachable drops the worker's connection
    pool: the pool's own reconnection backs off for tens of seconds, a new one connects as
    soon as the database is back (as the web processes do, see frt_crm.middleware)."""
    from .middleware import database_pool_reset, is_database_outage

    if reason is not None and is_database_outage(reason):
        database_pool_reset()
