"""The Celery application, and the one way the code enqueues a task.

Tasks are enqueued after the surrounding transaction commits, never inside it: a worker must
not pick up a task for a row it cannot see yet, and a rolled-back request must not leave a
task behind.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any

from celery import Celery
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frt_crm.settings")

app = Celery("frt_crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Send `task` with these (JSON-able) arguments once the current transaction commits.

    Outside a transaction it is sent at once. With the embedded default (no broker), the task
    runs in-process at that moment. `robust`: a failure to enqueue (or of an in-process task)
    is logged and does not undo or fail the request that committed: the periodic sweeps find
    the work again from the database.
    """
    transaction.on_commit(partial(task.delay, *args, **kwargs), robust=True)
