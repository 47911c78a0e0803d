"""The right of access (GDPR art. 15): the viewer's file, as a ZIP (JSON and the original
files) and a readable PDF in French, downloaded by a signed link that expires.

What the file holds: identity, addresses, emails, phones, consents with their history,
every ticket with its contacts in every channel (both directions: the viewer's messages and
the replies sent to them) with attachments, scans and raw inputs, the ticket's history,
surveys, call records, quarantined inputs from their addresses, comments on opinions, and the
GDPR requests themselves.

Internal notes (the documented rule, README "Data lifecycle"):
- the notes staff write on a ticket (levels 1 and 2) are personal data about the viewer and
  are included; staff know notes are part of the viewer's file. The person who sends the file
  reads the PDF first and withholds, by hand, a note that would reveal a third party (art.
  15(4));
- mediators' confidential notes are withheld unless a mediator released them for this request
  (recorded on the request and in the audit log);
- the audit log (staff's actions) and the triage's internals are not the viewer's data and
  are left out; the triage's decision (topic, level) is included.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.services import audit_record

from .. import policy
from ..models import PrivacyRequest, RequestKind, RequestState, RetentionKind
from .requests import RequestError, _audit, new_nonce, privacy_request_open

logger = logging.getLogger(__name__)

TOKEN_SALT = "privacy.access"
DEFAULT_LINK_DAYS = 7


def link_days() -> int:
    from ..models import RetentionRule

    days = (
        RetentionRule.objects.filter(kind=RetentionKind.ACCESS_EXPORTS)
        .values_list("days", flat=True)
        .first()
    )
    return days or DEFAULT_LINK_DAYS


def access_request(*, viewer, by, ticket=None, request=None) -> PrivacyRequest:
    """Record an access request and build the viewer's file in the background (reports
    queue). Requires `handle` on the viewer."""
    from frt_crm.celery import enqueue_on_commit

    from ..tasks import build_access_file

    with transaction.atomic():
        obj = privacy_request_open(
            kind=RequestKind.ACCESS, viewer=viewer, by=by, ticket=ticket, request=request
        )
        PrivacyRequest.objects.filter(pk=obj.pk).update(state=RequestState.BUILDING)
        obj.state = RequestState.BUILDING
        enqueue_on_commit(build_access_file, obj.pk)
    return obj


def mediation_notes_release(*, privacy_request: PrivacyRequest, by, request=None) -> None:
    """A mediator decides that their confidential notes go into this access file (recorded);
    the file is built again."""
    from frt_crm.celery import enqueue_on_commit

    from ..tasks import build_access_file

    policy.require(by, "release_mediation_notes")
    if privacy_request.kind != RequestKind.ACCESS or not privacy_request.is_open:
        raise RequestError(_("This request is closed."))
    with transaction.atomic():
        PrivacyRequest.objects.filter(pk=privacy_request.pk).update(
            mediation_notes_released_by=by,
            mediation_notes_released_at=timezone.now(),
            state=RequestState.BUILDING,
        )
        _audit(privacy_request, by=by, action="privacy.mediation_notes_release", request=request)
        enqueue_on_commit(build_access_file, privacy_request.pk)


# --- the file ----------------------------------------------------------------------------------


def _dt(value) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def _file_entry(files: dict[str, Any], folder: str, field_file, label: str) -> str | None:
    """Put a stored file into the archive's `files/` and return its path there."""
    if not field_file:
        return None
    base = field_file.name.rsplit("/", 1)[-1]
    path = f"files/{folder}/{base}"
    files[path] = field_file.name
    return path


def access_file_data(*, viewer, include_mediation_notes: bool = False) -> tuple[dict, dict]:
    """The viewer's file as JSON-able data, and {archive path: storage name} of its files."""
    from contacts.models import CallRecord, Contact, QuarantineItem, Ticket
    from mediation.models import CaseTicket, ConfidentialNote, OpinionComment

    from .erasure import erasure_target

    target = erasure_target(viewer_id=viewer.pk)
    files: dict[str, str] = {}
    emails = list(viewer.emails.order_by("-is_primary", "email"))
    data: dict[str, Any] = {
        "generated_at": _dt(timezone.now()),
        "controller": settings.PRIVACY_CONTROLLER,
        "viewer": {
            "number": viewer.pk,
            "civility": viewer.civility,
            "first_name": viewer.first_name,
            "last_name": viewer.last_name,
            "organisation": viewer.organisation,
            "sender_kind": viewer.get_sender_kind_display(),
            "address": [line for line in (viewer.address_line1, viewer.address_line2) if line],
            "postcode": viewer.postcode,
            "city": viewer.city,
            "country": viewer.country,
            "language": viewer.language,
            "created_at": _dt(viewer.created_at),
            "merged_records": [i for i in target.viewer_ids if i != viewer.pk],
        },
        "emails": [
            {"email": e.email, "primary": e.is_primary, "failing": e.is_failing} for e in emails
        ],
        "phones": [
            {"number": p.number, "primary": p.is_primary}
            for p in viewer.phones.order_by("-is_primary", "number")
        ],
        "consents": [
            {
                "kind": c.get_kind_display(),
                "granted": c.granted,
                "recorded_at": _dt(c.recorded_at),
                "source": c.source,
            }
            for c in viewer.consents.order_by("recorded_at", "id")
        ],
        "tickets": [],
        "calls": [],
    }
    tickets = (
        Ticket.objects.filter(id__in=target.ticket_ids)
        .select_related("brand", "programme")
        .prefetch_related("events", "notes")
        .order_by("created_at", "id")
    )
    contacts_by_ticket: dict[int, list] = {}
    for c in (
        Contact.objects.filter(id__in=target.contact_ids)
        .prefetch_related("attachments")
        .select_related("letter_scan")
        .order_by("occurred_at", "id")
    ):
        contacts_by_ticket.setdefault(c.ticket_id, []).append(c)
    cases_by_ticket: dict[int, list] = {}
    for link in CaseTicket.objects.filter(ticket_id__in=target.ticket_ids).select_related(
        "case", "case__opinion"
    ):
        cases_by_ticket.setdefault(link.ticket_id, []).append(link.case)
    for t in tickets:
        contacts = []
        for c in contacts_by_ticket.get(t.pk, []):
            folder = f"contact-{c.pk}"
            entry = {
                "date": _dt(c.occurred_at),
                "channel": c.get_channel_display(),
                "direction": c.get_direction_display(),
                "from": c.sender_address,
                "subject": c.subject,
                "text": c.body_text,
                "raw_input": _file_entry(files, folder, c.raw_file, "raw"),
                "attachments": [
                    {
                        "name": a.filename,
                        "type": a.content_type,
                        "size": a.size,
                        "file": _file_entry(files, f"{folder}/attachments", a.file, a.filename),
                    }
                    for a in c.attachments.all()
                ],
            }
            scan = getattr(c, "letter_scan", None)
            if scan is not None:
                entry["scan"] = {
                    "file": _file_entry(files, f"{folder}/scan", scan.file, "scan"),
                    "ocr_text": scan.ocr_text,
                    "pages": scan.pages,
                }
            contacts.append(entry)
        cases = []
        for case in cases_by_ticket.get(t.pk, []):
            item = {
                "reference": case.reference,
                "title": case.title,
                "status": case.get_status_display(),
                "outcome": case.get_outcome_display(),
            }
            opinion = getattr(case, "opinion", None)
            if opinion is not None and opinion.is_published:
                item["published_opinion"] = {"title": opinion.title, "body": opinion.body}
            if include_mediation_notes:
                item["confidential_notes"] = [
                    {"date": _dt(n.created_at), "text": n.body}
                    for n in ConfidentialNote.objects.filter(case=case)
                ]
            cases.append(item)
        survey = getattr(t, "survey", None) if hasattr(t, "survey") else None
        data["tickets"].append(
            {
                "reference": t.reference,
                "created_at": _dt(t.created_at),
                "channel": t.get_channel_display(),
                "brand": t.brand.name if t.brand else "",
                "programme": t.programme.name if t.programme else "",
                "subject": t.subject,
                "topic": t.get_topic_display(),
                "level": t.level,
                "status": t.get_status_display(),
                "resolved_at": _dt(t.resolved_at),
                "outcome": t.get_outcome_display(),
                "history": [
                    {"date": _dt(e.at), "event": e.get_kind_display(), "reason": e.reason}
                    for e in t.events.all()
                ],
                "internal_notes": [
                    {"date": _dt(n.created_at), "level": n.level, "text": n.body}
                    for n in t.notes.all()
                ],
                "contacts": contacts,
                "survey": (
                    {
                        "sent_at": _dt(survey.sent_at),
                        "answered_at": _dt(survey.answered_at),
                        "score": survey.score,
                        "comment": survey.comment,
                    }
                    if survey is not None
                    else None
                ),
                "mediation": cases,
            }
        )
    for call in CallRecord.objects.filter(viewer_id__in=target.viewer_ids).order_by("rang_at"):
        data["calls"].append(
            {
                "rang_at": _dt(call.rang_at),
                "caller_number": call.caller_number,
                "wait_seconds": call.wait_seconds,
                "handling_seconds": call.handling_seconds,
                "abandoned": call.abandoned,
            }
        )
    data["quarantined_inputs"] = [
        {
            "received_at": _dt(q.received_at),
            "from": q.source_detail,
            "reason": q.reason,
            "file": _file_entry(files, f"quarantine-{q.pk}", q.raw_file, "raw"),
        }
        for q in QuarantineItem.objects.filter(source_detail__in=target.emails)
    ]
    data["opinion_comments"] = [
        {"date": _dt(c.created_at), "name": c.author_name, "text": c.body}
        for c in OpinionComment.objects.filter(email__in=target.emails)
    ]
    data["gdpr_requests"] = [
        {
            "kind": r.get_kind_display(),
            "received_on": r.received_on.isoformat(),
            "state": r.get_state_display(),
            "outcome": r.outcome,
        }
        for r in PrivacyRequest.objects.filter(viewer_id__in=target.viewer_ids)
    ]
    return data, files


def _zip(data: dict, files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("donnees.json", json.dumps(data, ensure_ascii=False, indent=2))
        with override("fr"):
            archive.writestr("LISEZMOI.txt", render_to_string("privacy/access_readme.txt", {}))
        for path, name in files.items():
            try:
                with default_storage.open(name, "rb") as f:
                    archive.writestr(path, f.read())
            except OSError:
                logger.warning("access file: %s missing from the file store", name)
    return out.getvalue()


def _pdf(data: dict) -> bytes:
    from weasyprint import HTML

    with override("fr"):
        html = render_to_string("privacy/access_file.html", {"data": data})
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def access_file_build(*, request_id: int) -> PrivacyRequest | None:
    """Build (or build again) the file of an access request; idempotent: a request already
    `ready` with its files is left as it is, unless a mediator's release asked for a rebuild."""
    obj = (
        PrivacyRequest.objects.select_related("viewer")
        .filter(pk=request_id, kind=RequestKind.ACCESS, state=RequestState.BUILDING)
        .first()
    )
    if obj is None or obj.viewer.is_anonymised:
        return None
    data, files = access_file_data(
        viewer=obj.viewer, include_mediation_notes=obj.mediation_notes_released_at is not None
    )
    archive, pdf = _zip(data, files), _pdf(data)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    old = [f.name for f in (obj.archive, obj.pdf) if f]
    obj.archive.save(f"dossier-{obj.viewer_id}-{stamp}.zip", ContentFile(archive), save=False)
    obj.pdf.save(f"dossier-{obj.viewer_id}-{stamp}.pdf", ContentFile(pdf), save=False)
    updated = PrivacyRequest.objects.filter(pk=obj.pk, state=RequestState.BUILDING).update(
        archive=obj.archive.name,
        pdf=obj.pdf.name,
        built_at=timezone.now(),
        token_nonce=new_nonce(),
        state=RequestState.READY,
    )
    for name in old if updated else [obj.archive.name, obj.pdf.name]:
        default_storage.delete(name)
    obj.refresh_from_db()
    return obj


# --- the signed, expiring link -----------------------------------------------------------------


def access_token(*, privacy_request: PrivacyRequest, which: str) -> str:
    return signing.dumps(
        {"r": privacy_request.pk, "n": privacy_request.token_nonce, "f": which}, salt=TOKEN_SALT
    )


def access_download_url(*, privacy_request: PrivacyRequest, which: str = "zip") -> str:
    token = access_token(privacy_request=privacy_request, which=which)
    return settings.SITE_URL + reverse("privacy:download", args=[token])


def access_expires_at(privacy_request: PrivacyRequest):
    if privacy_request.built_at is None:
        return None
    return privacy_request.built_at + timedelta(days=link_days())


def access_download(*, token: str, user=None, request=None) -> tuple[PrivacyRequest, Any, str]:
    """The request, the stored file and its download name that a link names; audited.

    RequestError when the link is forged, revoked (file built again), expired or the file
    was erased."""
    try:
        payload = signing.loads(token, salt=TOKEN_SALT, max_age=timedelta(days=link_days()))
    except signing.SignatureExpired:
        raise RequestError(_("This download link has expired.")) from None
    except signing.BadSignature:
        raise RequestError(_("This download link is not valid.")) from None
    obj = PrivacyRequest.objects.select_related("viewer").filter(pk=payload.get("r")).first()
    if obj is None or not obj.token_nonce or obj.token_nonce != payload.get("n"):
        raise RequestError(_("This download link is not valid."))
    which = payload.get("f")
    stored = obj.archive if which == "zip" else obj.pdf
    if not stored:
        raise RequestError(_("This file is no longer available."))
    audit_record(
        actor=user,
        action="privacy.download",
        obj=obj.viewer,
        data={"request": obj.pk, "file": which},
        request=request,
    )
    name = f"dossier-{obj.viewer_id}.{'zip' if which == 'zip' else 'pdf'}"
    return obj, stored, name
