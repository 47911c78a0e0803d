"""Celery tasks of the reporting app (queue "reports"): thin, idempotent, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from .services.rollups import rollup_reconcile, rollup_refresh

# A refresh takes well under a second, but the first one on an empty state rebuilds every
# rollup (a quarter of an hour at 3.5 million tickets): both tasks get a long time limit. A
# copy redelivered meanwhile finds the lock held and returns at once.
LONG = {"soft_time_limit": 3600, "time_limit": 3660}


@shared_task(
    name="reporting.tasks.refresh_rollups",
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
    ignore_result=True,
    **LONG,
)
def refresh_rollups() -> dict:
    """Recompute the days changed since the last run (a run finding the lock held skips)."""
    report = rollup_refresh()
    return {"days": report.days, "seconds": round(report.seconds, 3), "skipped": report.skipped}


@shared_task(
    name="reporting.tasks.reconcile_rollups",
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=3,
    ignore_result=True,
    **LONG,
)
def reconcile_rollups() -> dict:
    """Nightly: also recompute the days of tickets saved without writing an event."""
    report = rollup_reconcile()
    return {"days": report.days, "seconds": round(report.seconds, 3)}
