"""Celery tasks of the intake: thin, ids as arguments, safe to run twice.

Routing (settings.CELERY_TASK_ROUTES): `send_*` and `poll_*` on the mail queue, `ocr_*` on the
ocr queue, so a burst of scans never delays mail.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from frt_crm.celery import enqueue_on_commit

logger = logging.getLogger(__name__)


@shared_task
def poll_mailboxes() -> None:
    """Beat: one polling task per active mailbox."""
    from .services.mailboxes import mailboxes_due

    for mailbox_id in mailboxes_due():
        enqueue_on_commit(poll_mailbox, mailbox_id)


@shared_task(soft_time_limit=240)
def poll_mailbox(mailbox_id: int) -> None:
    from .services.mailboxes import mailbox_poll

    mailbox_poll(mailbox_id=mailbox_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=60, max_retries=3)
def ocr_letter_scan(scan_id: int) -> None:
    """Read a letter's scan with Tesseract (a scan no longer pending is left alone)."""
    from .services.letters import letter_scan_ocr

    letter_scan_ocr(scan_id=scan_id)


@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=3)
def ocr_sweep() -> dict:
    """Beat (OCR_SWEEP_SECONDS): scans whose OCR message was lost, and scans waiting for
    Tesseract once it is back, are enqueued again (see letter_scans_ocr_sweep)."""
    from .services.letters import letter_scans_ocr_sweep

    return letter_scans_ocr_sweep()
