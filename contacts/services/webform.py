"""The web form "Vous et Nous": submissions into the intake, the per-IP rate limit, and the
acknowledgement email that gives the viewer their ticket reference (sent through the outbox).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.models import User

from ..models import (
    Brand,
    Channel,
    Contact,
    DeliveryStatus,
    Direction,
    Programme,
    QuarantineItem,
)
from .intake import InboundMessage, IntakeResult, SenderIdentity, contact_intake, raw_store
from .quarantine import quarantine_put

logger = logging.getLogger(__name__)

AUTO_HEADERS = {
    # RFC 3834: an automatic answer; X-Loop lets our own intake recognise it if it comes back.
    "Auto-Submitted": "auto-replied",
    "X-Loop": "frt-crm",
    "X-Auto-Response-Suppress": "All",
}


@dataclass(frozen=True)
class WebFormInput:
    request_type: str
    message: str
    civility: str
    first_name: str
    last_name: str
    email: str
    phone: str = ""
    postcode: str = ""
    programme: Programme | None = None
    consents: tuple[tuple[str, bool], ...] = ()


def webform_rate_allow(*, ip: str) -> bool:
    """Count one submission from `ip`; False once the limit of the window is reached.

    The cache is shared by every web process (database or Redis cache), so the limit holds
    across workers. Should the cache fail, the form stays open rather than losing messages.
    """
    limit = getattr(settings, "WEBFORM_RATE_LIMIT", 5)
    window = getattr(settings, "WEBFORM_RATE_WINDOW", 600)
    if limit <= 0:
        return True
    key = f"webform-rate:{ip}"
    try:
        cache.add(key, 0, timeout=window)
        count = cache.incr(key)
    except Exception:  # a cache outage must not close the form
        logger.warning("web form rate limit unavailable (cache error)", exc_info=True)
        return True
    return count <= limit


def webform_payload(*, brand: Brand, post: dict, ip: str, user_agent: str) -> bytes:
    """The submission as received, as JSON: the raw input kept with the contact."""
    fields = {k: v for k, v in post.items() if k != "csrfmiddlewaretoken"}
    return json.dumps(
        {
            "brand": brand.code,
            "fields": fields,
            "ip": ip,
            "user_agent": user_agent[:300],
            "received_at": timezone.now().isoformat(),
        },
        ensure_ascii=False,
        sort_keys=True,
    ).encode("utf-8")


def webform_hold_robot(*, brand: Brand, raw: bytes, ip: str) -> QuarantineItem:
    """A submission whose honeypot was filled: kept aside (a person can still be released)."""
    item, _ = quarantine_put(
        source="web",
        reason_code="honeypot",
        reason="honeypot field filled: probably a robot",
        data=raw,
        extension="json",
        content_type="application/json",
        source_detail=ip,
        brand=brand,
        ignored=True,
    )
    return item


def _message_id(reference: str) -> str:
    domain = getattr(settings, "EMAIL_MESSAGE_ID_DOMAIN", "crm.example.fr")
    # Stored bare (see message_id_normalise); the header gets the angle brackets.
    return f"frt-crm.{reference}.{int(time.time())}.{secrets.token_hex(4)}@{domain}"


def webform_submit(*, brand: Brand, data: WebFormInput, raw: bytes) -> IntakeResult:
    """Take a web form submission in, and send the acknowledgement after commit.

    The acknowledgement is an outbound contact (delivery pending) whose Message-ID threads
    the viewer's reply back onto the ticket."""
    raw_name, raw_sha = raw_store(data=raw, extension="json")
    labels = dict(_request_types())
    subject = str(labels.get(data.request_type, data.request_type))
    if data.programme is not None:
        subject = f"{subject} — {data.programme.name}"
    message = InboundMessage(
        channel=Channel.WEB,
        raw_file_name=raw_name,
        raw_sha256=raw_sha,
        sender=SenderIdentity(
            email=data.email,
            civility=data.civility,
            first_name=data.first_name,
            last_name=data.last_name,
            phone=data.phone,
            postcode=data.postcode,
        ),
        brand=brand,
        programme=data.programme,
        subject=subject,
        body_text=data.message,
        consents=list(data.consents),
        consent_source=f"web form {brand.code}",
        meta={"request_type": data.request_type, "form": brand.code},
    )
    with transaction.atomic():
        result = contact_intake(message=message)
        acknowledgement_enqueue(result=result, to=data.email)
    return result


def acknowledgement_enqueue(*, result: IntakeResult, to: str) -> Contact:
    """The acknowledgement that gives the viewer their reference: an outbound contact on the
    ticket (its thread entry) and its message in the outbox, written in the submission's
    transaction and sent after commit. The thank-you page says it *will be* sent: its state
    (waiting, sent, deferred, failed) is the outbox's, shown on the ticket."""
    from outbox.models import MessageKind
    from outbox.services import message_enqueue

    ticket = result.ticket
    brand = ticket.brand
    with translation.override("fr"):
        body = render_to_string(
            "contacts/emails/webform_ack.txt",
            {"ticket": ticket, "viewer": result.viewer, "brand": brand},
        )
    ack = Contact.objects.create(
        ticket=ticket,
        viewer=result.viewer,
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        subject=_ack_subject(ticket.reference),
        body_text=body,
        message_id=_message_id(ticket.reference),
        delivery_status=DeliveryStatus.PENDING,
        meta={"kind": "acknowledgement", "to": to, "acknowledges": result.contact.pk},
    )
    sender = (brand.email_address if brand and brand.email_address else "") or (
        settings.DEFAULT_FROM_EMAIL
    )
    message_enqueue(
        kind=MessageKind.ACKNOWLEDGEMENT,
        to=to,
        subject=ack.subject,
        body_text=body,
        from_email=f"{brand.name} <{sender}>" if brand else sender,
        headers=dict(AUTO_HEADERS),
        message_id=ack.message_id,
        contact=ack,
        ticket=ticket,
    )
    return ack


def _request_types():
    from ..channels.webform import REQUEST_TYPES

    return REQUEST_TYPES


def _ack_subject(reference: str) -> str:
    with translation.override("fr"):
        from django.utils.translation import gettext

        return f"[{reference}] " + gettext("We have received your message")


def webform_retry(*, item: QuarantineItem, data: bytes, by: User):
    """Quarantine retry handler: a person caught by the honeypot (or a form held otherwise)
    is submitted again, honeypot ignored."""
    from ..channels.webform import WebForm

    payload = json.loads(data.decode("utf-8"))
    brand = Brand.objects.filter(code=payload.get("brand")).first()
    if brand is None:
        return None, "unknown brand"
    form = WebForm(payload.get("fields", {}), brand=brand)
    if not form.is_valid():
        return None, "the form does not validate: " + "; ".join(
            f"{k}: {' '.join(v)}" for k, v in form.errors.items()
        )
    result = webform_submit(brand=brand, data=webform_input(form), raw=data)
    return result.contact, ""


def webform_input(form) -> WebFormInput:
    cd = form.cleaned_data
    return WebFormInput(
        request_type=cd["request_type"],
        message=cd["message"],
        civility=cd["civility"],
        first_name=cd["first_name"],
        last_name=cd["last_name"],
        email=cd["email"],
        phone=cd["phone"],
        postcode=cd["postcode"],
        programme=cd["programme"],
        consents=tuple(form.consents()),
    )
