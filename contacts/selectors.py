"""Reads of tickets, contacts and viewers, each scoped to what the user may see."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts import permissions
from accounts.models import User

from .models import Contact, InternalNote, Ticket


def ticket_scope_q(user: User, *, work: bool = False) -> Q:
    """The tickets `user` may see (or work on), as a query condition.

    Mirrors `accounts.permissions` for tickets: levels by role, brands by scope; tickets with
    no known brand are visible at the user's levels.
    """
    levels = permissions.ticket_levels(user, work=work)
    if not levels:
        return Q(pk__in=[])
    q = Q(level__in=sorted(levels))
    scope = permissions.brand_scope(user)
    if scope is not None:
        q &= Q(brand_id__in=sorted(scope)) | Q(brand_id__isnull=True)
    return q


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
        .select_related("author", "call")
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
