"""Writes of the accounts app: the audit log and users' roles."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from .models import AuditEvent, User


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    data: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append one line to the audit log: who did (or read) what, on which object.

    Pass either a model instance `obj`, or `object_type` and `object_id`. The log is
    append-only: nothing here or elsewhere updates or deletes a line.
    """
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = obj.pk
        object_repr = str(obj)[:255]
    else:
        object_repr = ""
    actor_obj = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent.objects.create(
        actor=actor_obj,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=object_repr,
        data=data or {},
        ip_address=_client_ip(request),
    )


def user_set_role(*, user: User, role: str, by: User | None) -> User:
    """Change a user's role; administrators get the Django admin's staff flag."""
    old = user.role
    user.role = role
    user.is_staff = role in {"manager", "admin"}
    user.save(update_fields=["role", "is_staff"])
    audit_record(actor=by, action="user.role", obj=user, data={"from": old, "to": role})
    return user
