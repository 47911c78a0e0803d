"""Reads of tickets, contacts and viewers, each scoped to what the user may see."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.db.models.expressions import RawSQL
from django.http import Http404

from accounts import permissions
from accounts.models import User

from .models import (
    OPEN_STATUSES,
    Attachment,
    Contact,
    InternalNote,
    Ticket,
    TicketEvent,
    TicketEventKind,
    Viewer,
    ViewerConsent,
    ViewerDuplicate,
    ViewerEmail,
    ViewerPhone,
)


def ticket_scope_q(user: User, *, work: bool = False) -> Q:
    """The tickets `user` may see (or work on), as a query condition.

    Mirrors `accounts.permissions` for tickets: levels by role (for the SRT, plus the level-3
    tickets an SRT officer escalated), brands by scope; tickets with no known brand are visible
    at the user's levels.
    """
    levels = permissions.ticket_levels(user, work=work)
    if not levels:
        return Q(pk__in=[])
    q = Q(level__in=sorted(levels))
    if not work and permissions.follows_srt_escalations(user):
        escalated = TicketEvent.objects.filter(
            permissions.srt_escalation_q(), ticket=OuterRef("pk")
        )
        q |= Q(level=3) & Exists(escalated)
    scope = permissions.brand_scope(user)
    if scope is not None:
        q &= Q(brand_id__in=sorted(scope)) | Q(brand_id__isnull=True)
    return q


def ticket_track_q(user: User) -> Q:
    """The tickets whose standing `user` may know (`permissions.can(user, "track", ticket)`):
    every level, the user's brands and the tickets with no known brand."""
    if not permissions.tracks_tickets(user):
        return Q(pk__in=[])
    scope = permissions.brand_scope(user)
    if scope is None:
        return Q()
    return Q(brand_id__in=sorted(scope)) | Q(brand_id__isnull=True)


def open_tickets_tracked(*, user: User) -> QuerySet[Ticket]:
    """Open tickets whose standing the user may know, each flagged `readable` when the user may
    also read it (`ticket_scope_q`): one query, for the call desk and the viewer card. Only a
    readable ticket's subject and page may be shown; of the others, the reference, level,
    state and due date (to tell a caller where their request stands)."""
    return (
        Ticket.objects.filter(ticket_track_q(user), status__in=OPEN_STATUSES)
        .annotate(readable=ExpressionWrapper(ticket_scope_q(user), output_field=BooleanField()))
        .select_related("brand")
        .order_by("-created_at", "-id")
    )


def viewer_open_tickets(*, user: User, viewer: Viewer) -> list[Ticket]:
    """The viewer's open tickets the user may track (see `open_tickets_tracked`)."""
    return [
        t
        for t in open_tickets_tracked(user=user).filter(viewer=viewer)
        if permissions.can(user, "track", t)
    ]


def ticket_get_for_tracking(*, user: User, pk: int) -> Ticket:
    """An open ticket the user may track (to attach a call to it), or Http404."""
    try:
        ticket = open_tickets_tracked(user=user).get(pk=pk)
    except (Ticket.DoesNotExist, ValueError):
        raise Http404 from None
    if not permissions.can(user, "track", ticket):
        raise Http404
    return ticket


def ticket_list(*, user: User, work: bool = False) -> QuerySet[Ticket]:
    """Tickets the user may see, with what list screens display, newest first."""
    return (
        Ticket.objects.filter(ticket_scope_q(user, work=work))
        .select_related("brand", "programme", "viewer", "team", "assignee")
        .order_by("-created_at", "-id")
    )


def ticket_get_for_user(*, user: User, pk: int | None = None, reference: str = "") -> Ticket:
    """The ticket, or Http404 when it does not exist or lies outside the user's level or
    brands (an agent must not learn that a level-2 ticket exists)."""
    lookup = {"pk": pk} if pk is not None else {"reference": reference}
    try:
        ticket = Ticket.objects.select_related(
            "brand", "programme", "viewer", "team", "assignee"
        ).get(**lookup)
    except (Ticket.DoesNotExist, ValueError):
        raise Http404 from None
    if not permissions.can(user, "view", ticket):
        raise Http404
    return ticket


def ticket_thread(*, ticket: Ticket) -> QuerySet[Contact]:
    return (
        Contact.objects.filter(ticket=ticket)
        .select_related("author", "call", "outbox")
        .prefetch_related("attachments")
        .order_by("occurred_at", "id")
    )


def ticket_notes_for_user(*, user: User, ticket: Ticket) -> QuerySet[InternalNote]:
    """Internal notes the user may read: agents never see level-2 or level-3 notes."""
    return (
        InternalNote.objects.filter(ticket=ticket, level__lte=permissions.note_max_level(user))
        .select_related("author")
        .order_by("created_at", "id")
    )


# --- the workspace: the ticket page, the viewer search and the viewer's history ---------------

TICKET_HISTORY_LIMIT = 20
VIEWER_SEARCH_LIMIT = 50
_REFERENCE_RE = re.compile(r"^(?:FTV-)?(\d{4})-(\d{1,6})$", re.IGNORECASE)
_POSTCODE_RE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$", re.IGNORECASE)
_PHONE_CHARS_RE = re.compile(r"^\+?[\d\s.\-()]{9,}$")


def _current_consents(consents: list[ViewerConsent]) -> list[ViewerConsent]:
    """The statement in force for each kind (the latest), from a list newest first."""
    seen: dict[str, ViewerConsent] = {}
    for consent in consents:
        seen.setdefault(consent.kind, consent)
    return list(seen.values())


def _channel_counts(*, user: User, viewer_id: int) -> list[dict]:
    """The viewer's contacts per channel and direction, on the tickets the user may see."""
    return list(
        Contact.objects.filter(viewer_id=viewer_id)
        .filter(ticket__in=Ticket.objects.filter(ticket_scope_q(user)))
        .values("channel", "direction")
        .annotate(n=Count("id"))
        .order_by("channel", "direction")
    )


@dataclass
class ViewerCard:
    viewer: Viewer
    emails: list[ViewerEmail]
    phones: list[ViewerPhone]
    consents: list[ViewerConsent]  # in force, one per kind
    consent_history: list[ViewerConsent]
    tickets: list[Ticket]  # the viewer's tickets the user may see, newest first
    more_tickets: bool
    channel_counts: list[dict]
    # The viewer's open tickets at every level whose standing the user may know, each flagged
    # `readable` (content shown only then): see `open_tickets_tracked`.
    open_tickets: list[Ticket] = field(default_factory=list)


def viewer_card(
    *, user: User, viewer: Viewer, exclude_ticket: int | None = None, limit: int = 20
) -> ViewerCard:
    """The viewer card: details, addresses (failing ones flagged), consents, and their history
    across tickets and channels, restricted to the tickets the user may see, and the standing
    of their open tickets the user may track. Six queries."""
    consents = list(
        ViewerConsent.objects.filter(viewer=viewer)
        .select_related("recorded_by")
        .order_by("-recorded_at", "-id")
    )
    tickets_qs = Ticket.objects.filter(ticket_scope_q(user), viewer=viewer)
    if exclude_ticket is not None:
        tickets_qs = tickets_qs.exclude(pk=exclude_ticket)
    tickets = list(tickets_qs.select_related("brand").order_by("-created_at", "-id")[: limit + 1])
    return ViewerCard(
        viewer=viewer,
        emails=list(ViewerEmail.objects.filter(viewer=viewer).order_by("-is_primary", "email")),
        phones=list(ViewerPhone.objects.filter(viewer=viewer).order_by("-is_primary", "number")),
        consents=_current_consents(consents),
        consent_history=consents,
        tickets=tickets[:limit],
        more_tickets=len(tickets) > limit,
        channel_counts=_channel_counts(user=user, viewer_id=viewer.pk),
        open_tickets=[
            t for t in viewer_open_tickets(user=user, viewer=viewer) if t.pk != exclude_ticket
        ],
    )


# Moves of a ticket decided by staff after the automatic triage (shown next to its explanation).
_STAFF_MOVES = frozenset(
    {TicketEventKind.REROUTED, TicketEventKind.ESCALATED, TicketEventKind.SENT_BACK}
)


@dataclass
class TicketPage:
    ticket: Ticket
    thread: list[Contact]
    notes: list[InternalNote]
    events: list[TicketEvent]
    overrides: list[TicketEvent]  # re-routings, escalations, send-backs, with their reasons
    attachments: list[Attachment]
    card: ViewerCard | None
    survey: object | None = None
    merged_from: list[str] = field(default_factory=list)  # references merged into this one
    # The escalation or send-back that brought the ticket to its level, with its reason.
    arrival: TicketEvent | None = None


def _arrival(ticket: Ticket, events: list[TicketEvent]) -> TicketEvent | None:
    """The last escalation or send-back, when it is what put the ticket at its present level."""
    moves = [e for e in events if e.kind in {TicketEventKind.ESCALATED, TicketEventKind.SENT_BACK}]
    if moves and moves[-1].to_value == str(ticket.level):
        return moves[-1]
    return None


def ticket_page(*, user: User, ticket: Ticket) -> TicketPage:
    """Everything the ticket page shows, for a ticket fetched with `ticket_get_for_user`:
    the thread in order (calls, letter scans, attachments joined), the notes the user may read,
    the history, the viewer card. A fixed number of queries, whatever the thread's length."""
    from satisfaction.models import Survey

    thread = list(
        Contact.objects.filter(ticket=ticket)
        .select_related("author", "call", "letter_scan", "outbox")
        .prefetch_related("attachments")
        .order_by("occurred_at", "id")
    )
    events = list(
        TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("at", "id")
    )
    attachments = [a for c in thread for a in c.attachments.all()]
    card = None
    if ticket.viewer_id is not None:
        card = viewer_card(
            user=user, viewer=ticket.viewer, exclude_ticket=ticket.pk, limit=TICKET_HISTORY_LIMIT
        )
    return TicketPage(
        ticket=ticket,
        thread=thread,
        notes=list(ticket_notes_for_user(user=user, ticket=ticket)),
        events=events,
        overrides=[e for e in events if e.kind in _STAFF_MOVES],
        attachments=attachments,
        card=card,
        survey=Survey.objects.filter(ticket=ticket).first(),
        # A merge leaves an event on the ticket that stays, naming the merged one.
        merged_from=[
            e.from_value
            for e in events
            if e.kind == TicketEventKind.MERGED and e.from_value and not e.to_value
        ],
        arrival=_arrival(ticket, events),
    )


def contact_get_for_user(*, user: User, pk: int) -> Contact:
    """A contact (for its raw file or scan), or 404 when its ticket is out of the user's sight."""
    contact = Contact.objects.select_related("ticket").filter(pk=pk).first()
    if contact is None or not permissions.can(user, "view", contact.ticket):
        raise Http404
    return contact


def attachment_get_for_user(*, user: User, pk: int) -> Attachment:
    attachment = Attachment.objects.select_related("contact__ticket").filter(pk=pk).first()
    if attachment is None or not permissions.can(user, "view", attachment.contact.ticket):
        raise Http404
    return attachment


# --- viewers -----------------------------------------------------------------------------------


def viewer_get_for_user(*, user: User, pk: int) -> Viewer:
    """The viewer, or 404 for a user who may not read viewers' cards."""
    viewer = Viewer.objects.select_related("merged_into").filter(pk=pk).first()
    if viewer is None or not permissions.can(user, "view", viewer):
        raise Http404
    return viewer


@dataclass
class ViewerSearch:
    query: str
    kind: str  # "reference", "email", "phone", "postcode", "name", or "" (nothing asked)
    viewers: list[Viewer]
    ticket: Ticket | None = None  # the ticket a reference named
    truncated: bool = False  # more matches than shown: refine the search
    fuzzy: bool = False  # no exact match: close spellings are shown


def _search_kind(query: str) -> str:
    if _REFERENCE_RE.match(query):
        return "reference"
    if "@" in query:
        return "email"
    if _POSTCODE_RE.match(query):
        return "postcode"
    if _PHONE_CHARS_RE.match(query) and sum(c.isdigit() for c in query) >= 9:
        return "phone"
    return "name"


def _with_addresses(qs: QuerySet[Viewer]) -> QuerySet[Viewer]:
    return qs.prefetch_related(
        Prefetch("emails", queryset=ViewerEmail.objects.order_by("-is_primary", "email")),
        Prefetch("phones", queryset=ViewerPhone.objects.order_by("-is_primary", "number")),
    )


def _name_search(words: list[str], folded: str, limit: int) -> tuple[list[Viewer], bool]:
    """Viewers whose folded text contains every word; on PostgreSQL the trigram index serves
    the LIKEs and the closest matches come first; if none, close spellings (trigram word
    similarity) then French stems (full text) are tried. Returns (viewers, fuzzy)."""
    base = Viewer.objects.filter(merged_into__isnull=True)
    qs = base
    for word in words[:6]:
        qs = qs.filter(search_text__contains=word)
    postgres = connection.vendor == "postgresql"
    if postgres:
        from django.contrib.postgres.search import TrigramSimilarity

        qs = qs.annotate(rank=TrigramSimilarity("search_text", folded)).order_by("-rank", "pk")
    else:
        qs = qs.order_by("last_name", "first_name", "pk")
    rows = list(_with_addresses(qs)[: limit + 1])
    if rows or not postgres or len(folded) < 4:
        return rows, False
    return _fuzzy_search(base, folded, limit), True


def _fuzzy_search(base: QuerySet[Viewer], folded: str, limit: int) -> list[Viewer]:
    """PostgreSQL only: misspelt names through the trigram index, then French stems.

    The planner prices word similarity too cheaply and would scan the whole table (1.5 s at
    100,000 viewers) rather than use the trigram index (3 ms): both settings are local to
    a short transaction, and put back after the query in case the caller's transaction goes
    on. 0.45 lets one swapped or missing letter through.
    """
    from django.contrib.postgres.search import TrigramWordSimilarity
    from django.db import transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_seqscan'), "
            "current_setting('pg_trgm.word_similarity_threshold'), "
            "set_config('enable_seqscan', 'off', true), "
            "set_config('pg_trgm.word_similarity_threshold', '0.45', true)"
        )
        seqscan, threshold, _off, _low = cursor.fetchone()
        rows = list(
            _with_addresses(
                base.filter(search_text__trigram_word_similar=folded)
                .annotate(rank=TrigramWordSimilarity(folded, "search_text"))
                .order_by("-rank", "pk")
            )[: limit + 1]
        )
        cursor.execute(
            "SELECT set_config('enable_seqscan', %s, true), "
            "set_config('pg_trgm.word_similarity_threshold', %s, true)",
            [seqscan, threshold],
        )
    if rows:
        return rows
    stems = RawSQL(
        "to_tsvector('french'::regconfig, search_text) @@ plainto_tsquery('french'::regconfig, %s)",
        [folded],
        output_field=BooleanField(),
    )
    return list(_with_addresses(base.filter(stems).order_by("pk"))[: limit + 1])


def viewer_search(*, user: User, query: str, limit: int = VIEWER_SEARCH_LIMIT) -> ViewerSearch:
    """Find viewers by name, email, phone, postcode or ticket reference, accent-insensitive.

    Never an OFFSET or a count over the table: at most `limit` rows (more means "refine");
    merged viewers are left out (their survivor is found instead). A reference finds only a
    ticket the user may see.
    """
    from .services.viewers import fold, normalise_email, normalise_phone

    query = " ".join((query or "").split())[:200]
    if not query or not permissions.can(user, "search_viewers"):
        return ViewerSearch(query=query, kind="", viewers=[])
    kind = _search_kind(query)
    fuzzy = False
    ticket = None
    if kind == "reference":
        year, number = _REFERENCE_RE.match(query).groups()
        reference = f"FTV-{year}-{int(number):06d}"
        ticket = (
            Ticket.objects.filter(ticket_scope_q(user), reference=reference)
            .select_related("viewer__merged_into")
            .first()
        )
        viewer = ticket.viewer if ticket else None
        while viewer is not None and viewer.merged_into_id:
            viewer = viewer.merged_into
        ids = [viewer.pk] if viewer else []
        rows = list(_with_addresses(Viewer.objects.filter(pk__in=ids)))
    elif kind == "email":
        address = normalise_email(query)
        ids = ViewerEmail.objects.filter(email=address).values("viewer_id")
        rows = list(
            _with_addresses(
                Viewer.objects.filter(pk__in=ids, merged_into__isnull=True).order_by("pk")
            )[: limit + 1]
        )
        if not rows:
            rows, fuzzy = _name_search([fold(query)], fold(query), limit)
    elif kind == "phone":
        number = normalise_phone(query)
        ids = ViewerPhone.objects.filter(number=number or "").values("viewer_id")
        rows = list(
            _with_addresses(
                Viewer.objects.filter(pk__in=ids, merged_into__isnull=True).order_by("pk")
            )[: limit + 1]
        )
    elif kind == "postcode":
        rows = list(
            _with_addresses(
                Viewer.objects.filter(postcode=query.upper(), merged_into__isnull=True).order_by(
                    "last_name", "first_name", "pk"
                )
            )[: limit + 1]
        )
    else:
        folded = fold(query)
        rows, fuzzy = _name_search(folded.split(), folded, limit)
    return ViewerSearch(
        query=query,
        kind=kind,
        viewers=rows[:limit],
        ticket=ticket,
        truncated=len(rows) > limit,
        fuzzy=fuzzy,
    )


@dataclass
class ViewerHistory:
    card: ViewerCard
    contacts: list[Contact]  # latest contacts across channels, on tickets the user may see
    next_cursor: str | None
    merges: list  # audit events of merges into this viewer (undoable ones flagged)
    merged_viewers: list[Viewer]
    duplicates: list[ViewerDuplicate]
    undone: set = field(default_factory=set)


def _ticket_cursor(ticket: Ticket) -> str:
    return f"{ticket.created_at.isoformat()}_{ticket.pk}"


def viewer_history(
    *, user: User, viewer: Viewer, before: str | None = None, limit: int = 25
) -> ViewerHistory:
    """The viewer page: the card, a keyset page of their tickets (newest first, `before` the
    cursor of the last one shown), their latest contacts on every channel, merges and
    possible duplicates. A fixed number of queries."""
    from django.utils.dateparse import parse_datetime

    from accounts.models import AuditEvent

    from .services.viewers import MERGE_ACTION, MERGE_UNDO_ACTION

    card = viewer_card(user=user, viewer=viewer, limit=0)
    tickets_qs = Ticket.objects.filter(ticket_scope_q(user), viewer=viewer).select_related(
        "brand", "assignee"
    )
    if before:
        at_text, _sep, pk_text = before.rpartition("_")
        at = parse_datetime(at_text) if at_text else None
        if at is not None and pk_text.isdigit():
            tickets_qs = tickets_qs.filter(
                Q(created_at__lt=at) | Q(created_at=at, pk__lt=int(pk_text))
            )
    page = list(tickets_qs.order_by("-created_at", "-id")[: limit + 1])
    card.tickets = page[:limit]
    card.more_tickets = len(page) > limit
    contacts = list(
        Contact.objects.filter(viewer=viewer)
        .filter(ticket__in=Ticket.objects.filter(ticket_scope_q(user)))
        .select_related("ticket", "author")
        .order_by("-occurred_at", "-id")[:30]
    )
    events = list(
        AuditEvent.objects.filter(
            object_type="contacts.viewer",
            object_id=str(viewer.pk),
            action__in=[MERGE_ACTION, MERGE_UNDO_ACTION],
        )
        .select_related("actor")
        .order_by("-at", "-id")[:50]
    )
    undone = {e.data.get("undoes") for e in events if e.action == MERGE_UNDO_ACTION}
    duplicates = list(
        ViewerDuplicate.objects.filter(
            Q(viewer=viewer) | Q(other=viewer), state=ViewerDuplicate.State.OPEN
        ).select_related("viewer", "other")[:20]
    )
    return ViewerHistory(
        card=card,
        contacts=contacts,
        next_cursor=_ticket_cursor(page[limit - 1]) if len(page) > limit else None,
        merges=events,
        merged_viewers=list(Viewer.objects.filter(merged_into=viewer).order_by("pk")[:50]),
        duplicates=duplicates,
        undone=undone,
    )
