"""GDPR requests: recorded with their deadline, extended with a reason, answered, closed.

Deadlines (GDPR art. 12(3)): one calendar month from receipt, extendable by two further
months "where necessary, taking into account the complexity and number of the requests",
the viewer being told why within the first month.
"""

from __future__ import annotations

import calendar
import secrets
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.services import audit_record

from .. import policy
from ..models import PrivacyRequest, RequestKind, RequestState
from .erasure import ErasureBlocked, erasure_blockers, viewer_anonymise

MAX_EXTENSION_MONTHS = 2


class RequestError(ValueError):
    """A request that cannot be taken or moved on (message for staff)."""


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has none: 31 Jan → 28 Feb)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _live_viewer(viewer):
    seen = set()
    while viewer.merged_into_id and viewer.pk not in seen:
        seen.add(viewer.pk)
        viewer = viewer.merged_into
    return viewer


def _audit(request_obj: PrivacyRequest, *, by, action: str, data=None, request=None) -> None:
    # On the viewer, so that the viewer's audit trail (and its CSV export) shows every step.
    audit_record(
        actor=by,
        action=action,
        obj=request_obj.viewer,
        data={"request": request_obj.pk, "kind": request_obj.kind, **(data or {})},
        request=request,
    )


def privacy_request_open(
    *, kind: str, viewer, by, ticket=None, received_on: date | None = None, request=None
) -> PrivacyRequest:
    """Record a viewer's request. Its deadline counts from the day it was received (the GDPR
    ticket's arrival when given). Requires `handle` on the viewer."""
    viewer = _live_viewer(viewer)
    policy.require(by, "handle", viewer)
    if kind not in RequestKind.values:
        raise ValueError(f"unknown request kind {kind!r}")
    if viewer.is_anonymised:
        raise RequestError(_("This viewer's data has been erased."))
    if received_on is None:
        received_on = (
            timezone.localdate(ticket.created_at) if ticket is not None else timezone.localdate()
        )
    obj = PrivacyRequest.objects.create(
        kind=kind,
        viewer=viewer,
        ticket=ticket,
        received_on=received_on,
        due_on=add_months(received_on, 1),
        requested_by=by,
    )
    _audit(obj, by=by, action="privacy.request", request=request)
    return obj


def privacy_request_extend(
    *, privacy_request: PrivacyRequest, by, months: int, reason: str, request=None
) -> PrivacyRequest:
    """Push the deadline back by one or two months (at most two in all), with the reason the
    viewer is told."""
    policy.require(by, "handle", privacy_request.viewer)
    reason = (reason or "").strip()
    if not reason:
        raise RequestError(_("Say why the answer needs more time."))
    if not privacy_request.is_open:
        raise RequestError(_("This request is closed."))
    limit = add_months(privacy_request.due_on, MAX_EXTENSION_MONTHS)
    new_due = add_months(privacy_request.deadline, months)
    if months < 1 or new_due > limit:
        raise RequestError(_("The deadline may be extended by two months at most."))
    PrivacyRequest.objects.filter(pk=privacy_request.pk).update(
        extended_due_on=new_due, extension_reason=reason[:500]
    )
    privacy_request.extended_due_on, privacy_request.extension_reason = new_due, reason[:500]
    _audit(
        privacy_request,
        by=by,
        action="privacy.extend",
        data={"due": new_due.isoformat()},
        request=request,
    )
    return privacy_request


def privacy_request_close(
    *, privacy_request: PrivacyRequest, by, outcome: str, request=None
) -> PrivacyRequest:
    """Close an access or objection request with what was done (file sent, printed…)."""
    policy.require(by, "handle", privacy_request.viewer)
    updated = PrivacyRequest.objects.filter(
        pk=privacy_request.pk, state__in=[RequestState.REQUESTED, RequestState.READY]
    ).update(state=RequestState.DONE, closed_at=timezone.now(), outcome=outcome[:2000])
    if not updated:
        raise RequestError(_("This request cannot be closed now."))
    privacy_request.refresh_from_db()
    _audit(privacy_request, by=by, action="privacy.close", request=request)
    return privacy_request


# --- erasure: asked by one, confirmed by another -----------------------------------------------


def erasure_request(*, viewer, by, ticket=None, request=None) -> PrivacyRequest:
    """Record an erasure request. When the law keeps the data (open mediation case, legal hold,
    dispute), the request is refused at once with the reasons, for the answer to the viewer."""
    obj = privacy_request_open(
        kind=RequestKind.ERASURE, viewer=viewer, by=by, ticket=ticket, request=request
    )
    blockers = erasure_blockers(viewer_id=obj.viewer_id)
    if blockers:
        _refuse(obj, blockers, by=by, request=request)
    return obj


def _refuse(obj: PrivacyRequest, reasons: list[str], *, by, request=None) -> None:
    outcome = _("Erasure refused: %(reasons)s") % {"reasons": " ; ".join(reasons)}
    PrivacyRequest.objects.filter(pk=obj.pk).update(
        state=RequestState.REFUSED, closed_at=timezone.now(), outcome=outcome
    )
    obj.state, obj.outcome = RequestState.REFUSED, outcome
    _audit(obj, by=by, action="privacy.erasure_refused", request=request)


def erasure_confirm(*, privacy_request: PrivacyRequest, by, request=None) -> PrivacyRequest:
    """The second person confirms: the viewer is anonymised at once, irreversibly.

    Requires a manager or an administrator other than the requester. The request moves from
    `requested` to `done` by a conditional update, so a double click erases once. Refused
    (state `refused`, reasons in the outcome) when the law keeps the data.
    """
    policy.require(by, "confirm_erasure", privacy_request.viewer, privacy_request)
    if privacy_request.kind != RequestKind.ERASURE:
        raise RequestError(_("This is not an erasure request."))
    try:
        with transaction.atomic():
            claimed = PrivacyRequest.objects.filter(
                pk=privacy_request.pk, state=RequestState.REQUESTED
            ).update(
                state=RequestState.DONE,
                confirmed_by=by,
                confirmed_at=timezone.now(),
                closed_at=timezone.now(),
            )
            if not claimed:
                raise RequestError(_("This erasure was already confirmed, refused or cancelled."))
            report = viewer_anonymise(
                viewer_id=privacy_request.viewer_id,
                by=by,
                reason=f"request {privacy_request.pk}",
                request=request,
            )
            outcome = _("Viewer anonymised: %(rows)s rows and %(files)s files erased.") % {
                "rows": sum(report.counts.values()),
                "files": report.files,
            }
            PrivacyRequest.objects.filter(pk=privacy_request.pk).update(outcome=outcome)
    except ErasureBlocked as blocked:
        _refuse(privacy_request, blocked.reasons, by=by, request=request)
    privacy_request.refresh_from_db()
    return privacy_request


def erasure_cancel(*, privacy_request: PrivacyRequest, by, request=None) -> None:
    policy.require(by, "handle", privacy_request.viewer)
    PrivacyRequest.objects.filter(
        pk=privacy_request.pk, kind=RequestKind.ERASURE, state=RequestState.REQUESTED
    ).update(state=RequestState.CANCELLED, closed_at=timezone.now())
    _audit(privacy_request, by=by, action="privacy.erasure_cancel", request=request)


def new_nonce() -> str:
    return secrets.token_hex(8)
