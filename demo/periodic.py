"""The beat schedule run in-process, for the embedded default (no broker, so no celery beat).

Entries are read from `settings.CELERY_BEAT_SCHEDULE` (nothing is duplicated here); each is
called in this process when its schedule says it is due. Interval entries run once at start,
crontab ones at their next time, as celery beat does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from celery.schedules import BaseSchedule, crontab, schedule
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


def _as_schedule(value) -> BaseSchedule:
    if isinstance(value, BaseSchedule):
        return value
    if isinstance(value, timedelta):
        return schedule(value)
    return schedule(timedelta(seconds=float(value)))


def call_task(name: str, args: tuple, kwargs: dict) -> None:
    """Run the registered Celery task `name` here, now (as the worker would)."""
    from frt_crm.celery import app

    app.loader.import_default_modules()
    result = app.tasks[name].apply(args=args, kwargs=kwargs)
    if result.failed():
        logger.error("periodic task %s failed: %r", name, result.result)


class Runner:
    def __init__(self, entries: dict | None = None, call: Callable = call_task, now=None):
        self.entries = settings.CELERY_BEAT_SCHEDULE if entries is None else entries
        self.call = call
        started = now or timezone.now()
        self.schedules = {
            key: _as_schedule(entry["schedule"]) for key, entry in self.entries.items()
        }
        # Interval entries are due at once; crontab entries count from the start.
        self.last_run = {
            key: started if isinstance(sched, crontab) else started - sched.run_every
            for key, sched in self.schedules.items()
        }

    def run_due(self, now=None) -> tuple[list[str], float]:
        """Call every entry due at `now`; return the names called and the seconds until the
        next one is due."""
        now = now or timezone.now()
        called, next_in = [], 60.0
        for key, sched in self.schedules.items():
            sched.nowfun = lambda now=now: now
            due, wait = sched.is_due(self.last_run[key])
            if due:
                entry = self.entries[key]
                logger.info("periodic task %s (%s)", key, entry["task"])
                try:
                    self.call(entry["task"], tuple(entry.get("args", ())), entry.get("kwargs", {}))
                except Exception:
                    logger.exception("periodic task %s failed", key)
                self.last_run[key] = now
                called.append(key)
            next_in = min(next_in, wait)
        return called, max(1.0, next_in)
