"""The quarantine: inputs the intake could not, or would not, turn into contacts.

Nothing is dropped. An unparseable mail, an oversized one, a flood, a robot's web form: each
is kept with its raw bytes and its reason. Managers see them, retry them (the channel's
intake runs again, with its refusals lifted) or discard them (the state changes, the bytes
stay).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import IO

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts import permissions
from accounts.models import User
from accounts.services import audit_record
from frt_crm.middleware import is_database_outage

from ..models import Brand, QuarantineItem

logger = logging.getLogger(__name__)

# Retry handlers by source, named rather than imported (they import this module):
# handler(item=, data=, by=) -> (contact or None, reason).
RETRY_HANDLERS: dict[str, str] = {
    "email": "contacts.services.email_intake.email_retry",
    "imap": "contacts.services.email_intake.email_retry",
    "gateway": "contacts.services.email_intake.email_retry",
    "web": "contacts.services.webform.webform_retry",
}


def _store(data: bytes | None, stream: IO[bytes] | None, extension: str) -> tuple[str, str, int]:
    day = timezone.now().strftime("%Y/%m/%d")
    if data is not None:
        digest = hashlib.sha256(data).hexdigest()
        name = f"quarantine/{day}/{digest}.{extension}"
        if not default_storage.exists(name):
            name = default_storage.save(name, ContentFile(data))
        return name, digest, len(data)
    # A stream too large to hold in memory: hash while copying.
    assert stream is not None
    sha = hashlib.sha256()
    size = 0
    stream.seek(0)
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        sha.update(chunk)
        size += len(chunk)
    stream.seek(0)
    digest = sha.hexdigest()
    name = f"quarantine/{day}/{digest}.{extension}"
    if not default_storage.exists(name):
        name = default_storage.save(name, File(stream))
    return name, digest, size


def quarantine_put(
    *,
    source: str,
    reason_code: str,
    reason: str,
    data: bytes | None = None,
    stream: IO[bytes] | None = None,
    extension: str = "bin",
    content_type: str = "",
    source_detail: str = "",
    brand: Brand | None = None,
    ignored: bool = False,
    meta: dict | None = None,
) -> tuple[QuarantineItem, bool]:
    """Keep an input aside with its reason; returns (item, created).

    The same bytes from the same source are one item: a re-fetch counts one more attempt and
    refreshes the reason. Commits on its own (or with the caller's transaction).
    """
    name, digest, size = _store(data, stream, extension)
    state = QuarantineItem.State.IGNORED if ignored else QuarantineItem.State.HELD
    now = timezone.now()
    existing = QuarantineItem.objects.filter(source=source, raw_sha256=digest).first()
    if existing is None:
        try:
            with transaction.atomic():
                item = QuarantineItem.objects.create(
                    source=source,
                    source_detail=source_detail[:255],
                    raw_file=name,
                    raw_sha256=digest,
                    size=size,
                    content_type=content_type[:127],
                    reason_code=reason_code[:32],
                    reason=reason,
                    state=state,
                    brand=brand,
                    received_at=now,
                    last_attempt_at=now,
                    meta=meta or {},
                )
            logger.info("quarantined %s input %s: %s", source, digest[:12], reason)
            return item, True
        except IntegrityError:
            existing = QuarantineItem.objects.get(source=source, raw_sha256=digest)
    QuarantineItem.objects.filter(pk=existing.pk).update(
        attempts=F("attempts") + 1, last_attempt_at=now
    )
    existing.refresh_from_db()
    return existing, False


def quarantine_retry(*, item: QuarantineItem, by: User) -> QuarantineItem:
    """Run the item through its channel's intake again, with the refusals that held it
    (flood, honeypot, automatic mail) lifted. Released on success; otherwise it stays held
    with the new reason. Requires `manage_quarantine`."""
    permissions.require(by, "manage_quarantine")
    path = RETRY_HANDLERS.get(item.source)
    if path is None:
        raise ValueError(f"no retry handler for source {item.source!r}")
    handler: Callable = import_string(path)
    with item.raw_file.open("rb") as fh:
        data = fh.read()
    try:
        contact, reason = handler(item=item, data=data, by=by)
    except Exception as exc:
        if is_database_outage(exc):
            raise  # a 503 with Retry-After (frt_crm.middleware): try again shortly
        # A bug met again: the item stays held with what went wrong, the page does not fail.
        logger.exception("quarantine retry of item %s failed", item.pk)
        contact, reason = None, f"retry failed: internal error ({type(exc).__name__})"
    now = timezone.now()
    if contact is not None:
        QuarantineItem.objects.filter(pk=item.pk).update(
            state=QuarantineItem.State.RELEASED,
            contact=contact,
            resolved_at=now,
            resolved_by=by,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
        )
    else:
        QuarantineItem.objects.filter(pk=item.pk).update(
            reason=reason or item.reason, attempts=F("attempts") + 1, last_attempt_at=now
        )
    audit_record(
        actor=by,
        action="quarantine.retry",
        obj=item,
        data={"released": contact is not None, "reason": reason},
    )
    item.refresh_from_db()
    return item


def quarantine_discard(*, item: QuarantineItem, by: User, note: str = "") -> QuarantineItem:
    """Mark the item discarded. Its raw bytes are kept; the audit log says who and why."""
    permissions.require(by, "manage_quarantine")
    QuarantineItem.objects.filter(pk=item.pk).update(
        state=QuarantineItem.State.DISCARDED, resolved_at=timezone.now(), resolved_by=by
    )
    audit_record(actor=by, action="quarantine.discard", obj=item, data={"note": note[:500]})
    item.refresh_from_db()
    return item
