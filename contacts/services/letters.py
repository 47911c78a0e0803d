"""The mailroom: scans uploaded, read by OCR, checked by a person, registered as contacts.

Upload stores each letter's scan at once (the raw input first); OCR runs in a Celery task on
the `ocr` queue; registration goes through the one intake service, the scan becoming the
contact's raw file. Where Tesseract is absent the letter is registered without OCR, and the
contact says so.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import permissions
from accounts.models import User

from ..channels import ocr
from ..channels.letter import pages_to_pdf, parse_split, propose_identity, scan_type
from ..models import Brand, Channel, LetterBatch, LetterScan, Programme, Ticket, Viewer
from .intake import InboundMessage, IntakeResult, SenderIdentity, contact_intake

logger = logging.getLogger(__name__)


class ScanRejected(ValueError):
    """An upload the mailroom cannot take (type, size, split), with the reason to show."""


@dataclass(frozen=True)
class ScanUpload:
    name: str
    data: bytes


def _store_scan(data: bytes, ext: str) -> tuple[str, str]:
    digest = hashlib.sha256(data).hexdigest()
    name = default_storage.save(
        f"scans/{timezone.now():%Y/%m/%d}/{digest[:20]}.{ext}", ContentFile(data)
    )
    return name, digest


def _page_count(path: Path, ctype: str) -> int:
    if ctype == "application/pdf":
        with tempfile.TemporaryDirectory(prefix="pages-") as tmp:
            return len(ocr.render_pages(path, ctype, Path(tmp), dpi=20))
    from PIL import Image

    with Image.open(path) as image:
        return getattr(image, "n_frames", 1)


def read_upload(file: UploadedFile, *, max_bytes: int) -> ScanUpload:
    """The uploaded file's bytes, refused when too large or not a supported scan."""
    if file.size is not None and file.size > max_bytes:
        raise ScanRejected(f"{file.name}: too large ({file.size} bytes; limit {max_bytes} bytes)")
    data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ScanRejected(f"{file.name}: too large (limit {max_bytes} bytes)")
    if scan_type(data[:16]) is None:
        raise ScanRejected(f"{file.name}: not a PDF, JPEG, PNG or TIFF scan")
    return ScanUpload(name=file.name or "scan", data=data)


def letter_batch_upload(
    *,
    by: User,
    brand: Brand | None,
    uploads: list[ScanUpload],
    one_letter: bool,
    split: str = "",
    note: str = "",
) -> LetterBatch:
    """Register a day's scans: one letter made of all the files, or each file a letter (a
    multi-page file split by `split`, see `parse_split`). Each letter's scan is stored and
    its OCR enqueued after commit. Requires `register_letters` and the brand in scope."""
    permissions.require(by, "register_letters")
    scope = permissions.brand_scope(by)
    if brand is not None and scope is not None and brand.pk not in scope:
        raise PermissionDenied
    if not uploads:
        raise ScanRejected("no file")
    letters: list[tuple[str, bytes, str, str, int]] = []  # name, data, ctype, ext, pages
    with tempfile.TemporaryDirectory(prefix="mailroom-") as tmp:
        workdir = Path(tmp)
        if (one_letter and len(uploads) == 1) or (not one_letter and not split):
            # Each file as uploaded is one letter: its scan is kept exactly as received.
            for up in uploads:
                ctype, ext = scan_type(up.data[:16])
                path = workdir / f"in.{ext}"
                path.write_bytes(up.data)
                try:
                    pages = _page_count(path, ctype)
                except (ocr.OcrError, OSError) as exc:
                    raise ScanRejected(f"{up.name}: unreadable scan ({exc})") from None
                letters.append((up.name, up.data, ctype, ext, pages))
        else:
            # Pages of every file, in order, then grouped into letters.
            images: list[Path] = []
            names = []
            for index, up in enumerate(uploads):
                ctype, ext = scan_type(up.data[:16])
                sub = workdir / str(index)
                sub.mkdir()
                path = sub / f"in.{ext}"
                path.write_bytes(up.data)
                try:
                    pages = ocr.render_pages(path, ctype, sub, dpi=150)
                except ocr.OcrError as exc:
                    raise ScanRejected(f"{up.name}: {exc}") from None
                images.extend(p for p in pages if p.name != path.name)
                names.append(up.name)
            groups = [list(range(1, len(images) + 1))] if one_letter else None
            if groups is None:
                try:
                    groups = parse_split(split, len(images))
                except ValueError as exc:
                    raise ScanRejected(str(exc)) from None
            label = names[0] if len(names) == 1 else f"{names[0]} (+{len(names) - 1})"
            for group in groups:
                pdf = pages_to_pdf([images[i - 1] for i in group])
                pages_label = f"{group[0]}-{group[-1]}" if len(group) > 1 else str(group[0])
                letters.append(
                    (
                        f"{label} p. {pages_label}" if len(groups) > 1 or len(names) > 1 else label,
                        pdf,
                        "application/pdf",
                        "pdf",
                        len(group),
                    )
                )
    with transaction.atomic():
        batch = LetterBatch.objects.create(uploaded_by=by, brand=brand, note=note[:200])
        for name, data, ctype, ext, pages in letters:
            stored, digest = _store_scan(data, ext)
            scan = LetterScan.objects.create(
                batch=batch,
                file=stored,
                original_filename=name[:255],
                content_type=ctype,
                size=len(data),
                sha256=digest,
                pages=pages,
            )
            _enqueue_ocr([scan.pk])
    return batch


def letter_scan_ocr(*, scan_id: int) -> LetterScan:
    """Read the scan with Tesseract and propose the sender. Safe to run twice: only a scan
    still `pending` is read. Without Tesseract the scan is marked for registration without
    OCR, with the reason."""
    scan = LetterScan.objects.get(pk=scan_id)
    if scan.state != LetterScan.State.PENDING:
        return scan
    updates: dict = {"ocr_at": timezone.now()}
    if not ocr.ocr_available():
        updates.update(
            state=LetterScan.State.NO_OCR,
            ocr_note="Tesseract with its French model is not available: the letter waits for "
            "OCR (the sweep reads it once Tesseract is back), or is keyed in by hand.",
        )
    else:
        try:
            with tempfile.TemporaryDirectory(prefix="ocr-") as tmp:
                path = Path(tmp) / f"scan.{Path(scan.file.name).suffix.lstrip('.') or 'bin'}"
                with scan.file.open("rb") as fh:
                    path.write_bytes(fh.read())
                result = ocr.ocr_scan(path, scan.content_type)
        except ocr.OcrError as exc:
            updates.update(state=LetterScan.State.OCR_FAILED, ocr_note=f"OCR failed: {exc}")
        else:
            updates.update(
                state=LetterScan.State.READY,
                ocr_text=result.text,
                ocr_confidence=result.confidence,
                proposed=propose_identity(result.text).as_dict(),
                pages=result.pages or scan.pages,
            )
    LetterScan.objects.filter(pk=scan.pk, state=LetterScan.State.PENDING).update(**updates)
    scan.refresh_from_db()
    return scan


# Scans whose OCR may be asked for again: waiting for Tesseract, or failed.
_OCR_AGAIN = (LetterScan.State.NO_OCR, LetterScan.State.OCR_FAILED)


def _enqueue_ocr(scan_ids: list[int]) -> None:
    """Ask for the OCR of these scans after commit, dated (see `letter_scans_ocr_sweep`)."""
    from frt_crm.celery import enqueue_on_commit

    from ..tasks import ocr_letter_scan

    LetterScan.objects.filter(pk__in=scan_ids).update(ocr_queued_at=timezone.now())
    for scan_id in scan_ids:
        enqueue_on_commit(ocr_letter_scan, scan_id)


def letter_scan_ocr_retry(*, scan: LetterScan, by: User) -> bool:
    """The mailroom's Retry: a letter waiting for OCR (or whose OCR failed) is read again.
    Returns False when there is nothing to retry (pending, read or registered meanwhile).
    Requires `register_letters` and the brand in scope; OCR is enqueued after commit."""
    permissions.require(by, "register_letters")
    scope = permissions.brand_scope(by)
    if scope is not None and scan.batch.brand_id is not None and scan.batch.brand_id not in scope:
        raise PermissionDenied
    with transaction.atomic():
        moved = LetterScan.objects.filter(pk=scan.pk, state__in=_OCR_AGAIN).update(
            state=LetterScan.State.PENDING, ocr_note=""
        )
        if moved:
            _enqueue_ocr([scan.pk])
    scan.refresh_from_db()
    return bool(moved)


def letter_scans_ocr_sweep(*, stalled_after: timedelta | None = None, limit: int = 500) -> dict:
    """Beat (OCR_SWEEP_SECONDS): find again the OCR work a lost message or an absent
    Tesseract left behind. Scans `pending` for longer than `stalled_after` (their task
    message was lost: a worker killed, the broker restarted empty) are enqueued again; scans
    waiting for OCR are put back to `pending` and enqueued once Tesseract is available.
    Safe to run twice: the task reads only a scan still `pending`."""
    stalled_after = stalled_after or timedelta(minutes=settings.OCR_STALLED_AFTER_MINUTES)
    cutoff = timezone.now() - stalled_after
    with transaction.atomic():
        stalled = list(
            LetterScan.objects.filter(state=LetterScan.State.PENDING)
            .filter(
                Q(ocr_queued_at__lt=cutoff)
                | Q(ocr_queued_at__isnull=True, batch__uploaded_at__lt=cutoff)
            )
            .values_list("pk", flat=True)[:limit]
        )
        waiting: list[int] = []
        if ocr.ocr_available():
            waiting = list(
                LetterScan.objects.filter(state=LetterScan.State.NO_OCR).values_list(
                    "pk", flat=True
                )[:limit]
            )
            LetterScan.objects.filter(pk__in=waiting, state=LetterScan.State.NO_OCR).update(
                state=LetterScan.State.PENDING, ocr_note=""
            )
        _enqueue_ocr(stalled + waiting)
    if stalled or waiting:
        logger.warning(
            "OCR sweep: %d stalled scan(s) and %d waiting for Tesseract enqueued again",
            len(stalled),
            len(waiting),
        )
    return {"stalled": len(stalled), "waiting": len(waiting)}


@dataclass(frozen=True)
class LetterRegistration:
    brand: Brand
    sender: SenderIdentity
    subject: str
    body: str
    viewer: Viewer | None = None  # an existing viewer the mailroom chose
    programme: Programme | None = None
    ticket: Ticket | None = None


def letter_register(*, scan: LetterScan, by: User, data: LetterRegistration) -> IntakeResult:
    """Register the checked letter: the contact (channel letter, the scan as its raw file) on
    its viewer's ticket. Requires `register_letters`; a scan is registered once."""
    permissions.require(by, "register_letters")
    scope = permissions.brand_scope(by)
    if scope is not None and data.brand.pk not in scope:
        raise PermissionDenied
    meta = {"scan": scan.pk, "pages": scan.pages}
    if scan.state == LetterScan.State.NO_OCR or not scan.ocr_text:
        meta["ocr"] = "unavailable" if scan.state == LetterScan.State.NO_OCR else "none"
        meta["ocr_note"] = scan.ocr_note or "registered without OCR"
    else:
        meta["ocr"] = "done"
        meta["ocr_confidence"] = scan.ocr_confidence
    message = InboundMessage(
        channel=Channel.LETTER,
        external_source="letter-scan",
        external_id=str(scan.pk),
        raw_file_name=scan.file.name,
        raw_sha256=scan.sha256,
        sender=data.sender,
        viewer=data.viewer,
        brand=data.brand,
        programme=data.programme,
        subject=data.subject,
        body_text=data.body,
        ticket=data.ticket,
        author=by,
        meta=meta,
    )
    with transaction.atomic():
        locked = LetterScan.objects.select_for_update().get(pk=scan.pk)
        result = contact_intake(message=message)
        if locked.contact_id is None and result.contact is not None:
            LetterScan.objects.filter(pk=scan.pk).update(
                state=LetterScan.State.REGISTERED,
                contact=result.contact,
                registered_by=by,
                registered_at=timezone.now(),
            )
    scan.refresh_from_db()
    return result
