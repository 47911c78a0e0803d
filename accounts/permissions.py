"""The policy: may this user do this action on that object?

Every view, API endpoint and admin page asks here, through `can()` or `require()`; selectors
use `ticket_levels()` and `brand_scope()` to build the same rules into their queries. The module
knows the other apps' objects only by their model label and a few attributes (level,
brand_id), so it imports none of them.

Who sees what (DESIGN.md, "Users"):
- agents (external call centre) see and work level-1 tickets of their brands, and only level-1
  internal notes; never level-2 notes, mediation files, exports or dashboards;
- SRT staff work levels 1 and 2 of their brands and may follow a ticket they escalated to 3;
- mediators see every brand and every level and work level 3; only they read confidential
  mediation notes (nobody else, administrators included);
- managers see and may work every ticket of their brands, run dashboards, exports and the
  configuration, and read the audit log;
- the mailroom registers letters and prints reply letters, and reads viewers' cards only.

Tickets with no known brand (a message that names none) are visible to everyone who sees that
level: the brand scope keeps staff out of *other brands'* data, and such a ticket has none yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied

from .models import Role

# Actions that concern the whole product rather than one object.
GLOBAL_ACTIONS: dict[str, frozenset[str]] = {
    "view_queue": frozenset({Role.AGENT, Role.SRT, Role.MEDIATOR, Role.MANAGER, Role.ADMIN}),
    "log_call": frozenset({Role.AGENT, Role.SRT, Role.MANAGER, Role.ADMIN}),
    "register_letters": frozenset({Role.MAILROOM, Role.SRT, Role.MANAGER, Role.ADMIN}),
    "print_letters": frozenset({Role.MAILROOM, Role.MANAGER, Role.ADMIN}),
    "search_viewers": frozenset(
        {Role.AGENT, Role.MAILROOM, Role.SRT, Role.MEDIATOR, Role.MANAGER, Role.ADMIN}
    ),
    "manage_templates": frozenset({Role.SRT, Role.MANAGER, Role.ADMIN}),
    "manage_rules": frozenset({Role.MANAGER, Role.ADMIN}),
    "manage_teams": frozenset({Role.MANAGER, Role.ADMIN}),
    "manage_users": frozenset({Role.MANAGER, Role.ADMIN}),
    "manage_reference_data": frozenset({Role.MANAGER, Role.ADMIN}),
    "manage_sla": frozenset({Role.MANAGER, Role.ADMIN}),
    "manage_marketing": frozenset({Role.MANAGER, Role.ADMIN}),
    "view_dashboards": frozenset({Role.MANAGER, Role.ADMIN}),
    "view_cost": frozenset({Role.MANAGER, Role.ADMIN}),
    "export": frozenset({Role.MANAGER, Role.ADMIN}),
    "view_quarantine": frozenset({Role.MANAGER, Role.ADMIN}),
    "manage_quarantine": frozenset({Role.MANAGER, Role.ADMIN}),
    "view_audit": frozenset({Role.MANAGER, Role.ADMIN}),
    "manage_outbox": frozenset({Role.MANAGER, Role.ADMIN}),
    "use_admin": frozenset({Role.MANAGER, Role.ADMIN}),
    "mediation_desk": frozenset({Role.MEDIATOR}),
    # Managers' window on mediation: cases (read-only), opinions to review, yearly figures.
    "mediation_overview": frozenset({Role.MANAGER}),
    "mediation_figures": frozenset({Role.MEDIATOR, Role.MANAGER}),
}

# Ticket levels each role may read, and may work on (reply, change status, take, add notes).
_TICKET_READ: dict[str, frozenset[int]] = {
    Role.AGENT: frozenset({1}),
    Role.MAILROOM: frozenset(),
    Role.SRT: frozenset({1, 2, 3}),
    Role.MEDIATOR: frozenset({1, 2, 3}),
    Role.MANAGER: frozenset({1, 2, 3}),
    Role.ADMIN: frozenset({1, 2, 3}),
}
_TICKET_WORK: dict[str, frozenset[int]] = {
    Role.AGENT: frozenset({1}),
    Role.MAILROOM: frozenset(),
    Role.SRT: frozenset({1, 2}),
    Role.MEDIATOR: frozenset({3}),
    Role.MANAGER: frozenset({1, 2, 3}),
    Role.ADMIN: frozenset({1, 2, 3}),
}
# The highest level of internal note each role may read.
_NOTE_READ_MAX_LEVEL: dict[str, int] = {
    Role.AGENT: 1,
    Role.MAILROOM: 0,
    Role.SRT: 2,
    Role.MEDIATOR: 3,
    Role.MANAGER: 3,
    Role.ADMIN: 3,
}
# The level a role acts at, e.g. the level stamped on the internal notes it writes.
ROLE_LEVEL: dict[str, int] = {
    Role.AGENT: 1,
    Role.MAILROOM: 1,
    Role.SRT: 2,
    Role.MEDIATOR: 3,
    Role.MANAGER: 2,
    Role.ADMIN: 2,
}

TICKET_ACTIONS = frozenset(
    {"view", "work", "escalate", "send_back", "reroute", "merge", "assign", "close"}
)


def role_of(user: Any) -> str | None:
    """The user's role, or None for an anonymous or inactive user."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    return user.role


def brand_scope(user: Any) -> frozenset[int] | None:
    """Ids of the brands the user may see (national brands include their regional stations).

    None means every brand. Cached on the user object for the request.
    """
    role = role_of(user)
    if role is None:
        return frozenset()
    if role == Role.ADMIN or user.all_brands or role == Role.MEDIATOR:
        return None
    cached = getattr(user, "_brand_scope_cache", None)
    if cached is not None:
        return cached
    from django.apps import apps  # the brand model lives in `contacts`; looked up lazily

    brand_model = apps.get_model("contacts", "Brand")
    direct = list(user.brands.values_list("id", flat=True))
    children = brand_model.objects.filter(parent_id__in=direct).values_list("id", flat=True)
    scope = frozenset(direct) | frozenset(children)
    user._brand_scope_cache = scope
    return scope


def ticket_levels(user: Any, *, work: bool = False) -> frozenset[int]:
    role = role_of(user)
    if role is None:
        return frozenset()
    return (_TICKET_WORK if work else _TICKET_READ)[role]


def note_max_level(user: Any) -> int:
    role = role_of(user)
    return 0 if role is None else _NOTE_READ_MAX_LEVEL[role]


def _in_brand_scope(user: Any, brand_id: int | None) -> bool:
    if brand_id is None:
        return True
    scope = brand_scope(user)
    return scope is None or brand_id in scope


def _ticket(user: Any, role: str, action: str, ticket: Any) -> bool:
    if action not in TICKET_ACTIONS:
        raise ValueError(f"unknown ticket action {action!r}")
    if not _in_brand_scope(user, ticket.brand_id):
        return False
    if action == "view":
        return ticket.level in _TICKET_READ[role]
    if ticket.level not in _TICKET_WORK[role]:
        return False
    if action == "work":
        return True
    if action == "escalate":
        # Up one level: level 1 to 2 (agents, SRT), level 2 to 3 (SRT), never above 3.
        return ticket.level < 3 and role != Role.MAILROOM
    if action == "send_back":
        # Down one level: SRT to the call centre, mediators to the SRT.
        return ticket.level > 1 and role in {Role.SRT, Role.MEDIATOR, Role.MANAGER, Role.ADMIN}
    if action in {"reroute", "merge", "assign", "close"}:
        return role in {Role.SRT, Role.MEDIATOR, Role.MANAGER, Role.ADMIN}
    return False


def _note(user: Any, role: str, action: str, note: Any) -> bool:
    ticket = note.ticket
    if action == "view":
        return note.level <= _NOTE_READ_MAX_LEVEL[role] and _ticket(user, role, "view", ticket)
    if action == "add":
        return _ticket(user, role, "work", ticket)
    return False


def _viewer(role: str, action: str) -> bool:
    if action == "view":
        return role in GLOBAL_ACTIONS["search_viewers"]
    if action == "change":
        return role in {Role.AGENT, Role.MAILROOM, Role.SRT, Role.MANAGER, Role.ADMIN}
    if action == "merge":
        return role in {Role.SRT, Role.MANAGER, Role.ADMIN}
    return False


def _mediation_case(role: str, action: str) -> bool:
    if action == "view":
        return role in {Role.MEDIATOR, Role.MANAGER}
    if action in {"change", "add"}:
        return role == Role.MEDIATOR
    return False


def _mediation_note(role: str, action: str) -> bool:
    # Confidential notes are for the mediators and nobody else, administrators included.
    return role == Role.MEDIATOR and action in {"view", "add", "change"}


def _mediation_opinion(user: Any, role: str, action: str, opinion: Any) -> bool:
    # Drafted and published by mediators; reviewed by the other mediator or a manager, never
    # by its author. Anonymous readers see published opinions through the public pages.
    if action == "view":
        return role in {Role.MEDIATOR, Role.MANAGER}
    if action in {"change", "publish", "reply"}:
        return role == Role.MEDIATOR
    if action == "review":
        return role in {Role.MEDIATOR, Role.MANAGER} and opinion.author_id != user.pk
    return False


def can(user: Any, action: str, obj: Any = None) -> bool:
    """May `user` do `action` on `obj` (or, without an object, in the product at large)?"""
    role = role_of(user)
    if role is None:
        return False
    if obj is None:
        allowed = GLOBAL_ACTIONS.get(action)
        if allowed is None:
            raise ValueError(f"unknown global action {action!r}")
        return role in allowed
    label = obj._meta.label_lower
    if label == "contacts.ticket":
        return _ticket(user, role, action, obj)
    if label == "contacts.contact":
        return action == "view" and _ticket(user, role, "view", obj.ticket)
    if label == "contacts.internalnote":
        return _note(user, role, action, obj)
    if label == "contacts.viewer":
        return _viewer(role, action)
    if label == "mediation.case":
        return _mediation_case(role, action)
    if label in {"mediation.confidentialnote", "mediation.note"}:
        return _mediation_note(role, action)
    if label == "mediation.opinion":
        return _mediation_opinion(user, role, action, obj)
    if label == "mediation.opinioncomment":
        return action == "moderate" and role == Role.MEDIATOR
    raise ValueError(f"no policy for objects of type {label}")


def require(user: Any, action: str, obj: Any = None) -> None:
    """`can()` or PermissionDenied (403). For objects a user must not even know of, selectors
    raise Http404 instead (see `contacts.selectors.ticket_get_for_user`)."""
    if not can(user, action, obj):
        raise PermissionDenied


def roles_allowed(action: str) -> Iterable[str]:
    return GLOBAL_ACTIONS[action]
