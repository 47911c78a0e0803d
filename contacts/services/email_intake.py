"""Email into the intake: one function for every way mail arrives (a file given to
`ingest_email`, a mailbox polled over IMAP, a mail gateway's webhook).

The parser (`contacts.channels.email`) turns bytes into facts; this module decides what the
facts mean: auto-replies, bounces and loops never open a ticket; a bounce marks the outbound
mail it answers and the viewer's failing address; a message that breaks the parser, is too
large or belongs to a flood is quarantined with its reason. Everything else goes through
`contact_intake`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import User
from frt_crm.middleware import is_database_outage

from ..channels.email import EmailParseError, ParsedEmail, parse_email
from ..models import (
    Attachment,
    Brand,
    Channel,
    Contact,
    DeliveryStatus,
    Direction,
    QuarantineItem,
    ViewerEmail,
)
from .intake import (
    CREATED,
    DUPLICATE,
    REJECTED,
    THREADED,
    UNTHREADED,
    InboundMessage,
    IncomingAttachment,
    SenderIdentity,
    contact_intake,
    contact_intake_many,
    files_kept_on_commit,
    intake_duplicates,
    intake_keys,
    message_id_normalise,
)
from .quarantine import quarantine_put
from .viewers import normalise_email

logger = logging.getLogger(__name__)

# Messages without a Message-ID are made idempotent by the digest of their bytes.
NO_MESSAGE_ID_SOURCE = "email-sha256"


@dataclass
class EmailOutcome:
    """What happened to one message: the line `ingest_email --json` prints."""

    status: str
    ticket: str | None = None
    contact: int | None = None
    viewer_email: str = ""
    subject: str = ""
    body_chars: int = 0
    attachments: int = 0
    reason: str = ""
    quarantine: int | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "ticket": self.ticket,
            "contact": self.contact,
            "viewer_email": self.viewer_email,
            "subject": self.subject,
            "body_chars": self.body_chars,
            "attachments": self.attachments,
            "reason": self.reason,
        }


# --- configuration read once per minute (brands are reference data) ---------------------------

_CACHE: dict[str, tuple[float, object]] = {}


def _brand_addresses() -> dict[str, Brand]:
    """Reply addresses of the brands → the national brand that owns them."""
    hit = _CACHE.get("brands")
    if hit and time.monotonic() - hit[0] < 60:
        return hit[1]  # type: ignore[return-value]
    mapping: dict[str, Brand] = {}
    for brand in Brand.objects.filter(is_active=True).order_by("parent_id", "order"):
        if brand.email_address:
            mapping.setdefault(normalise_email(brand.email_address), brand)
    _CACHE["brands"] = (time.monotonic(), mapping)
    return mapping


def _own_addresses() -> frozenset[str]:
    addresses = set(_brand_addresses())
    addresses.add(normalise_email(settings.DEFAULT_FROM_EMAIL))
    return frozenset(a for a in addresses if a)


def _staff_domains() -> frozenset[str]:
    domains = {a.rsplit("@", 1)[-1] for a in _own_addresses() if "@" in a}
    domains.update(getattr(settings, "INTAKE_STAFF_DOMAINS", []))
    return frozenset(d.lower() for d in domains if d)


def _max_bytes() -> int:
    return getattr(settings, "INTAKE_MAX_EMAIL_BYTES", settings.MAX_UPLOAD_BYTES)


# --- the decision ------------------------------------------------------------------------------


def _outcome(status: str, parsed: ParsedEmail | None, **kw) -> EmailOutcome:
    if parsed is not None:
        kw.setdefault("subject", parsed.subject)
        kw.setdefault("body_chars", len(parsed.body_text))
        kw.setdefault(
            "viewer_email", normalise_email(parsed.from_email or parsed.header_from_email)
        )
    return EmailOutcome(status=status, **kw)


def _quarantine(
    *,
    raw: bytes,
    source: str,
    source_detail: str,
    code: str,
    reason: str,
    brand: Brand | None,
    parsed: ParsedEmail | None = None,
    ignored: bool = False,
) -> EmailOutcome:
    item, _ = quarantine_put(
        source=source,
        reason_code=code,
        reason=reason,
        data=raw,
        extension="eml",
        content_type="message/rfc822",
        source_detail=source_detail,
        brand=brand,
        ignored=ignored,
        meta={"subject": parsed.subject[:300]} if parsed else {},
    )
    verb = "set aside" if ignored else "quarantined"
    if item.state == QuarantineItem.State.DISCARDED:
        verb = "discarded earlier by a manager"
    return _outcome(REJECTED, parsed, reason=f"{reason} ({verb})", quarantine=item.pk)


def _brand_for(parsed: ParsedEmail, brand: Brand | None) -> Brand | None:
    if brand is not None:
        return brand
    addresses = _brand_addresses()
    for address in [*parsed.to, *parsed.cc]:
        found = addresses.get(normalise_email(address))
        if found is not None:
            return found
    return None


def _sender(parsed: ParsedEmail) -> tuple[SenderIdentity, dict]:
    """The viewer behind the message. A forward sent by our own staff (a department passing
    on a viewer's mail) is the original sender's message, not the colleague's."""
    email = parsed.from_email or parsed.header_from_email
    name = parsed.from_name
    meta = {}
    domain = email.rsplit("@", 1)[-1].lower() if "@" in email else ""
    if parsed.forwarded and parsed.forwarded_from_email and domain in _staff_domains():
        meta["forwarded_by"] = email
        email, name = parsed.forwarded_from_email, parsed.forwarded_from_name
    return SenderIdentity(email=email, name=name), meta


def _flood_limit() -> int:
    return getattr(settings, "INTAKE_FLOOD_PER_HOUR", 30)


def _flooding(address: str) -> int:
    limit = _flood_limit()
    if not address or limit <= 0:
        return 0
    since = timezone.now() - timedelta(hours=1)
    count = Contact.objects.filter(sender_address=address, created_at__gte=since).count()
    return count if count >= limit else 0


def _flood_counts(addresses: list[str]) -> dict[str, int]:
    """Messages received within the hour from each of these addresses (one query)."""
    addresses = [a for a in addresses if a]
    if not addresses or _flood_limit() <= 0:
        return {}
    since = timezone.now() - timedelta(hours=1)
    rows = (
        Contact.objects.filter(sender_address__in=addresses, created_at__gte=since)
        .values("sender_address")
        .annotate(n=Count("id"))
        .values_list("sender_address", "n")
    )
    return dict(rows)


def _attachment_counts(contacts: list[Contact]) -> dict[int, int]:
    if not contacts:
        return {}
    rows = (
        Attachment.objects.filter(contact__in=contacts)
        .values("contact_id")
        .annotate(n=Count("id"))
        .values_list("contact_id", "n")
    )
    return {c.pk: 0 for c in contacts} | dict(rows)


def _handle_bounce(
    parsed: ParsedEmail, raw: bytes, source: str, detail: str, brand: Brand | None
) -> EmailOutcome:
    ids = [parsed.bounced_message_id or "", parsed.in_reply_to or "", *parsed.references]
    ids = [i for i in map(message_id_normalise, ids) if i]
    outbound = (
        Contact.objects.filter(message_id__in=ids, direction=Direction.OUTBOUND)
        .select_related("ticket")
        .first()
        if ids
        else None
    )
    recipients = [normalise_email(r) for r in parsed.bounced_recipients if r]
    if outbound is not None and not recipients and outbound.meta.get("to"):
        recipients = [normalise_email(outbound.meta["to"])]
    reason = parsed.bounce_reason or "delivery failed"
    with transaction.atomic():
        if recipients:
            ViewerEmail.objects.filter(email__in=recipients).update(
                is_failing=True, failing_since=timezone.now(), failure_reason=reason[:300]
            )
        if outbound is not None:
            Contact.objects.filter(pk=outbound.pk).update(
                delivery_status=DeliveryStatus.BOUNCED, delivery_error=reason
            )
        # The outbox row of that message (a reply, an acknowledgement, a survey…) is
        # bounced too: its pages stop saying "sent", and a reply's first-answer clock runs.
        from outbox.services import message_mark_bounced

        message_mark_bounced(message_ids=ids, reason=reason)
    if outbound is None:
        return _quarantine(
            raw=raw,
            source=source,
            source_detail=detail,
            code="bounce_unmatched",
            reason=f"bounce for a message we cannot find ({reason})",
            brand=brand,
            parsed=parsed,
            ignored=True,
        )
    message = _message(parsed, raw, brand)
    message.ticket = outbound.ticket
    message.thread_only = True
    message.meta.update({"automatic": "bounce", "bounce_of": outbound.pk, "failing": recipients})
    result = contact_intake(message=message)
    return _from_result(result, parsed, reason=f"bounce of contact {outbound.pk}: {reason}")


def _refusal_code(reason: str) -> str:
    """The kind of a refused attachment, which the ticket page says in words."""
    if reason.startswith("dangerous"):
        return "dangerous"
    if reason.startswith("too large"):
        return "too_large"
    if reason.startswith("type not allowed"):
        return "not_allowed"
    return "other"


def _message(parsed: ParsedEmail, raw: bytes, brand: Brand | None) -> InboundMessage:
    sender, meta = _sender(parsed)
    if parsed.warnings:
        meta["warnings"] = parsed.warnings[:20]
    if parsed.skipped_attachments:
        # Every part refused, listed on the contact (the ticket page shows them) so that staff
        # know it existed and can tell the viewer why.
        meta["skipped_attachments"] = [
            {
                "filename": s.filename,
                "content_type": s.content_type,
                "size": s.size,
                "reason": s.reason,
                "code": _refusal_code(s.reason),
            }
            for s in parsed.skipped_attachments[:50]
        ]
    if parsed.to:
        meta["to"] = parsed.to[:20]
    if parsed.forwarded:
        meta["forwarded_from"] = parsed.forwarded_from_email
    external_source, external_id = "", None
    if not parsed.message_id:
        external_source = NO_MESSAGE_ID_SOURCE
        external_id = hashlib.sha256(raw).hexdigest()
    return InboundMessage(
        channel=Channel.EMAIL,
        raw=raw,
        raw_extension="eml",
        sender=sender,
        brand=brand,
        subject=parsed.subject,
        body_text=parsed.body_text,
        body_html=parsed.body_html,
        occurred_at=parsed.date,
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=list(parsed.references),
        ticket_ref=parsed.ticket_ref,
        external_source=external_source,
        external_id=external_id,
        attachments=[
            IncomingAttachment(
                filename=a.filename,
                content_type=a.content_type,
                payload=a.payload,
                is_inline=a.is_inline,
                content_id=a.content_id or "",
            )
            for a in parsed.attachments
        ],
        meta=meta,
    )


def _from_result(
    result, parsed: ParsedEmail, reason: str = "", attachments: int | None = None
) -> EmailOutcome:
    contact = result.contact
    if attachments is None:
        duplicate = contact and result.status == DUPLICATE
        attachments = contact.attachments.count() if duplicate else len(parsed.attachments)
    return _outcome(
        result.status,
        parsed,
        ticket=result.ticket.reference if result.ticket else None,
        contact=contact.pk if contact else None,
        attachments=attachments,
        reason=reason or result.reason,
        viewer_email=normalise_email(contact.sender_address) if contact else "",
    )


def email_ingest(
    *,
    raw: bytes,
    source: str = "email",
    source_detail: str = "",
    brand: Brand | None = None,
    lift_holds: bool = False,
) -> EmailOutcome:
    """Take one raw message in. Never raises for a bad message: it is quarantined instead.

    `source` is `email` (a file), `imap` or `gateway`; `brand` the brand of the mailbox or
    gateway when known (otherwise read from the recipients). `lift_holds` is a manager's
    retry from the quarantine: floods and automatic-mail refusals no longer hold it.
    Returns the outcome whose status is created, threaded, duplicate or rejected.
    """
    parsed = _parse(raw, source=source, source_detail=source_detail, brand=brand)
    if isinstance(parsed, EmailOutcome):
        return parsed
    return _take_in(
        parsed,
        raw,
        source=source,
        source_detail=source_detail,
        brand=_brand_for(parsed, brand),
        lift_holds=lift_holds,
    )


def email_ingest_many(
    *, items: list[tuple[bytes, str]], source: str = "email", brand: Brand | None = None
) -> list[EmailOutcome]:
    """Take several raw messages in: `items` are (raw bytes, source detail); returns their
    outcomes in the same order, those `email_ingest` gives for each in turn.

    Call inside a transaction (the batch's). Automatic mail, bounces, loops, and messages that
    share a sender or a Message-ID with another of the batch go through `email_ingest`'s path
    one by one, in order. The others, each alone with its sender and its thread in the batch
    (so that their turn does not matter), are checked for floods with one query and handed to
    `contact_intake_many` together.
    """
    parsed_items: dict[int, tuple[ParsedEmail, Brand | None, InboundMessage | None]] = {}
    outcomes: list[EmailOutcome | None] = [None] * len(items)
    for i, (raw, detail) in enumerate(items):
        parsed = _parse(raw, source=source, source_detail=detail, brand=brand)
        if isinstance(parsed, EmailOutcome):
            outcomes[i] = parsed
            continue
        found = _brand_for(parsed, brand)
        message = _message(parsed, raw, found)
        plain = not (parsed.is_loop or parsed.is_bounce or parsed.is_auto_reply)
        parsed_items[i] = (parsed, found, message if plain and message.sender.email else None)

    keys = {
        i: intake_keys(item[2] or _message(item[0], items[i][0], item[1]))
        for i, item in parsed_items.items()
    }
    seen: dict[str, int] = {}
    for message_keys in keys.values():
        for key in message_keys:
            seen[key] = seen.get(key, 0) + 1
    together = [
        i
        for i, (_, _, message) in parsed_items.items()
        if message is not None and all(seen[k] == 1 for k in keys[i])
    ]
    for i, (parsed, found, _) in parsed_items.items():
        if i not in together:
            raw, detail = items[i]
            outcomes[i] = _take_in(
                parsed, raw, source=source, source_detail=detail, brand=found, lift_holds=False
            )

    counts = _flood_counts([normalise_email(parsed_items[i][2].sender.email) for i in together])
    flooding = [
        i
        for i in together
        if counts.get(normalise_email(parsed_items[i][2].sender.email), 0) >= _flood_limit() > 0
    ]
    # A redelivery is a duplicate, not a flood (asked only of the flooding senders' messages).
    redelivered = {
        i
        for i, found in zip(
            flooding, intake_duplicates([parsed_items[i][2] for i in flooding]), strict=True
        )
        if found is not None
    }
    batch = []
    for i in together:
        parsed, found, message = parsed_items[i]
        address = normalise_email(message.sender.email)
        if i in flooding and i not in redelivered:
            raw, detail = items[i]
            outcomes[i] = _quarantine_flood(
                raw, parsed, count=counts[address], source=source, detail=detail, brand=found
            )
        else:
            batch.append(i)
    results = contact_intake_many(messages=[parsed_items[i][2] for i in batch])
    attachments = _attachment_counts([r.contact for r in results if r.status == DUPLICATE])
    for i, result in zip(batch, results, strict=True):
        parsed = parsed_items[i][0]
        outcomes[i] = _from_result(
            result,
            parsed,
            reason="ticket reopened" if result.reopened else "",
            attachments=attachments.get(result.contact.pk) if result.status == DUPLICATE else None,
        )
    return outcomes  # type: ignore[return-value]


def email_ingest_batch(
    *,
    items: list[tuple[bytes, str]],
    source: str = "email",
    brand: Brand | None = None,
    one=None,
) -> list[EmailOutcome]:
    """`email_ingest_many` in a transaction of its own, committed once for the batch. If the
    batch fails (a database error, or a bug), nothing of it is committed and each message is
    taken in again on its own, so that a failure costs that message only: by `one(raw,
    detail)` when given (the caller's way to keep what fails), else `email_ingest`."""
    if not items:
        return []
    committed: list[bool] = []
    outcomes: list[EmailOutcome] = []
    try:
        with files_kept_on_commit(), transaction.atomic():
            # The first hook of the commit: an error raised after it (by another hook) must
            # not send the batch one by one again, where each committed message would come
            # back as `duplicate` (seen when a failed enqueue raised after commit).
            transaction.on_commit(lambda: committed.append(True))
            outcomes = email_ingest_many(items=items, source=source, brand=brand)
            if transaction.get_rollback():
                raise RuntimeError("a database error left the batch's transaction unusable")
        return outcomes
    except Exception as exc:
        if committed:
            # Its files belong to committed rows: files_kept_on_commit kept them.
            logger.exception("%s intake: an error after the batch committed", source)
            return outcomes
        if is_database_outage(exc):
            logger.warning(
                "%s intake: database unreachable (%s), taking the batch's messages one by one",
                source,
                exc,
            )
        else:
            logger.exception("%s intake: batch failed, taking its messages one by one", source)
    if one is None:

        def one(raw: bytes, detail: str) -> EmailOutcome:
            return email_ingest(raw=raw, source=source, source_detail=detail, brand=brand)

    return [one(raw, detail) for raw, detail in items]


def _parse(
    raw: bytes, *, source: str, source_detail: str, brand: Brand | None
) -> ParsedEmail | EmailOutcome:
    """The parsed message, or the outcome of its quarantine (too large, unreadable)."""
    if len(raw) > _max_bytes():
        return _quarantine(
            raw=raw,
            source=source,
            source_detail=source_detail,
            code="too_large",
            reason=f"message too large: {len(raw)} bytes (limit {_max_bytes()} bytes)",
            brand=brand,
        )
    try:
        return parse_email(
            raw,
            own_addresses=_own_addresses(),
            max_bytes=_max_bytes(),
            max_attachment_bytes=getattr(settings, "INTAKE_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024),
            # Every type is kept (served as a download) but programs and scripts; a setting
            # may narrow it to an allow-list.
            allowed_attachment_types=(
                frozenset(settings.INTAKE_ATTACHMENT_TYPES)
                if getattr(settings, "INTAKE_ATTACHMENT_TYPES", None)
                else None
            ),
        )
    except EmailParseError as exc:
        return _quarantine(
            raw=raw,
            source=source,
            source_detail=source_detail,
            code="parse_error",
            reason=f"cannot be read as an email: {exc.reason}",
            brand=brand,
        )


def _take_in(
    parsed: ParsedEmail,
    raw: bytes,
    *,
    source: str,
    source_detail: str,
    brand: Brand | None,
    lift_holds: bool,
) -> EmailOutcome:
    """Everything after parsing, for one message."""

    if not lift_holds:
        if parsed.is_loop:
            return _quarantine(
                raw=raw,
                source=source,
                source_detail=source_detail,
                code="loop",
                reason=f"mail loop: {parsed.loop_reason or 'our own mail came back'}",
                brand=brand,
                parsed=parsed,
                ignored=True,
            )
        if parsed.is_bounce:
            return _handle_bounce(parsed, raw, source, source_detail, brand)
        if parsed.is_auto_reply:
            message = _message(parsed, raw, brand)
            message.thread_only = True
            message.meta["automatic"] = parsed.auto_reason or "auto-reply"
            result = contact_intake(message=message)
            if result.status == UNTHREADED:
                return _quarantine(
                    raw=raw,
                    source=source,
                    source_detail=source_detail,
                    code="auto_reply",
                    reason=f"automatic reply ({parsed.auto_reason or 'auto-reply'}) "
                    "with no ticket to join: no ticket opened",
                    brand=brand,
                    parsed=parsed,
                    ignored=True,
                )
            return _from_result(result, parsed, reason="automatic reply added to its ticket")

    sender, _ = _sender(parsed)
    if not sender.email:
        return _quarantine(
            raw=raw,
            source=source,
            source_detail=source_detail,
            code="no_sender",
            reason="no sender address: nobody to answer",
            brand=brand,
            parsed=parsed,
        )
    message = _message(parsed, raw, brand)
    if not lift_holds:
        count = _flooding(normalise_email(sender.email))
        if count:
            # A redelivery is a duplicate, whatever its sender's volume (asked only of a
            # flooding sender: it costs the common case nothing).
            [already] = intake_duplicates([message])
            if already is not None:
                return _from_result(already, parsed)
            return _quarantine_flood(
                raw, parsed, count=count, source=source, detail=source_detail, brand=brand
            )
    result = contact_intake(message=message)
    reason = "ticket reopened" if result.reopened else ""
    return _from_result(result, parsed, reason=reason)


def _quarantine_flood(
    raw: bytes, parsed: ParsedEmail, *, count: int, source: str, detail: str, brand: Brand | None
) -> EmailOutcome:
    sender, _ = _sender(parsed)
    return _quarantine(
        raw=raw,
        source=source,
        source_detail=detail,
        code="flood",
        reason=f"flood: {count} messages from {sender.email} within the hour",
        brand=brand,
        parsed=parsed,
    )


def email_retry(*, item: QuarantineItem, data: bytes, by: User):
    """Quarantine retry handler: run the message again with its holds lifted."""
    outcome = email_ingest(
        raw=data,
        source=item.source,
        source_detail=item.source_detail,
        brand=item.brand,
        lift_holds=True,
    )
    if outcome.status in (CREATED, THREADED, DUPLICATE) and outcome.contact:
        return Contact.objects.get(pk=outcome.contact), ""
    return None, outcome.reason
