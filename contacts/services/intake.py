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

import contextlib
import contextvars
import hashlib
import logging
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import IntegrityError, connection, transaction
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
from .tickets import TicketOpening, ticket_change_status, ticket_open, ticket_open_many
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
    return storage_write_once(name=name, data=data), digest


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def storage_write_once(*, name: str, data: bytes) -> str:
    """Write `data` under the content-addressed `name` unless it is already there; returns
    the name stored.

    On local disk (FileSystemStorage) one exclusive open and one write, instead of the
    storage's existence checks, lock and chunked copy: the intake stores every raw input. A
    file left short by a crash while writing is written again (its size tells), through a
    temporary file renamed over it, so a reader never sees half of it. Other storages go
    through their own API.
    """
    storage = default_storage
    if not isinstance(storage, FileSystemStorage):
        if storage.exists(name):
            return name
        return storage.save(name, ContentFile(data))
    path = storage.path(name)
    try:
        fd = os.open(path, _FLAGS, 0o666)
    except FileNotFoundError:
        # First file of its day: the storage creates the folders (with their permissions).
        return storage.save(name, ContentFile(data))
    except FileExistsError:
        if os.path.getsize(path) != len(data):
            fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".part")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            _set_permissions(storage, temporary)
            os.replace(temporary, path)
        return name
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    _set_permissions(storage, path)
    return name


def _set_permissions(storage: FileSystemStorage, path: str) -> None:
    """As the storage's own save: the configured mode, and the group of the storage's root
    (so a web server reading the media through that group can read the file)."""
    if storage.file_permissions_mode is not None:
        os.chmod(path, storage.file_permissions_mode)
    if os.name == "posix":
        group = os.stat(storage.location).st_gid
        if os.stat(path).st_gid != group:
            with contextlib.suppress(PermissionError):
                os.chown(path, -1, group)


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
    viewer = _viewer_row(sender=sender, first=first, last=last, email=email, phone=phone)
    viewer.save(force_insert=True)
    if email:
        ViewerEmail.objects.create(viewer=viewer, email=email, is_primary=True)
    if phone:
        ViewerPhone.objects.create(viewer=viewer, number=phone, is_primary=True)
    return viewer


def _viewer_row(
    *, sender: SenderIdentity, first: str, last: str, email: str, phone: str | None
) -> Viewer:
    """A new viewer, not yet saved, with its search text."""
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
    return Viewer(
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


def _blanks(viewer: Viewer, sender: SenderIdentity, first: str, last: str) -> list[tuple]:
    """(field, value) of the viewer's empty fields this sender fills."""
    return [
        (attr, value)
        for attr, value in (
            ("first_name", first),
            ("last_name", last),
            ("civility", sender.civility),
            ("address_line1", sender.address_line1),
            ("postcode", sender.postcode.strip()),
            ("city", sender.city),
        )
        if value and not getattr(viewer, attr)
    ]


def _enrich(
    viewer: Viewer, *, sender: SenderIdentity, first: str, last: str, email: str, phone: str | None
) -> None:
    """Add what the message teaches about a known viewer: a new phone or address, blanks filled.

    Never overwrites what staff recorded; only fills empty fields."""
    changed = []
    for attr, value in _blanks(viewer, sender, first, last):
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


def _viewer_matches(
    *, email: str, phone: str | None, last: str, postcode: str
) -> list[tuple[str, list[Viewer]]]:
    """(how, viewers) in the order the intake tries them: by email, by phone, then namesakes
    (same last name and postcode, latest first); at most 20 of each.

    The look-ups a sender calls for are made in one statement, a UNION of the three: a new
    sender costs one round trip, not three. Written in SQL because the ORM took four times
    longer to compile this query than the database to run it, on the intake's hottest path.
    """
    qn = connection.ops.quote_name
    table = qn(Viewer._meta.db_table)
    branches = []
    if email:
        ids = f"SELECT viewer_id FROM {qn(ViewerEmail._meta.db_table)} WHERE email = %s"
        branches.append(("email", f"v.id IN ({ids})", [email]))
    if phone:
        ids = f"SELECT viewer_id FROM {qn(ViewerPhone._meta.db_table)} WHERE number = %s"
        branches.append(("phone", f"v.id IN ({ids})", [phone]))
    if last and postcode:
        same = "UPPER(v.last_name) = UPPER(%s) AND v.postcode = %s AND v.merged_into_id IS NULL"
        branches.append(("name", f"{same} ORDER BY v.id DESC", [last, postcode]))
    if not branches:
        return []
    # Each part in a subquery of its own: SQLite takes LIMIT and ORDER BY in a UNION only so.
    sql = " UNION ALL ".join(
        f"SELECT * FROM (SELECT v.*, {i} AS branch FROM {table} v WHERE {where} LIMIT 20) b{i}"
        for i, (_, where, _) in enumerate(branches)
    )
    params = [p for _, _, values in branches for p in values]
    rows = list(Viewer.objects.raw(sql, params))
    found = []
    for i, (how, _, _) in enumerate(branches):
        viewers = [v for v in rows if v.branch == i]
        found.append((how, sorted(viewers, key=lambda v: -v.pk) if how == "name" else viewers))
    return found


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

    namesakes: list[Viewer] = []
    for branch, direct in _viewer_matches(email=email, phone=phone, last=last, postcode=postcode):
        if branch == "name":
            namesakes = direct
            break
        key = email if branch == "email" else phone
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
        same = [_live(v) for v in namesakes]
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


def intake_duplicates(messages: list[InboundMessage]) -> list[IntakeResult | None]:
    """For each message, the `duplicate` result if it was already taken in (by Message-ID or
    (source, external_id)), else None; one query. What a channel asks before holding a
    message for another reason (a flood): a redelivery is a duplicate, not a flood."""
    ids = {message_id_normalise(m.message_id) for m in messages} - {""}
    externals = {m.external_id for m in messages if m.external_id}
    if not ids and not externals:
        return [None] * len(messages)
    q = Q(message_id__in=ids) if ids else Q()
    if externals:
        q |= Q(external_id__in=externals)
    by_id, by_external = {}, {}
    for contact in Contact.objects.filter(q).select_related("ticket", "viewer"):
        if contact.message_id:
            by_id.setdefault(contact.message_id, contact)
        if contact.external_id is not None:
            by_external.setdefault((contact.external_source, contact.external_id), contact)
    results: list[IntakeResult | None] = []
    for m in messages:
        found = by_id.get(message_id_normalise(m.message_id)) or by_external.get(
            (m.external_source, m.external_id)
        )
        results.append(_duplicate(found) if found is not None else None)
    return results


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
    _prepare(message)

    # No look-up first: the unique constraints on Message-ID and (source, external_id) decide,
    # which is race-safe and spares the common case (a new message) one query.
    try:
        with files_kept_on_commit(), transaction.atomic():
            return _intake(message)
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


def _prepare(message: InboundMessage) -> None:
    """Check and normalise the message, and store its raw input (before any database write)."""
    if message.channel not in Channel.values:
        raise ValueError(f"unknown channel {message.channel!r}")
    message.message_id = message_id_normalise(message.message_id) or None
    message.in_reply_to = message_id_normalise(message.in_reply_to) or None
    message.references = [r for r in map(message_id_normalise, message.references) if r]
    if message.raw is not None and not message.raw_file_name:
        message.raw_file_name, message.raw_sha256 = raw_store(
            data=message.raw, extension=message.raw_extension
        )


# --- several messages at once ------------------------------------------------------------------


def intake_keys(message: InboundMessage) -> set[str]:
    """What the intake of this message looks up or writes that another message of the same
    batch could also touch: its sender's contact details, its own ids and the Message-IDs it
    answers. Messages sharing none of these can be taken in in any order."""
    sender = message.sender
    ids = (message.message_id, message.in_reply_to, *message.references)
    keys = {f"mid:{m}" for m in ids if m}
    if email := normalise_email(sender.email):
        keys.add(f"email:{email}")
    if sender.phone:
        keys.add(f"phone:{normalise_phone(sender.phone) or sender.phone}")
    # No key for names: the name + postcode search only finds viewers with both, and a
    # message `_simple` enough to be written with others creates a viewer without one of them.
    if message.external_id:
        keys.add(f"ext:{message.external_source}:{message.external_id}")
    if message.ticket_ref:
        keys.add(f"ref:{message.ticket_ref.upper()}")
    return keys


def _simple(message: InboundMessage) -> bool:
    """Whether the look-ups a batch makes at once can tell what the intake would do with this
    message (see `_plain`): an email address as the only contact detail (no phone, no name +
    postcode search), nothing chosen on screen, no ticket reference, not automatic mail, no
    consents."""
    sender = message.sender
    return (
        bool(normalise_email(sender.email))
        and not sender.phone
        and not (sender.postcode.strip() and _identity_names(sender)[1])
        and message.viewer is None
        and message.ticket is None
        and not message.ticket_ref
        and not message.thread_only
        and not message.consents
        and message.direction == Direction.INBOUND
    )


def contact_intake_many(*, messages: list[InboundMessage]) -> list[IntakeResult]:
    """Take these messages in, with the results `contact_intake` gives for each in turn.

    The common cases of a batch are written for all such messages at once: a message from a
    new sender, or from a known one (one viewer, nothing to add to their card), that starts
    a request or answers one still open (nothing to reopen). Two look-ups, then one INSERT
    per table (viewers, their emails, tickets and their history, contacts, attachments), one
    block of ticket references and one UPDATE of the answered tickets, instead of seven to
    ten statements and a savepoint per message. The others go through `contact_intake` one
    by one, in order, after them: those the look-ups show to need more (a reopening, a card
    to complete...), and any message that shares a sender or a Message-ID with another of
    the batch (see `intake_keys`), whose turn could matter. Raw inputs are stored before any
    database write. Call inside a transaction (the batch's); triage of the new tickets is
    asked for after commit.
    """
    for message in messages:
        _prepare(message)
    results: list[IntakeResult | None] = [None] * len(messages)
    keys = [intake_keys(m) for m in messages]
    seen: dict[str, int] = {}
    for message_keys in keys:
        for key in message_keys:
            seen[key] = seen.get(key, 0) + 1
    batch = [
        i
        for i, message in enumerate(messages)
        if _simple(message) and all(seen[k] == 1 for k in keys[i])
    ]
    if len(batch) < 2:
        batch = []  # the look-ups would cost more than they spare

    # The batch first: its look-ups then see the database as each of its messages would, had
    # it come first; the ones after it share no sender or Message-ID with it.
    known = _known([messages[i] for i in batch])
    plain: list[tuple[int, _Plain]] = []
    for i in batch:
        message = messages[i]
        existing = known.existing.get(message.message_id) or known.existing.get(
            (message.external_source, message.external_id)
        )
        if existing is not None:
            results[i] = _duplicate(existing)
        elif (plan := _plain(message, known)) is not None:
            plain.append((i, plan))
    if plain:
        try:
            with files_kept_on_commit(), transaction.atomic():
                written = _write_plain([(messages[i], plan) for i, plan in plain])
        except IntegrityError:
            # Another worker took one of these in meanwhile: one by one, the constraints tell.
            written = [contact_intake(message=messages[i]) for i, _ in plain]
        for (i, _), result in zip(plain, written, strict=True):
            results[i] = result
    for i, message in enumerate(messages):
        if results[i] is None:
            results[i] = contact_intake(message=message)
    return results  # type: ignore[return-value]


@dataclass
class _Known:
    """What the database holds about a batch: contacts already taken in (by Message-ID or
    (source, external_id)), the tickets of the Message-IDs it answers, the viewers of its
    senders' addresses."""

    existing: dict = field(default_factory=dict)
    threads: dict[str, Ticket] = field(default_factory=dict)
    viewers: dict[str, list[Viewer]] = field(default_factory=dict)


def _known(messages: list[InboundMessage]) -> _Known:
    known = _Known()
    if not messages:
        return known
    own = {m.message_id for m in messages if m.message_id}
    answered = {r for m in messages for r in (m.in_reply_to, *m.references) if r}
    externals = {m.external_id for m in messages if m.external_id}
    q = Q(message_id__in=own | answered) if own or answered else Q()
    if externals:
        q |= Q(external_id__in=externals)
    if q:
        for contact in Contact.objects.filter(q).select_related("ticket", "viewer"):
            if contact.message_id in own:
                known.existing[contact.message_id] = contact
            if contact.message_id in answered:
                known.threads[contact.message_id] = contact.ticket
            if contact.external_id is not None:
                known.existing[(contact.external_source, contact.external_id)] = contact
    emails = {normalise_email(m.sender.email) for m in messages}
    for row in ViewerEmail.objects.filter(email__in=emails).select_related("viewer"):
        known.viewers.setdefault(row.email, []).append(row.viewer)
    return known


@dataclass
class _Plain:
    viewer: Viewer | None  # None: a new viewer
    ticket: Ticket | None  # None: a new ticket


# Tickets a message from the viewer joins without a change of status.
_JOINED_AS_IS = frozenset({Status.NEW, Status.TRIAGED, Status.IN_PROGRESS, Status.WAITING_INTERNAL})


def _plain(message: InboundMessage, known: _Known) -> _Plain | None:
    """What `_intake` would do with this `_simple` message, if it is plain: a new viewer, or
    a known one it would leave as is; a new ticket, or an open one it would only date. None
    when the message needs the one-by-one path."""
    email = normalise_email(message.sender.email)
    viewer = None
    if candidates := known.viewers.get(email):
        first, last = _identity_names(message.sender)
        only = candidates[0]
        if len(candidates) > 1 or only.merged_into_id or _blanks(only, message.sender, first, last):
            return None  # doubts to record, a merge to follow, a card to complete
        viewer = only
    # As _ticket_by_message_ids: the most recent of the (last 50) ids answered wins.
    ids = [i for i in dict.fromkeys([*message.references, message.in_reply_to or ""]) if i]
    ticket = next((known.threads[i] for i in reversed(ids[-50:]) if i in known.threads), None)
    if ticket is not None and (ticket.merged_into_id or ticket.status not in _JOINED_AS_IS):
        return None  # a merge to follow, a ticket to reopen or to leave closed
    return _Plain(viewer=viewer, ticket=ticket)


def _write_plain(batch: list[tuple[InboundMessage, _Plain]]) -> list[IntakeResult]:
    """The viewers, tickets and contacts of plain messages (see `_plain`), all at once."""
    now = timezone.now()
    new = [(message, plan) for message, plan in batch if plan.viewer is None]
    rows = []
    for message, _ in new:
        first, last = _identity_names(message.sender)
        email = normalise_email(message.sender.email)
        rows.append(
            _viewer_row(sender=message.sender, first=first, last=last, email=email, phone=None)
        )
    Viewer.objects.bulk_create(rows)
    ViewerEmail.objects.bulk_create(
        [
            ViewerEmail(viewer=row, email=normalise_email(message.sender.email), is_primary=True)
            for row, (message, _) in zip(rows, new, strict=True)
        ]
    )
    created = iter(rows)
    viewers = [plan.viewer or next(created) for _, plan in batch]
    opening = [k for k, (_, plan) in enumerate(batch) if plan.ticket is None]
    opened = ticket_open_many(
        openings=[
            TicketOpening(
                channel=batch[k][0].channel,
                brand=batch[k][0].brand,
                viewer=viewers[k],
                subject=batch[k][0].subject,
                programme=batch[k][0].programme,
                by=batch[k][0].author,
                at=now,
            )
            for k in opening
        ]
    )
    tickets = [plan.ticket for _, plan in batch]
    for k, ticket in zip(opening, opened, strict=True):
        tickets[k] = ticket
    answered = {plan.ticket.pk for _, plan in batch if plan.ticket is not None}
    if answered:
        Ticket.objects.filter(pk__in=answered).update(last_inbound_at=now)
    contacts = [
        _contact_row(message, ticket=ticket, viewer=viewer, now=now)
        for (message, _), ticket, viewer in zip(batch, tickets, viewers, strict=True)
    ]
    Contact.objects.bulk_create(contacts)
    attachments = [
        row
        for contact, (message, _) in zip(contacts, batch, strict=True)
        for row in _attachment_rows(contact, message.attachments)
    ]
    if attachments:
        Attachment.objects.bulk_create(attachments)
    return [
        IntakeResult(
            status=THREADED if plan.ticket is not None else CREATED,
            contact=contact,
            ticket=ticket,
            viewer=viewer,
        )
        for (_, plan), contact, ticket, viewer in zip(
            batch, contacts, tickets, viewers, strict=True
        )
    ]


def _intake(message: InboundMessage) -> IntakeResult:
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

    contact = _contact_row(message, ticket=ticket, viewer=viewer, now=now)
    contact.save(force_insert=True)
    if message.attachments:
        Attachment.objects.bulk_create(_attachment_rows(contact, message.attachments))
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


def _contact_row(
    message: InboundMessage, *, ticket: Ticket, viewer: Viewer | None, now: datetime
) -> Contact:
    """The contact a message becomes, not yet saved (its raw file already stored)."""
    return Contact(
        ticket=ticket,
        viewer=viewer,
        channel=message.channel,
        direction=message.direction,
        occurred_at=_occurred_at(message.occurred_at, now),
        subject=(message.subject or "")[:300],
        body_text=message.body_text or "",
        body_html=message.body_html or "",
        raw_file=message.raw_file_name,
        raw_sha256=message.raw_sha256,
        sender_address=normalise_email(message.sender.email)[:254],
        message_id=(message.message_id or None) and message.message_id[:255],
        in_reply_to=(message.in_reply_to or "")[:255],
        references=" ".join(message.references),
        external_source=message.external_source[:64],
        external_id=(message.external_id or None) and message.external_id[:128],
        author=message.author,
        meta=message.meta,
    )


def attachment_storage_name(filename: str) -> str:
    """A short, safe storage path for an attachment: the original name (any length, any
    characters) lives in `Attachment.filename`; the path only keeps a short extension, and
    stays well under `Attachment.file`'s 100 characters (enforced by PostgreSQL)."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    ext = "".join(c for c in ext if c.isascii() and c.isalnum())[:10]
    return f"attachments/{timezone.now():%Y/%m/%d}/{uuid.uuid4().hex}{'.' + ext if ext else ''}"


# --- files of a transaction that may roll back ---------------------------------------------------

# The attachment files written by the intake in progress (see `files_kept_on_commit`).
_WRITTEN: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "intake_files_written", default=None
)


@contextlib.contextmanager
def files_kept_on_commit():
    """Attachment files written inside this block are deleted if it raises (the transaction
    that referenced them rolled back): no orphan files.

    Files are written before their rows, so that a committed row always has its file, each
    under a name of its own (never shared: deleting one cannot take another row's file).
    Nested blocks hand their files to the enclosing one when they succeed; yields the list
    of files written, for a caller that rolls back without raising (`files_discard`).
    """
    outer = _WRITTEN.get()
    mine: list[str] = []
    token = _WRITTEN.set(mine)
    try:
        yield mine
    except BaseException:
        files_discard(_unreferenced(mine))
        raise
    else:
        if outer is not None:
            outer.extend(mine)
    finally:
        _WRITTEN.reset(token)


def _unreferenced(names: list[str]) -> list[str]:
    """Those of these files that no row references: an error raised after the commit (by an
    on-commit hook) leaves committed rows whose files must stay. Where the database cannot
    tell (it is down), every file stays: an orphan costs disk, a missing file costs data."""
    if not names:
        return []
    try:
        used = set(Attachment.objects.filter(file__in=names).values_list("file", flat=True))
    except Exception:
        logger.warning("could not check %d file(s) of a failed intake: kept", len(names))
        return []
    return [name for name in names if name not in used]


def files_discard(names: list[str]) -> None:
    """Delete these files (of a rolled-back transaction); a failure is logged, not raised."""
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete the orphan file %s", name, exc_info=True)
    names.clear()


def _attachment_rows(contact: Contact, attachments: list[IncomingAttachment]) -> list[Attachment]:
    """Store the attachments' files; returns their rows, not yet saved. Inside
    `files_kept_on_commit`, the files go away if the transaction rolls back."""
    rows = []
    written = _WRITTEN.get()
    for att in attachments:
        digest = hashlib.sha256(att.payload).hexdigest()
        name = storage_write_once(name=attachment_storage_name(att.filename), data=att.payload)
        if written is not None:
            written.append(name)
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
    return rows


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
