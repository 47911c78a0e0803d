"""Thin tasks of the data lifecycle (reports queue): build an access file, run the retention
policy in slices (each slice re-enqueues the next until the run is done)."""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, max_retries=3, default_retry_delay=60, acks_late=True)
def build_access_file(self, request_id: int) -> None:
    from .services.access import access_file_build

    try:
        access_file_build(request_id=request_id)
    except OSError as exc:  # the file store or the PDF renderer's fonts: try again later
        raise self.retry(exc=exc) from exc


@shared_task(acks_late=True)
def retention_nightly(run_id: int | None = None) -> None:
    from .models import RetentionRun
    from .services.retention import retention_run

    run = retention_run(run_id=run_id)
    if run.state == RetentionRun.State.RUNNING:
        retention_nightly.delay(run.pk)
