"""Reads the intake screens need: the call desk's viewer search and screen pop, the
mailroom's letters, the quarantine. Each owns its query (select_related, bounded results)."""

from __future__ import annotations

import time

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from accounts import permissions
from accounts.models import User

from .models import (
    OPEN_STATUSES,
    Brand,
    LetterScan,
    QuarantineItem,
    Ticket,
    Viewer,
)
from .selectors import open_tickets_tracked
from .services.viewers import fold, normalise_email, normalise_phone


def _open_tickets(user: User | None) -> Prefetch:
    """Each viewer's open tickets as `open_tickets`: for a user, those whose standing they may
    know at every level, flagged `readable` (`open_tickets_tracked`), in one query."""
    if user is None:
        tickets = Ticket.objects.filter(status__in=OPEN_STATUSES).select_related("brand")
        tickets = tickets.order_by("-created_at")
    else:
        tickets = open_tickets_tracked(user=user)
    return Prefetch("tickets", queryset=tickets, to_attr="open_tickets")


def viewers_for_phone(*, number: str, limit: int = 5) -> list[Viewer]:
    """Viewers with this phone number (the telephony screen pop), with their open tickets."""
    e164 = normalise_phone(number)
    if not e164:
        return []
    return list(
        Viewer.objects.filter(phones__number=e164, merged_into__isnull=True)
        .distinct()
        .prefetch_related(_open_tickets(None))
        .order_by("-updated_at")[:limit]
    )


def viewer_search_for_desk(*, user: User, query: str, limit: int = 20) -> list[Viewer]:
    """Viewers matching a phone number, an email, or words of a name and a postcode."""
    query = (query or "").strip()
    if len(query) < 2:
        return []
    base = Viewer.objects.filter(merged_into__isnull=True)
    # Eight digits or more is a phone number; a postcode has five and is searched as a word.
    phone = normalise_phone(query) if sum(c.isdigit() for c in query) >= 8 else None
    if "@" in query:
        qs = base.filter(emails__email=normalise_email(query))
    elif phone:
        qs = base.filter(phones__number=phone)
    else:
        qs = base
        for word in fold(query).split()[:5]:
            qs = qs.filter(search_text__contains=word)
    return list(
        qs.distinct()
        .prefetch_related("emails", "phones", _open_tickets(user))
        .order_by("last_name", "first_name", "id")[:limit]
    )


def viewer_for_desk(*, user: User, pk: int) -> Viewer:
    if not permissions.can(user, "search_viewers"):
        raise Http404
    try:
        return (
            Viewer.objects.prefetch_related("emails", "phones", _open_tickets(user))
            .filter(merged_into__isnull=True)
            .get(pk=pk)
        )
    except (Viewer.DoesNotExist, ValueError):
        raise Http404 from None


def letter_scans_to_register(*, user: User) -> QuerySet[LetterScan]:
    scope = permissions.brand_scope(user)
    qs = LetterScan.objects.exclude(state=LetterScan.State.REGISTERED).select_related(
        "batch", "batch__brand", "batch__uploaded_by"
    )
    if scope is not None:
        qs = qs.filter(Q(batch__brand_id__in=sorted(scope)) | Q(batch__brand__isnull=True))
    return qs.order_by("batch__uploaded_at", "id")


def letter_scan_get_for_user(*, user: User, pk: int) -> LetterScan:
    """The scan, or 404 outside the user's right to register letters or brand scope."""
    if not permissions.can(user, "register_letters"):
        raise Http404
    try:
        scan = LetterScan.objects.select_related("batch", "batch__brand", "contact").get(pk=pk)
    except (LetterScan.DoesNotExist, ValueError):
        raise Http404 from None
    scope = permissions.brand_scope(user)
    if scope is not None and scan.batch.brand_id is not None and scan.batch.brand_id not in scope:
        raise Http404
    return scan


def _quarantine_scope_q(user: User) -> Q:
    """Inputs of the user's brands, and those whose brand is unknown (most of them)."""
    scope = permissions.brand_scope(user)
    if scope is None:
        return Q()
    return Q(brand_id__in=sorted(scope)) | Q(brand__isnull=True)


def quarantine_list(*, user: User, state: str) -> QuerySet[QuarantineItem]:
    return (
        QuarantineItem.objects.filter(_quarantine_scope_q(user), state=state)
        .select_related("brand", "resolved_by", "contact__ticket")
        .order_by("-received_at", "-id")
    )


def quarantine_get_for_user(*, user: User, pk: int) -> QuarantineItem:
    """The item, or 404 outside the right to view the quarantine or the user's brands."""
    if not permissions.can(user, "view_quarantine"):
        raise Http404
    try:
        return QuarantineItem.objects.select_related("brand", "resolved_by", "contact").get(
            _quarantine_scope_q(user), pk=pk
        )
    except (QuarantineItem.DoesNotExist, ValueError):
        raise Http404 from None


_BRANDS: dict[str, tuple[float, Brand | None]] = {}


def brand_active_by_code(code: str) -> Brand | None:
    """An active brand by code, cached a minute per process (reference data read on every
    API call and web form post)."""
    hit = _BRANDS.get(code)
    now = time.monotonic()
    if hit is not None and now - hit[0] < 60:
        return hit[1]
    brand = Brand.objects.filter(code=code, is_active=True).select_related("parent").first()
    _BRANDS[code] = (now, brand)
    return brand
