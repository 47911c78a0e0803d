"""What the triage knows about a ticket: ``rules.Facts`` built from the database.

Built in batches (the triage of one ticket and the dry run of a thousand use the same code) in
a fixed number of queries: first inbound contacts, their attachments, and the viewers' recent
history (tickets, then the contacts of those tickets). History counts what was known *when the
ticket arrived*, so a dry run on old tickets sees what the triage saw then.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef

from contacts.models import OPEN_STATUSES, Attachment, Contact, Direction, Genre, Ticket

from .. import rules

# Replies and forwards keep the subject behind a prefix ("RE: TR: Fwd:").
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fwd?|tr|ref|aw|wg)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
BODY_MAX_CHARS = 20000  # a forwarded thread of 200 KB says nothing more to the triage


def subject_key(subject: str) -> str:
    """The comparable form of a subject: prefixes removed, folded, spaces collapsed."""
    folded = rules.fold(_SUBJECT_PREFIX.sub("", subject or ""))
    return _SPACES.sub(" ", folded).strip(" .!?")


def _first_inbound(ticket_ids: Sequence[int]) -> dict[int, Contact]:
    """The first inbound contact of each ticket, with ``has_files`` (non-inline attachments)."""
    first: dict[int, Contact] = {}
    contacts = (
        Contact.objects.filter(ticket_id__in=ticket_ids, direction=Direction.INBOUND)
        .only("id", "ticket_id", "subject", "body_text", "sender_address", "occurred_at")
        .annotate(
            has_files=Exists(Attachment.objects.filter(contact_id=OuterRef("pk"), is_inline=False))
        )
        .order_by("ticket_id", "occurred_at", "id")
    )
    for contact in contacts:
        first.setdefault(contact.ticket_id, contact)
    return first


def facts_for_tickets(tickets: Sequence[Ticket]) -> dict[int, rules.Facts]:
    """Facts for each ticket (loaded with ``brand``, ``programme`` and ``viewer``), by id.

    At most three queries whatever the number of tickets: first contacts, the viewers'
    recent tickets, and the contacts of those (skipped when a viewer has no other ticket).
    """
    if not tickets:
        return {}
    ids = [t.pk for t in tickets]
    first = _first_inbound(ids)

    window = timedelta(days=settings.TRIAGE_HISTORY_DAYS)
    repeat_window = timedelta(days=settings.TRIAGE_REPEAT_DAYS)
    viewer_ids = {t.viewer_id for t in tickets if t.viewer_id}
    history: dict[int, list[tuple]] = defaultdict(list)
    events: dict[int, list[tuple]] = defaultdict(list)
    if viewer_ids:
        since = min(t.created_at for t in tickets) - window
        rows = Ticket.objects.filter(viewer_id__in=viewer_ids, created_at__gte=since).values_list(
            "id", "viewer_id", "created_at", "resolved_at", "status", "subject"
        )
        subjects: dict[int, str] = {}
        for pk, viewer_id, created_at, resolved_at, status, subject in rows:
            history[viewer_id].append((pk, created_at, resolved_at, status))
            subjects[pk] = subject_key(subject)
        history_ids = [pk for rows_ in history.values() for pk, *_ in rows_ if pk not in ids]
        if history_ids:
            for ticket_id, direction, occurred_at, subject in Contact.objects.filter(
                ticket_id__in=history_ids, occurred_at__gte=since
            ).values_list("ticket_id", "direction", "occurred_at", "subject"):
                key = subjects.get(ticket_id) or subject_key(subject)
                events[ticket_id].append((direction, occurred_at, key))

    out: dict[int, rules.Facts] = {}
    for ticket in tickets:
        contact = first.get(ticket.pk)
        open_tickets = earlier_answers = repeats = 0
        if ticket.viewer_id:
            at = ticket.created_at
            own_key = subject_key(ticket.subject or (contact.subject if contact else ""))
            for pk, created_at, resolved_at, status in history[ticket.viewer_id]:
                if pk == ticket.pk or created_at > at or created_at < at - window:
                    continue
                still_open = (resolved_at is None and status in OPEN_STATUSES) or (
                    resolved_at is not None and resolved_at > at
                )
                open_tickets += still_open
                for direction, occurred_at, key in events[pk]:
                    if occurred_at >= at:
                        continue
                    if direction == Direction.OUTBOUND:
                        earlier_answers += 1
                    elif own_key and key == own_key and occurred_at >= at - repeat_window:
                        repeats += 1
        viewer = ticket.viewer
        programme = ticket.programme
        out[ticket.pk] = rules.Facts(
            channel=ticket.channel,
            brand=ticket.brand.code if ticket.brand_id else "unknown",
            subject=ticket.subject or (contact.subject if contact else ""),
            body=(contact.body_text if contact else "")[:BODY_MAX_CHARS],
            programme=programme.name if programme else None,
            programme_is_news=bool(programme and programme.genre == Genre.NEWS),
            sender_email=(contact.sender_address if contact else "") or "",
            sender_name=_sender_name(viewer),
            sender_kind=viewer.sender_kind if viewer else "",
            open_tickets=open_tickets,
            earlier_answers=earlier_answers,
            repeat_contacts_same_subject=repeats,
            has_attachments=bool(contact and contact.has_files),
        )
    return out


def _sender_name(viewer) -> str:
    if viewer is None:
        return ""
    parts = [viewer.first_name, viewer.last_name, viewer.organisation]
    return " ".join(p for p in parts if p)
