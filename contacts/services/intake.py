"""The one intake service: every channel's adapter hands it a normalised message.

`contact_intake` stores the raw input first, finds or creates the viewer, records the contact,
threads it onto an open ticket or opens a new one (state `new`, triage asked for after commit).
It is idempotent: a message whose Message-ID or (source, external_id) was already taken in
returns the existing contact with status `duplicate` and creates nothing, even when two
workers race (the unique constraints decide, the loser reads the winner's row).

Channel adapters (email, web form, phone, letter, API) live in `contacts.channels` and in the
sibling service modules; they never write contacts or tickets themselves.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User

from ..models import (
    Attachment,
    Brand,
    Channel,
    Contact,
    Direction,
    Programme,
    Status,
    Ticket,
    Viewer,
    ViewerConsent,
    ViewerDuplicate,
    ViewerEmail,
    ViewerPhone,
)
from .tickets import ticket_change_status, ticket_open
from .viewers import (
    ViewerDetails,
    fold,
    normalise_email,
    normalise_phone,
    viewer_search_text,
)

logger = logging.getLogger(__name__)

CREATED = "created"
THREADED = "threaded"
DUPLICATE = "duplicate"
REJECTED = "rejected"
# Automatic mail (auto-reply, bounce) that found no ticket to join: the caller sets it aside.
UNTHREADED = "unthreaded"

# A Date header further from the time of receipt than this is not believed.
_DATE_TRUST_PAST = timedelta(days=60)
_DATE_TRUST_FUTURE = timedelta(hours=2)


@dataclass(frozen=True)
class SenderIdentity:
    """Who wrote, as the channel knows it. Any field may be empty."""

    email: str = ""
    name: str = ""  # a display name when first and last names are not told apart
    civility: str = ""
    first_name: str = ""
    last_name: str = ""
    organisation: str = ""
    phone: str = ""
    address_line1: str = ""
    address_line2: str = ""
    postcode: str = ""
    city: str = ""
    country: str = "FR"


@dataclass(frozen=True)
class IncomingAttachment:
    filename: str
    content_type: str
    payload: bytes = field(repr=False)
    is_inline: bool = False
    content_id: str = ""


@dataclass
class InboundMessage:
    """What a channel adapter hands to the intake."""

    channel: str
    # Idempotency key besides the Message-ID: (external_source, external_id).
    external_source: str = ""
    external_id: str | None = None
    # The raw input as received (MIME bytes, JSON payload); or `raw_file_name`, a file the
    # adapter already stored (a letter's scan), with its digest.
    raw: bytes | None = field(default=None, repr=False)
    raw_extension: str = "bin"
    raw_file_name: str = ""
    raw_sha256: str = ""
    sender: SenderIdentity = field(default_factory=SenderIdentity)
    brand: Brand | None = None
    programme: Programme | None = None
    subject: str = ""
    body_text: str = ""
    body_html: str = ""
    occurred_at: datetime | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    ticket_ref: str | None = None
    attachments: list[IncomingAttachment] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    # (consent kind, granted) statements made with this message, and where they were made.
    consents: list[tuple[str, bool]] = field(default_factory=list)
    consent_source: str = ""
    # Staff who recorded it (a call, a letter), and what they chose on screen.
    author: User | None = None
    viewer: Viewer | None = None
    ticket: Ticket | None = None
    # Automatic mail (auto-replies, bounces) only joins an existing ticket: never opens one,
    # never reopens one.
    thread_only: bool = False
    # Whether the contact counts as the viewer speaking (updates last_inbound_at, reopens).
    direction: str = Direction.INBOUND


@dataclass
class IntakeResult:
    status: str
    contact: Contact | None = None
    ticket: Ticket | None = None
    viewer: Viewer | None = None
    reason: str = ""
    reopened: bool = False


def message_id_normalise(value: str | None) -> str:
    """Message-IDs are stored bare, without angle brackets (as the parser gives them): the
    outbound mail's id and a reply's In-Reply-To must compare equal."""
    return (value or "").strip().strip("<>").strip()[:255]


# --- raw storage -------------------------------------------------------------------------------


def raw_store(*, data: bytes, extension: str, prefix: str = "raw") -> tuple[str, str]:
    """Store raw bytes under a content-addressed name; returns (storage name, sha256).

    Called before any database write: if the transaction later fails, the bytes are still on
    disk, and storing the same input twice writes one file.
    """
    digest = hashlib.sha256(data).hexdigest()
    day = timezone.now().strftime("%Y/%m/%d")
    name = f"{prefix}/{day}/{digest}.{extension.strip('.') or 'bin'}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data))
    return name, digest


# --- viewers -----------------------------------------------------------------------------------


def _split_name(name: str) -> tuple[str, str]:
    """'Jeanne Martin' → ('Jeanne', 'Martin'); 'MARTIN Jeanne' → ('Jeanne', 'MARTIN')."""
    parts = (name or "").replace('"', "").split()
    if not parts:
        return "", ""
    if len(parts) == 1:
        return "", parts[0]
    if parts[0].isupper() and not parts[-1].isupper():
        return " ".join(parts[1:]), parts[0]
    return " ".join(parts[:-1]), parts[-1]


def _identity_names(sender: SenderIdentity) -> tuple[str, str]:
    if sender.first_name or sender.last_name:
        return sender.first_name.strip(), sender.last_name.strip()
    return _split_name(sender.name)


def _live(viewer: Viewer) -> Viewer:
    """Follow a merge to the viewer that remains."""
    seen = set()
    while viewer.merged_into_id and viewer.pk not in seen:
        seen.add(viewer.pk)
        viewer = viewer.merged_into
    return viewer


def _record_duplicate(a: Viewer, b: Viewer, reason: str) -> None:
    if a.pk == b.pk:
        return
    low, high = sorted((a, b), key=lambda v: v.pk)
    try:
        with transaction.atomic():
            ViewerDuplicate.objects.get_or_create(
                viewer=low, other=high, defaults={"reason": reason[:300]}
            )
    except IntegrityError:  # recorded meanwhile by a concurrent intake
        pass


def _create_viewer(
    *, sender: SenderIdentity, first: str, last: str, email: str, phone: str | None
) -> Viewer:
    """Create the viewer with its search text in one insert (the intake's hot path)."""
    details = ViewerDetails(
        civility=sender.civility,
        first_name=first[:100],
        last_name=last[:100],
        organisation=sender.organisation[:200],
        address_line1=sender.address_line1[:200],
        address_line2=sender.address_line2[:200],
        postcode=sender.postcode.strip()[:16],
        city=sender.city[:100],
        country=(sender.country or "FR")[:2],
    )
    viewer = Viewer.objects.create(
        **details.__dict__,
        search_text=viewer_search_text(
            first_name=details.first_name,
            last_name=details.last_name,
            organisation=details.organisation,
            postcode=details.postcode,
            city=details.city,
            emails=[email] if email else [],
            phones=[phone] if phone else [],
        ),
    )
    if email:
        ViewerEmail.objects.create(viewer=viewer, email=email, is_primary=True)
    if phone:
        ViewerPhone.objects.create(viewer=viewer, number=phone, is_primary=True)
    return viewer


def _enrich(
    viewer: Viewer, *, sender: SenderIdentity, first: str, last: str, email: str, phone: str | None
) -> None:
    """Add what the message teaches about a known viewer: a new phone or address, blanks filled.

    Never overwrites what staff recorded; only fills empty fields."""
    changed = []
    for attr, value in (
        ("first_name", first),
        ("last_name", last),
        ("civility", sender.civility),
        ("address_line1", sender.address_line1),
        ("postcode", sender.postcode.strip()),
        ("city", sender.city),
    ):
        if value and not getattr(viewer, attr):
            setattr(viewer, attr, value[:100] if attr != "address_line1" else value[:200])
            changed.append(attr)
    added = False
    if email and not ViewerEmail.objects.filter(viewer=viewer, email=email).exists():
        ViewerEmail.objects.create(viewer=viewer, email=email)
        added = True
    if phone and not ViewerPhone.objects.filter(viewer=viewer, number=phone).exists():
        ViewerPhone.objects.create(viewer=viewer, number=phone)
        added = True
    if changed:
        viewer.save(update_fields=[*changed, "updated_at"])
    if changed or added:
        from .viewers import viewer_refresh_search_text

        viewer_refresh_search_text(viewer=viewer)


def _pick(candidates: list[Viewer], first: str, last: str) -> Viewer:
    """Among viewers sharing an email or phone, the one whose name matches, else the oldest."""
    if last:
        named = [v for v in candidates if fold(v.last_name) == fold(last)]
        if first:
            named = [v for v in named if fold(v.first_name) == fold(first)] or named
        if named:
            return min(named, key=lambda v: v.pk)
    return min(candidates, key=lambda v: v.pk)


def viewer_find_or_create(*, sender: SenderIdentity) -> Viewer | None:
    """The viewer this sender is, found by email, then phone (E.164), then name + postcode;
    created when none matches. Ambiguous matches are recorded as ViewerDuplicate for staff to
    decide, never merged. Returns None when the sender gives nothing to identify them by.

    Call inside a transaction (the intake's).
    """
    email = normalise_email(sender.email)
    phone = normalise_phone(sender.phone) if sender.phone else None
    first, last = _identity_names(sender)
    postcode = sender.postcode.strip()

    for key, ids in (
        (email, ViewerEmail.objects.filter(email=email).values("viewer_id")),
        (phone, ViewerPhone.objects.filter(number=phone).values("viewer_id")),
    ):
        if not key:
            continue
        # A subquery on the indexed column rather than a join + DISTINCT: the hot path.
        direct = list(Viewer.objects.filter(pk__in=ids)[:20])
        found = {_live(v).pk: _live(v) for v in direct}
        if not found:
            continue
        candidates = list(found.values())
        chosen = _pick(candidates, first, last)
        for other in candidates:
            _record_duplicate(chosen, other, f"same contact detail {key}")
        # The detail that found the viewer is already theirs (unless found through a merge).
        has_it = chosen.pk in {v.pk for v in direct}
        _enrich(
            chosen,
            sender=sender,
            first=first,
            last=last,
            email="" if has_it and key == email else email,
            phone=None if has_it and key == phone else phone,
        )
        return chosen

    if not (email or phone or last):
        return None

    if last and postcode:
        same = [
            _live(v)
            for v in Viewer.objects.filter(
                last_name__iexact=last, postcode=postcode, merged_into__isnull=True
            ).order_by("-id")[:20]
        ]
        if first:
            same = [v for v in same if fold(v.first_name) in ("", fold(first))]
        if len(same) == 1 and not (email or phone):
            _enrich(same[0], sender=sender, first=first, last=last, email="", phone=None)
            return same[0]
        viewer = _create_viewer(sender=sender, first=first, last=last, email=email, phone=phone)
        # Staff review at most the three latest namesakes: a common name in a big city would
        # otherwise add dozens of rows per message and bury the real doubts.
        for other in same[:3]:
            _record_duplicate(viewer, other, f"same name and postcode: {last} {postcode}")
        return viewer

    return _create_viewer(sender=sender, first=first, last=last, email=email, phone=phone)


# --- threading ---------------------------------------------------------------------------------


def _follow_merges(ticket: Ticket) -> Ticket:
    seen = set()
    while ticket.merged_into_id and ticket.pk not in seen:
        seen.add(ticket.pk)
        ticket = ticket.merged_into
    return ticket


def _ticket_by_message_ids(ids: list[str]) -> Ticket | None:
    """The ticket of the most recent of these Message-IDs that the system sent or received."""
    ids = [i for i in dict.fromkeys(ids) if i]
    if not ids:
        return None
    rows = dict(
        Contact.objects.filter(message_id__in=ids[-50:]).values_list("message_id", "ticket_id")
    )
    for mid in reversed(ids):  # In-Reply-To is put last: the parent wins
        if mid in rows:
            return Ticket.objects.select_related("viewer").get(pk=rows[mid])
    return None


def _ticket_by_reference(reference: str, viewer: Viewer | None) -> Ticket | None:
    """The ticket a subject's reference names, if the sender is that ticket's viewer.

    References are sequential, hence guessable: a stranger quoting one opens their own ticket
    instead of writing into somebody else's."""
    ticket = Ticket.objects.filter(reference__iexact=reference).first()
    if ticket is None or viewer is None:
        return None
    if ticket.viewer_id in (None, viewer.pk):
        return ticket
    return None


def _find_thread(message: InboundMessage, viewer: Viewer | None) -> Ticket | None:
    if message.ticket is not None:
        return message.ticket
    ticket = _ticket_by_message_ids([*message.references, message.in_reply_to or ""])
    if ticket is None and message.ticket_ref:
        ticket = _ticket_by_reference(message.ticket_ref, viewer)
    return _follow_merges(ticket) if ticket is not None else None


# --- the intake --------------------------------------------------------------------------------


def _existing(message: InboundMessage) -> Contact | None:
    q = Q()
    if message.message_id:
        q |= Q(message_id=message.message_id)
    if message.external_id:
        q |= Q(external_source=message.external_source, external_id=message.external_id)
    if not q:
        return None
    return Contact.objects.filter(q).select_related("ticket", "viewer").first()


def _duplicate(contact: Contact) -> IntakeResult:
    return IntakeResult(
        status=DUPLICATE,
        contact=contact,
        ticket=contact.ticket,
        viewer=contact.viewer,
        reason="already received",
    )


def _occurred_at(value: datetime | None, now: datetime) -> datetime:
    if value is None or timezone.is_naive(value):
        return now
    if now - _DATE_TRUST_PAST <= value <= now + _DATE_TRUST_FUTURE:
        return value
    return now


def contact_intake(*, message: InboundMessage) -> IntakeResult:
    """Take one inbound message in: store its raw form, find or create the viewer, record the
    contact on its ticket (threaded, reopened, or newly opened in state `new`).

    Returns an IntakeResult whose status is `created` (new ticket), `threaded` (joined an
    existing ticket), `duplicate` (already taken in: nothing new) or `unthreaded` (automatic
    mail with no ticket to join: nothing stored but the raw file). Side effects after commit:
    the triage of a new ticket. May be called inside an outer transaction.
    """
    if message.channel not in Channel.values:
        raise ValueError(f"unknown channel {message.channel!r}")
    message.message_id = message_id_normalise(message.message_id) or None
    message.in_reply_to = message_id_normalise(message.in_reply_to) or None
    message.references = [r for r in map(message_id_normalise, message.references) if r]
    raw_name, raw_sha = message.raw_file_name, message.raw_sha256
    if message.raw is not None and not raw_name:
        raw_name, raw_sha = raw_store(data=message.raw, extension=message.raw_extension)

    # No look-up first: the unique constraints on Message-ID and (source, external_id) decide,
    # which is race-safe and spares the common case (a new message) one query.
    try:
        with transaction.atomic():
            return _intake(message, raw_name, raw_sha)
    except _NoThread:
        # Rolled back: automatic mail leaves no trace, not even a viewer.
        return IntakeResult(status=UNTHREADED, reason="no ticket to join")
    except IntegrityError:
        # Already taken in, by an earlier delivery or by another worker just now.
        existing = _existing(message)
        if existing is not None:
            return _duplicate(existing)
        raise


class _NoThread(Exception):
    """Automatic mail with no ticket to join: undo whatever the lookup created."""


def _intake(message: InboundMessage, raw_name: str, raw_sha: str) -> IntakeResult:
    now = timezone.now()
    viewer = message.viewer or viewer_find_or_create(sender=message.sender)
    ticket = _find_thread(message, viewer)
    inbound = message.direction == Direction.INBOUND
    status = THREADED
    reopened = False
    if ticket is not None and ticket.status == Status.CLOSED and not message.thread_only:
        # A closed ticket stays closed: the message starts a new request that cites it.
        message.meta.setdefault("follows", ticket.reference)
        ticket = None
    if ticket is None:
        if message.thread_only:
            raise _NoThread
        ticket = ticket_open(
            channel=message.channel,
            brand=message.brand,
            viewer=viewer,
            subject=message.subject,
            programme=message.programme,
            by=message.author,
            at=now,
        )
        status = CREATED
    elif inbound and not message.thread_only:
        if ticket.status == Status.RESOLVED:
            ticket = ticket_change_status(
                ticket=ticket,
                to=Status.TRIAGED,
                by=message.author,
                reason="new message from the viewer",
            )
            reopened = True
        elif ticket.status == Status.WAITING_VIEWER:
            ticket = ticket_change_status(
                ticket=ticket,
                to=Status.IN_PROGRESS,
                by=message.author,
                reason="the viewer answered",
            )
        Ticket.objects.filter(pk=ticket.pk).update(last_inbound_at=now)

    contact = Contact.objects.create(
        ticket=ticket,
        viewer=viewer,
        channel=message.channel,
        direction=message.direction,
        occurred_at=_occurred_at(message.occurred_at, now),
        subject=(message.subject or "")[:300],
        body_text=message.body_text or "",
        body_html=message.body_html or "",
        raw_file=raw_name,
        raw_sha256=raw_sha,
        sender_address=normalise_email(message.sender.email)[:254],
        message_id=(message.message_id or None) and message.message_id[:255],
        in_reply_to=(message.in_reply_to or "")[:255],
        references=" ".join(message.references),
        external_source=message.external_source[:64],
        external_id=(message.external_id or None) and message.external_id[:128],
        author=message.author,
        meta=message.meta,
    )
    if message.attachments:
        _store_attachments(contact, message.attachments)
    if message.consents and viewer is not None:
        ViewerConsent.objects.bulk_create(
            [
                ViewerConsent(
                    viewer=viewer,
                    kind=kind,
                    granted=granted,
                    recorded_at=now,
                    source=(message.consent_source or message.channel)[:100],
                    recorded_by=message.author,
                )
                for kind, granted in message.consents
            ]
        )
    return IntakeResult(
        status=status, contact=contact, ticket=ticket, viewer=viewer, reopened=reopened
    )


def _store_attachments(contact: Contact, attachments: list[IncomingAttachment]) -> None:
    rows = []
    for att in attachments:
        digest = hashlib.sha256(att.payload).hexdigest()
        safe = "".join(c for c in att.filename if c.isalnum() or c in "._- ")[-100:].strip()
        name = default_storage.save(
            f"attachments/{timezone.now():%Y/%m/%d}/{digest[:16]}-{safe or 'file'}",
            ContentFile(att.payload),
        )
        rows.append(
            Attachment(
                contact=contact,
                file=name,
                filename=att.filename[:255] or "file",
                content_type=att.content_type[:127],
                size=len(att.payload),
                sha256=digest,
                is_inline=att.is_inline,
                content_id=(att.content_id or "")[:255],
            )
        )
    Attachment.objects.bulk_create(rows)


def ticket_resolve_first_contact(
    *, ticket: Ticket, by: User | None, topic: str = "", outcome: str = "answered"
) -> Ticket:
    """Resolve a ticket answered on the spot (a phone call): new → triaged → resolved.

    The triage enqueued when it was opened finds it no longer `new` and leaves it alone."""
    with transaction.atomic():
        updates = {"level": 1}
        if topic:
            updates["topic"] = topic
        Ticket.objects.filter(pk=ticket.pk, status=Status.NEW).update(
            **updates, triaged_at=timezone.now(), triage_explanation="resolved at first contact"
        )
        ticket.refresh_from_db()
        if ticket.status == Status.NEW:
            ticket = ticket_change_status(
                ticket=ticket, to=Status.TRIAGED, by=by, reason="resolved at first contact"
            )
        return ticket_change_status(
            ticket=ticket,
            to=Status.RESOLVED,
            by=by,
            reason="resolved at first contact",
            outcome=outcome,
        )
