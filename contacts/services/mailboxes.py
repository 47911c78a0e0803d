"""The IMAP poller: each active brand mailbox, fetched, ingested, moved when committed."""

from __future__ import annotations

import imaplib
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ..channels.imap import ImapError, ImapSettings, imap_session
from ..models import Mailbox
from .email_intake import email_ingest_batch
from .quarantine import quarantine_put

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
# Messages written in one transaction (as `ingest_email` does): one commit and one triage
# message per batch instead of one per message.
BATCH = 50


@dataclass
class PollReport:
    mailbox: int
    fetched: int = 0
    statuses: dict = field(default_factory=dict)
    error: str = ""
    skipped: bool = False


def mailbox_poll(*, mailbox_id: int, limit: int | None = None) -> PollReport:
    """Fetch the mailbox's new messages, ingest each, and move it to the processed folder once
    its contact (or quarantine entry) is committed.

    Two pollers never work one mailbox at once: the first takes a lease by a conditional
    update; the lease expires by itself if its worker dies. Errors are kept on the mailbox.
    """
    report = PollReport(mailbox=mailbox_id)
    now = timezone.now()
    claimed = Mailbox.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now), pk=mailbox_id, is_active=True
    ).update(lease_until=now + LEASE)
    if not claimed:
        report.skipped = True
        return report
    mailbox = Mailbox.objects.select_related("brand").get(pk=mailbox_id)
    limit = limit or getattr(settings, "MAILBOX_POLL_BATCH", 200)
    max_bytes = getattr(settings, "INTAKE_MAX_EMAIL_BYTES", settings.MAX_UPLOAD_BYTES)
    config = ImapSettings(
        host=mailbox.host,
        port=mailbox.port,
        username=mailbox.username,
        password=mailbox.password,
        use_tls=mailbox.use_tls,
        folder=mailbox.folder,
        processed_folder=mailbox.processed_folder,
    )
    detail = f"{mailbox.username}@{mailbox.host}/{mailbox.folder}"
    try:
        with imap_session(config) as session:
            session.ensure_folder(mailbox.processed_folder)
            batch: list[tuple[int, bytes]] = []
            for uid in session.uids(limit):
                raw = session.fetch(uid)
                if raw is None:
                    continue
                report.fetched += 1
                if len(raw) > max_bytes:
                    quarantine_put(
                        source="imap",
                        reason_code="too_large",
                        reason=f"message too large: {len(raw)} bytes (limit {max_bytes} bytes)",
                        data=raw,
                        extension="eml",
                        content_type="message/rfc822",
                        source_detail=detail,
                        brand=mailbox.brand,
                    )
                    session.move(uid, mailbox.processed_folder)
                    _count(report, "rejected")
                    continue
                batch.append((uid, raw))
                if len(batch) >= BATCH:
                    _ingest(session, batch, mailbox=mailbox, detail=detail, report=report)
                    batch = []
            _ingest(session, batch, mailbox=mailbox, detail=detail, report=report)
    except (ImapError, imaplib.IMAP4.error, OSError) as exc:
        # The connection broke mid-way: what was committed stays; the rest waits in the inbox.
        report.error = str(exc) or type(exc).__name__
        logger.warning("mailbox %s: %s", mailbox, exc)
    finally:
        Mailbox.objects.filter(pk=mailbox_id).update(
            lease_until=None, last_polled_at=timezone.now(), last_error=report.error
        )
    return report


def _count(report: PollReport, status: str) -> None:
    report.statuses[status] = report.statuses.get(status, 0) + 1


def _ingest(session, batch, *, mailbox: Mailbox, detail: str, report: PollReport) -> None:
    """Take a batch in with one commit (each message on its own if the batch fails), then
    move its messages out of the inbox."""
    outcomes = email_ingest_batch(
        items=[(raw, detail) for _, raw in batch], source="imap", brand=mailbox.brand
    )
    # Committed: now they may leave the inbox (a broken connection leaves the rest there, and
    # a message taken in twice is a duplicate, recognised by its Message-ID).
    for (uid, _), outcome in zip(batch, outcomes, strict=True):
        session.move(uid, mailbox.processed_folder)
        _count(report, outcome.status)


def mailboxes_due() -> list[int]:
    return list(Mailbox.objects.filter(is_active=True).values_list("pk", flat=True))
