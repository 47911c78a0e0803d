"""Objection and consent withdrawal (GDPR art. 21 and 7(3)): one action on the viewer card,
or one click on the unsubscribe link of a survey or marketing email (RFC 8058), stops surveys
and invitations. And the renewal request sent before a consenting viewer's data expires.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from contacts.models import ConsentKind
from contacts.services.viewers import viewer_consent_withdraw

from ..models import ConsentRenewal, PrivacyRequest, RequestKind, RequestState
from .requests import _audit, privacy_request_open

TOKEN_SALT = "privacy.unsubscribe"
# What each kind of email stops when its link is followed.
PURPOSES: dict[str, tuple[str, ...]] = {
    "survey": (ConsentKind.SURVEY,),
    "marketing": (ConsentKind.MARKETING,),
    "newsletter": (ConsentKind.NEWSLETTER,),
    "all": (ConsentKind.SURVEY, ConsentKind.MARKETING, ConsentKind.NEWSLETTER),
}


class UnsubscribeError(ValueError):
    pass


def objection_record(*, viewer, by, source: str = "staff", ticket=None, request=None):
    """The viewer objects: every consent to surveys, invitations and newsletters is withdrawn
    (with history and source), and the request is recorded, done. Requires `handle`."""
    with transaction.atomic():
        obj = privacy_request_open(
            kind=RequestKind.OBJECTION, viewer=viewer, by=by, ticket=ticket, request=request
        )
        viewer_consent_withdraw(
            viewer=obj.viewer, kinds=PURPOSES["all"], source=source, by=by, request=request
        )
        outcome = _("Surveys, invitations and newsletters stopped.")
        PrivacyRequest.objects.filter(pk=obj.pk).update(
            state=RequestState.DONE, closed_at=timezone.now(), outcome=outcome
        )
        obj.state, obj.outcome = RequestState.DONE, outcome
        _audit(obj, by=by, action="privacy.objection", request=request)
    return obj


def unsubscribe_token(*, viewer, purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    return signing.dumps({"v": viewer.pk, "p": purpose}, salt=TOKEN_SALT, compress=True)


def unsubscribe_url(*, viewer, purpose: str) -> str:
    token = unsubscribe_token(viewer=viewer, purpose=purpose)
    return settings.SITE_URL + reverse("privacy:unsubscribe", args=[token])


def unsubscribe_headers(*, viewer, purpose: str) -> dict[str, str]:
    """The headers of a survey or marketing email that let the viewer leave in one click
    (RFC 2369 `List-Unsubscribe`, RFC 8058 `List-Unsubscribe-Post`). The link works without
    login and without expiry; a mailto is added when PRIVACY_UNSUBSCRIBE_MAILTO is set."""
    links = [f"<{unsubscribe_url(viewer=viewer, purpose=purpose)}>"]
    if settings.PRIVACY_UNSUBSCRIBE_MAILTO:
        subject = quote(f"unsubscribe {unsubscribe_token(viewer=viewer, purpose=purpose)}")
        links.append(f"<mailto:{settings.PRIVACY_UNSUBSCRIBE_MAILTO}?subject={subject}>")
    return {
        "List-Unsubscribe": ", ".join(links),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def unsubscribe_from_token(*, token: str):
    """(viewer, purpose) of a link; UnsubscribeError when forged or damaged."""
    from contacts.models import Viewer

    try:
        data = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        raise UnsubscribeError(_("This unsubscribe link is not valid.")) from None
    viewer = Viewer.objects.filter(pk=data.get("v")).first()
    if viewer is None or data.get("p") not in PURPOSES:
        raise UnsubscribeError(_("This unsubscribe link is not valid."))
    return viewer, data["p"]


def unsubscribe(*, token: str, request=None) -> tuple:
    """The viewer's one click: the consents of the link's purpose are withdrawn (source
    "unsubscribe link"). Idempotent in effect: a second click records the same refusal."""
    viewer, purpose = unsubscribe_from_token(token=token)
    if not viewer.is_anonymised:
        viewer_consent_withdraw(
            viewer=viewer, kinds=PURPOSES[purpose], source=f"unsubscribe:{purpose}", request=request
        )
    return viewer, purpose


# --- renewal of marketing consent before the data expires --------------------------------------


def consent_renewal_email(*, viewer, email: str, expires_on: date):
    """Write, in the caller's transaction, the outbox message asking a viewer to renew their
    consent to invitations before their data is erased, with its one-click unsubscribe
    headers (RFC 8058) and link. Returns the outbox message."""
    from outbox.models import MessageKind
    from outbox.services import message_enqueue

    with override(viewer.language or "fr"):
        context = {
            "viewer": viewer,
            "expires_on": expires_on,
            "controller": settings.PRIVACY_CONTROLLER,
            "unsubscribe_url": unsubscribe_url(viewer=viewer, purpose="marketing"),
        }
        subject = _("Would you like to keep hearing from us?")
        body = render_to_string("privacy/email_consent_renewal.txt", context)
    return message_enqueue(
        kind=MessageKind.CONSENT_RENEWAL,
        to=email,
        subject=subject,
        body_text=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        headers={
            "Auto-Submitted": "auto-generated",
            **unsubscribe_headers(viewer=viewer, purpose="marketing"),
        },
        cause=viewer,
    )


def consent_renewal_request(*, viewer, email: str, expires_on: date) -> ConsentRenewal | None:
    """Ask once per viewer and expiry date: the unique constraint makes a second run a no-op.
    The email is written to the outbox in the same transaction and leaves after it commits.
    None when already asked."""
    try:
        with transaction.atomic():
            renewal = ConsentRenewal.objects.create(
                viewer=viewer, expires_on=expires_on, email=email
            )
            consent_renewal_email(viewer=viewer, email=email, expires_on=expires_on)
    except IntegrityError:
        return None
    return renewal
