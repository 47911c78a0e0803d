"""Integration clients (partner sites, telephony platform, mail gateways) and what they push.

A client authenticates with a long random token of which only the SHA-256 is stored. The
contacts it posts are idempotent on (client code, external_id): the same payload again returns
the same contact; another payload under a used external_id is a conflict, not an overwrite.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import (
    Brand,
    Contact,
    IntegrationClient,
    Programme,
    Ticket,
    Viewer,
    ViewerEmail,
    ViewerPhone,
)
from .intake import (
    DUPLICATE,
    InboundMessage,
    IntakeResult,
    SenderIdentity,
    contact_intake,
    raw_store,
)
from .viewers import normalise_email, normalise_phone


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def integration_client_create(
    *,
    code: str,
    name: str,
    brand: Brand | None = None,
    may_post_contacts: bool = False,
    may_post_calls: bool = False,
    may_post_mail: bool = False,
) -> tuple[IntegrationClient, str]:
    """Create a client; returns it with its token, which is shown once and never stored."""
    token = secrets.token_urlsafe(32)
    client = IntegrationClient.objects.create(
        code=code,
        name=name,
        brand=brand,
        token_hash=_hash(token),
        token_prefix=token[:8],
        may_post_contacts=may_post_contacts,
        may_post_calls=may_post_calls,
        may_post_mail=may_post_mail,
    )
    return client, token


def integration_client_rotate(*, client: IntegrationClient) -> str:
    """Give the client a new token; the old one stops working at once."""
    token = secrets.token_urlsafe(32)
    IntegrationClient.objects.filter(pk=client.pk).update(
        token_hash=_hash(token), token_prefix=token[:8]
    )
    client.token_hash, client.token_prefix = _hash(token), token[:8]
    return token


def _touch(client: IntegrationClient) -> None:
    # At most one write per client every five minutes: the API's hot path stays read-only.
    now = timezone.now()
    if client.last_used_at is None or now - client.last_used_at > timedelta(minutes=5):
        IntegrationClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now


def integration_client_authenticate(*, token: str) -> IntegrationClient | None:
    """The active client holding this token, or None."""
    if not token or len(token) > 200:
        return None
    client = (
        IntegrationClient.objects.select_related("brand")
        .filter(token_hash=_hash(token), is_active=True)
        .first()
    )
    if client is not None:
        _touch(client)
    return client


def integration_gateway_check(*, code: str, secret: str) -> IntegrationClient | None:
    """The mail gateway `code` if `secret` is its secret (compared in constant time)."""
    client = (
        IntegrationClient.objects.select_related("brand")
        .filter(code=code, is_active=True, may_post_mail=True)
        .first()
    )
    expected = client.token_hash if client is not None else "0" * 64
    # Compare even when the gateway is unknown, so timing does not tell which codes exist.
    ok = hmac.compare_digest(_hash(secret or ""), expected)
    if client is None or not ok:
        return None
    _touch(client)
    return client


# --- contacts posted by integrations ----------------------------------------------------------


class IntegrationRefused(Exception):
    """The client may not write this contact where it asks; nothing was stored.

    `code` says why (`brand_not_allowed`, `ticket_not_allowed`, `sender_not_ticket_viewer`),
    `field` which field of the payload it concerns."""

    def __init__(self, code: str, field: str, message: str) -> None:
        self.code, self.field, self.message = code, field, message
        super().__init__(message)


def integration_client_may_write(*, client: IntegrationClient, brand: Brand | None) -> bool:
    """Whether the client writes into this brand's tickets: its own brand and, for a national
    brand, its regional stations. A client without a brand serves the whole group (the
    telephony platform, the group's own forms)."""
    if client.brand_id is None:
        return True
    return brand is not None and client.brand_id in (brand.pk, brand.parent_id)


def _sender_is_viewer(sender: SenderIdentity, viewer: Viewer) -> bool:
    """Whether the sender's email address or phone number is one of the viewer's (read only:
    nothing is created to find out)."""
    email = normalise_email(sender.email)
    if email and ViewerEmail.objects.filter(viewer=viewer, email=email).exists():
        return True
    phone = normalise_phone(sender.phone) if sender.phone else None
    return bool(phone) and ViewerPhone.objects.filter(viewer=viewer, number=phone).exists()


def _check_scope(client: IntegrationClient, data: ApiContactInput) -> Viewer | None:
    """Refuse what the client may not write (IntegrationRefused); the ticket's viewer when the
    contact is threaded onto a ticket."""
    brand = data.brand or client.brand
    if not integration_client_may_write(client=client, brand=brand):
        raise IntegrationRefused(
            "brand_not_allowed", "brand", _("This client does not write into this brand.")
        )
    ticket = data.ticket
    if ticket is None:
        return None
    if not integration_client_may_write(client=client, brand=ticket.brand):
        raise IntegrationRefused(
            "ticket_not_allowed",
            "ticket_reference",
            _("This ticket belongs to a brand this client does not write into."),
        )
    # As email intake: ticket references are sequential, hence guessable; only the ticket's
    # own viewer adds to it.
    viewer = ticket.viewer
    while viewer is not None and viewer.merged_into_id:
        viewer = viewer.merged_into
    if viewer is None or not _sender_is_viewer(data.sender, viewer):
        raise IntegrationRefused(
            "sender_not_ticket_viewer",
            "ticket_reference",
            _("The sender is not this ticket's viewer."),
        )
    return viewer


class ExternalIdConflict(Exception):
    """The external_id was already used for a different payload."""

    def __init__(self, contact: Contact) -> None:
        self.contact = contact
        super().__init__(f"external_id already used by contact {contact.pk}")


@dataclass(frozen=True)
class ApiContactInput:
    """A validated payload of POST /api/v1/contacts/."""

    external_id: str
    channel: str
    brand: Brand | None
    programme: Programme | None
    subject: str
    body: str
    occurred_at: datetime | None
    sender: SenderIdentity
    ticket: Ticket | None
    consents: tuple[tuple[str, bool], ...]
    meta: dict


def payload_digest(payload: dict) -> str:
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def api_contact_submit(
    *, client: IntegrationClient, data: ApiContactInput, raw: bytes, digest: str
) -> IntakeResult:
    """Take a contact pushed by an integration in (idempotent on its external_id).

    Raises IntegrationRefused, before anything is stored, when the client may not write into
    the brand or the ticket asked for, or threads onto a ticket for somebody else than its
    viewer; ExternalIdConflict when the external_id names a contact made from another payload.
    """
    viewer = _check_scope(client, data)
    raw_name, raw_sha = raw_store(data=raw, extension="json")
    message = InboundMessage(
        channel=data.channel,
        external_source=client.code,
        external_id=data.external_id,
        raw_file_name=raw_name,
        raw_sha256=raw_sha,
        sender=data.sender,
        brand=data.brand or client.brand,
        programme=data.programme,
        subject=data.subject,
        body_text=data.body,
        occurred_at=data.occurred_at,
        ticket=data.ticket,
        viewer=viewer,
        consents=list(data.consents),
        consent_source=f"api:{client.code}",
        meta={**data.meta, "payload_sha256": digest, "source": f"api:{client.code}"},
    )
    # contact_intake answers `duplicate` (with the existing contact) for a known external_id.
    result = contact_intake(message=message)
    if result.status != DUPLICATE:
        return result
    existing = result.contact
    if existing.meta.get("payload_sha256") not in (None, digest):
        raise ExternalIdConflict(existing)
    return IntakeResult(
        status=DUPLICATE,
        contact=existing,
        ticket=existing.ticket,
        viewer=existing.viewer,
        reason="already received",
    )
