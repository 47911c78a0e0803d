"""Reads of the outbox: the managers' page, and the delivery state of what caused messages."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Count, QuerySet

from accounts import permissions
from accounts.models import User

from .models import MessageKind, MessageState, OutboxMessage

# The managers' page lists this many messages at most (newest first).
PAGE_LIMIT = 200
# "Needs attention": what the page shows when no state is chosen.
ATTENTION_STATES = (MessageState.DEFERRED, MessageState.FAILED, MessageState.BOUNCED)


def outbox_messages_for_user(*, user: User) -> QuerySet[OutboxMessage]:
    """The messages `user` may see and retry: those about a ticket of their brands, and those
    about no ticket (requests for comment, alerts). PermissionDenied for anyone else."""
    permissions.require(user, "manage_outbox")
    scope = permissions.brand_scope(user)
    qs = OutboxMessage.objects.all()
    if scope is not None:
        qs = qs.filter(models.Q(ticket__isnull=True) | models.Q(ticket__brand_id__in=scope))
    return qs


def outbox_list(*, user: User, state: str = "", kind: str = "") -> QuerySet[OutboxMessage]:
    """Messages for the managers' page: by state ('' = needing attention, 'all' = every
    state) and kind, newest first. PermissionDenied for anyone else."""
    qs = outbox_messages_for_user(user=user).select_related("ticket")
    if state in MessageState.values:
        qs = qs.filter(state=state)
    elif state != "all":
        qs = qs.filter(state__in=ATTENTION_STATES)
    if kind in MessageKind.values:
        qs = qs.filter(kind=kind)
    return qs.order_by("-created_at", "-id")


def outbox_counts(*, user: User) -> dict[str, int]:
    """How many messages are in each state (the page's filter bar)."""
    rows = (
        outbox_messages_for_user(user=user)
        .values("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    return {state: 0 for state in MessageState.values} | dict(rows)


def messages_for(*, cause: models.Model) -> list[OutboxMessage]:
    """The messages sent about one object (a survey, a request for comment), oldest first."""
    return list(
        OutboxMessage.objects.filter(
            cause_type=ContentType.objects.get_for_model(cause), cause_id=cause.pk
        ).order_by("created_at", "id")
    )


def messages_by_cause(*, model: type[models.Model], ids: list[int]) -> dict[int, list]:
    """{object id: its messages, oldest first} for a list of objects of one model (one query)."""
    if not ids:
        return {}
    result: dict[int, list] = {pk: [] for pk in ids}
    for message in OutboxMessage.objects.filter(
        cause_type=ContentType.objects.get_for_model(model), cause_id__in=ids
    ).order_by("created_at", "id"):
        result.setdefault(message.cause_id, []).append(message)
    return result
