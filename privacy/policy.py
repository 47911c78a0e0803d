"""Who may exercise viewers' rights on their behalf, and run the data lifecycle.

Composed from `accounts.permissions` (roles and brand scope); kept here until the lead folds
these actions into `accounts.permissions.GLOBAL_ACTIONS`:

- `handle` (record an access, erasure or objection request, build and download the file):
  managers and administrators; SRT officers for viewers who wrote to one of their brands;
- `confirm_erasure`: managers and administrators, never the person who asked for it;
- `release_mediation_notes`: mediators (their confidential notes are their decision);
- `manage` (retention policy, legal holds, dry runs, the register, the DPO's lists and the
  audit export): managers and administrators.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from accounts import permissions
from accounts.models import Role

_MANAGERS = frozenset({Role.MANAGER, Role.ADMIN})


def _srt_sees(user: Any, viewer: Any) -> bool:
    from contacts.models import Ticket

    scope = permissions.brand_scope(user)
    if scope is None:
        return True
    tickets = Ticket.objects.filter(viewer=viewer)
    # A viewer whose requests name no brand yet is everyone's (as such tickets are).
    return (
        tickets.filter(brand_id__in=scope).exists()
        or not tickets.exclude(brand__isnull=True).exists()
    )


def can(user: Any, action: str, viewer: Any = None, privacy_request: Any = None) -> bool:
    role = permissions.role_of(user)
    if role is None:
        return False
    if action == "handle":
        if role in _MANAGERS:
            return True
        return role == Role.SRT and (viewer is None or _srt_sees(user, viewer))
    if action == "confirm_erasure":
        if role not in _MANAGERS:
            return False
        return privacy_request is None or privacy_request.requested_by_id != user.pk
    if action == "release_mediation_notes":
        return role == Role.MEDIATOR
    if action == "manage":
        return role in _MANAGERS
    raise ValueError(f"unknown privacy action {action!r}")


def require(user: Any, action: str, viewer: Any = None, privacy_request: Any = None) -> None:
    if not can(user, action, viewer, privacy_request):
        raise PermissionDenied
