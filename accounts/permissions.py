"""The policy: may this user do this action on that object?

Every view, API endpoint and admin page asks here, through `can()` or `require()`; selectors
use `ticket_levels()` and `brand_scope()` to build the same rules into their queries. The module
knows the other apps' objects only by their model label and a few attributes (level,
brand_id), so it imports none of them.

Who sees what (DESIGN.md, "Users"):
- agents (external call centre) see and work level-1 tickets of their brands, and only level-1
  internal notes; never level-2 notes, mediation files, exports or dashboards;
- SRT staff work levels 1 and 2 of their brands; of level 3 they read only the tickets the
  SRT moved there (escalated or re-routed by an SRT officer of the brand: they had them at
  level 2 and must answer the viewer's "where is my request?"). A request that reached the
  mediators directly is the mediators' alone: their independence means the channel's own
  service does not read it. Of any ticket of their brands, whatever its level, SRT staff and
  the call centre may still *track* the standing (reference, level, state, due date; no
  content) through the narrower "track" action;
- mediators see every brand and every level and work level 3; only they read confidential
  mediation notes (nobody else, administrators included);
- managers see and may work every ticket of their brands, run dashboards, exports and the
  configuration, read their brands' mediation case files (never the confidential notes) and,
  when they manage every brand, the audit log (it spans all brands);
- the mailroom registers letters and prints reply letters, and reads viewers' cards only.

Tickets with no known brand (a message that names none) are visible to everyone who sees that
level: the brand scope keeps staff out of *other brands'* data, and such a ticket has none yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q

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
    # Accounts, roles and brand scopes: administrators only (a manager who could create users
    # could make a mediator and read the confidential notes).
    "manage_users": frozenset({Role.ADMIN}),
    # The four-eyes page: mediators approve new mediators, administrators new administrators.
    "review_role_grants": frozenset({Role.MEDIATOR, Role.ADMIN}),
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

# Actions whose pages span every brand and cannot be narrowed to some (the audit log names
# objects of every brand): for staff of every brand only.
_GROUP_WIDE_ACTIONS = frozenset({"view_audit"})

# Ticket levels each role may read, and may work on (reply, change status, take, add notes).
_TICKET_READ: dict[str, frozenset[int]] = {
    Role.AGENT: frozenset({1}),
    Role.MAILROOM: frozenset(),
    # Plus the level-3 tickets the SRT escalated: see `follows_srt_escalations`.
    Role.SRT: frozenset({1, 2}),
    Role.MEDIATOR: frozenset({1, 2, 3}),
    Role.MANAGER: frozenset({1, 2, 3}),
    Role.ADMIN: frozenset({1, 2, 3}),
}
# Roles that read the level-3 tickets an SRT officer moved to level 3 (escalated, re-routed).
_FOLLOW_SRT_ESCALATIONS = frozenset({Role.SRT})
# Roles that may know a ticket of their brands exists and where it stands (reference, level,
# state, due date), at any level, without reading it: to tell a viewer on the phone.
_TICKET_TRACK = frozenset({Role.AGENT, Role.SRT, Role.MEDIATOR, Role.MANAGER, Role.ADMIN})
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

# Roles that sign in with a second factor (accounts.middleware.SecondFactorMiddleware).
SECOND_FACTOR_ROLES = frozenset({Role.MEDIATOR, Role.MANAGER, Role.ADMIN})
# Roles whose grant needs a second person's approval, and the role that person must hold.
ROLE_GRANT_APPROVER: dict[str, str] = {Role.MEDIATOR: Role.MEDIATOR, Role.ADMIN: Role.ADMIN}

TICKET_ACTIONS = frozenset(
    {"track", "view", "work", "escalate", "send_back", "reroute", "merge", "assign", "close"}
)

# The ticket events that mark a ticket as moved to level 3 by an SRT officer, as lookups on
# `TicketEvent` (escalation writes to_value "3"; a re-route "3/<team>/<topic>").
SRT_ESCALATION_EVENT_LOOKUPS: tuple[dict[str, str], ...] = (
    {"kind": "escalated", "to_value": "3", "actor__role": Role.SRT},
    {"kind": "rerouted", "to_value__startswith": "3/", "actor__role": Role.SRT},
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
    """The levels whose every ticket (of the user's brands) the user may read, or work."""
    role = role_of(user)
    if role is None:
        return frozenset()
    return (_TICKET_WORK if work else _TICKET_READ)[role]


def follows_srt_escalations(user: Any) -> bool:
    """Does the user also read the level-3 tickets of their brands that an SRT officer moved
    to level 3 (`SRT_ESCALATION_EVENT_LOOKUPS`)? Selectors add them to `ticket_levels`."""
    return role_of(user) in _FOLLOW_SRT_ESCALATIONS


def tracks_tickets(user: Any) -> bool:
    """May the user know that the tickets of their brands exist, at every level, and where they
    stand (the "track" action)? Selectors add the brand scope to build it into a query."""
    return role_of(user) in _TICKET_TRACK


def _escalated_by_srt(ticket: Any) -> bool:
    if ticket.pk is None:
        return False
    return ticket.events.filter(srt_escalation_q()).exists()


def srt_escalation_q() -> Q:
    """`SRT_ESCALATION_EVENT_LOOKUPS` as one condition on ticket events."""
    q = Q(pk__in=[])
    for lookups in SRT_ESCALATION_EVENT_LOOKUPS:
        q |= Q(**lookups)
    return q


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
    if action == "track":
        return role in _TICKET_TRACK
    if action == "view":
        if ticket.level in _TICKET_READ[role]:
            return True
        return ticket.level == 3 and role in _FOLLOW_SRT_ESCALATIONS and _escalated_by_srt(ticket)
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


def _mediation_case(user: Any, role: str, action: str, case: Any) -> bool:
    if action == "view":
        # Mediators are group-wide; a manager reads the case files of their brands.
        if role == Role.MANAGER:
            return _in_brand_scope(user, case.brand_id)
        return role == Role.MEDIATOR
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


def second_factor_required(user: Any) -> bool:
    return role_of(user) in SECOND_FACTOR_ROLES


def roles_grantable_by(user: Any) -> frozenset[str]:
    """Roles `user` may give (some only through an approved request, see ROLE_GRANT_APPROVER).

    Nobody grants more than they hold: only administrators manage accounts, and an
    administrator holds every power of the other roles but the mediators' confidential notes,
    which the mediator role opens only after a serving mediator's approval."""
    return frozenset(Role.values) if can(user, "manage_users") else frozenset()


def brands_grantable_by(user: Any, *, brand_ids: Iterable[int], all_brands: bool) -> bool:
    """Is this brand scope within `user`'s own?"""
    scope = brand_scope(user)
    if scope is None:
        return True
    return not all_brands and set(brand_ids) <= scope


def _role_grant(user: Any, role: str, action: str, grant: Any) -> bool:
    # Four eyes: neither the person who asked nor the person concerned decides.
    if action == "view":
        return role == Role.ADMIN or (role == Role.MEDIATOR and grant.role == Role.MEDIATOR)
    if action == "decide":
        return (
            grant.status == "pending"
            and ROLE_GRANT_APPROVER.get(grant.role) == role
            and user.pk not in {grant.requested_by_id, grant.user_id}
        )
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
        if action in _GROUP_WIDE_ACTIONS and brand_scope(user) is not None:
            return False
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
        return _mediation_case(user, role, action, obj)
    if label in {"mediation.confidentialnote", "mediation.note"}:
        return _mediation_note(role, action)
    if label == "mediation.opinion":
        return _mediation_opinion(user, role, action, obj)
    if label == "accounts.rolegrantrequest":
        return _role_grant(user, role, action, obj)
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
