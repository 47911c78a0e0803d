"""Legal holds and disputes: while one is active, the viewer's data is neither erased on
request nor by the retention run."""

from __future__ import annotations

from django.utils import timezone

from accounts.services import audit_record

from .. import policy
from ..models import LegalHold


def legal_hold_place(*, viewer, kind: str, reason: str, by, request=None) -> LegalHold:
    policy.require(by, "manage")
    hold = LegalHold.objects.create(
        viewer=viewer, kind=kind, reason=reason.strip()[:300], placed_by=by
    )
    audit_record(
        actor=by,
        action="privacy.hold",
        obj=viewer,
        data={"hold": hold.pk, "kind": kind},
        request=request,
    )
    return hold


def legal_hold_lift(*, hold: LegalHold, by, request=None) -> None:
    policy.require(by, "manage")
    LegalHold.objects.filter(pk=hold.pk, lifted_at__isnull=True).update(
        lifted_at=timezone.now(), lifted_by=by
    )
    audit_record(
        actor=by,
        action="privacy.hold_lift",
        obj=hold.viewer,
        data={"hold": hold.pk},
        request=request,
    )
