"""Writes of the accounts app: the audit log, roles and scopes (four eyes for the mediator
and administrator roles), team memberships, password-reset links, sign-in unlocks, and the
one function that emails staff about their access (`account_email_send`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from . import permissions
from .models import AuditEvent, Role, RoleGrantRequest, TeamMembership, User

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address: the peer's, or behind the TLS load balancer (BEHIND_TLS_PROXY)
    the last hop of X-Forwarded-For, the one the balancer appended (a client cannot forge it).
    Also django-axes' AXES_CLIENT_IP_CALLABLE: sign-in failures are counted per this address."""
    if request is None:
        return None
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR") or None


_client_ip = client_ip


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


def account_email_send(*, to: Iterable[User], subject: str, body: str) -> None:
    """Email staff about their own access (role, scope, team, reset link, approvals).

    The one place that writes the accounts app's mail: one outbox message per address, in the
    caller's transaction (nothing is announced that was rolled back), delivered with retries;
    an SMTP server that is down or refuses never undoes nor breaks the action that caused it.
    """
    from outbox.models import MessageKind
    from outbox.services import message_enqueue

    addresses = sorted({u.email for u in to if u.email})
    for address in addresses:
        message_enqueue(
            kind=MessageKind.ACCOUNT,
            to=address,
            subject=subject,
            body_text=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            headers={"Auto-Submitted": "auto-generated"},
        )


def _role_label(role: str) -> str:
    return str(Role(role).label)


def _active_with_role(role: str, *, exclude: Iterable[int] = ()) -> list[User]:
    return list(
        User.objects.filter(role=role, is_active=True, is_superuser=False).exclude(pk__in=exclude)
    )


def user_access_errors(
    *, by: User, user: User | None, role: str, brand_ids: Iterable[int], all_brands: bool
) -> list[str]:
    """Why `by` may not give `user` this role and scope (empty: allowed). Pure reads."""
    errors = []
    if not permissions.can(by, "manage_users"):
        errors.append(_("Only administrators manage staff accounts."))
        return errors
    if role not in permissions.roles_grantable_by(by):
        errors.append(_("You cannot grant a role wider than your own."))
    if not permissions.brands_grantable_by(by, brand_ids=brand_ids, all_brands=all_brands):
        errors.append(_("You cannot grant a brand scope wider than your own."))
    if user is not None and user.pk == by.pk and role != user.role:
        errors.append(_("You cannot change your own role."))
    if (
        user is not None
        and role != user.role
        and role in permissions.ROLE_GRANT_APPROVER
        and RoleGrantRequest.objects.filter(
            user=user, status=RoleGrantRequest.Status.PENDING
        ).exists()
    ):
        errors.append(_("A request for this person already awaits approval."))
    return errors


def _apply_role(*, user: User, role: str) -> None:
    user.role = role
    # The Django admin's staff flag follows the role; the superuser flag is never set here.
    user.is_staff = role in {Role.MANAGER, Role.ADMIN}
    user.save(update_fields=["role", "is_staff"])


@transaction.atomic
def user_access_change(
    *,
    user: User,
    by: User,
    role: str,
    brand_ids: Iterable[int],
    all_brands: bool,
    is_active: bool | None = None,
    request: HttpRequest | None = None,
) -> RoleGrantRequest | None:
    """Change a user's role, brand scope and active flag, as administrator `by`.

    Refuses (PermissionDenied) what `user_access_errors` refuses. The mediator and
    administrator roles are not given here: a pending `RoleGrantRequest` is opened instead
    (returned) and the role stays as it was until a second person approves it. Each change is
    audited and announced by email to the user.
    """
    brand_ids = sorted(set(brand_ids))
    errors = user_access_errors(
        by=by, user=user, role=role, brand_ids=brand_ids, all_brands=all_brands
    )
    if errors:
        raise PermissionDenied(" ".join(errors))
    user = User.objects.select_for_update().get(pk=user.pk)
    grant = None
    changes = []
    if role != user.role:
        if role in permissions.ROLE_GRANT_APPROVER:
            grant = role_grant_request_create(user=user, role=role, by=by, request=request)
        else:
            old = user.role
            _apply_role(user=user, role=role)
            audit_record(
                actor=by,
                action="user.role",
                obj=user,
                data={"from": old, "to": role},
                request=request,
            )
            changes.append(_("your role is now: %(role)s") % {"role": _role_label(role)})
    old_brands = sorted(user.brands.values_list("id", flat=True))
    if old_brands != brand_ids or user.all_brands != all_brands:
        old_all = user.all_brands
        user.all_brands = all_brands
        user.save(update_fields=["all_brands"])
        user.brands.set(brand_ids)
        audit_record(
            actor=by,
            action="user.scope",
            obj=user,
            data={
                "from": {"brands": old_brands, "all_brands": old_all},
                "to": {"brands": brand_ids, "all_brands": all_brands},
            },
            request=request,
        )
        changes.append(_("the brands you work on have changed"))
    if is_active is not None and is_active != user.is_active:
        user.is_active = is_active
        user.save(update_fields=["is_active"])
        audit_record(
            actor=by, action="user.active", obj=user, data={"to": is_active}, request=request
        )
        changes.append(
            _("your account was reactivated") if is_active else _("your account was closed")
        )
    if changes:
        account_email_send(
            to=[user],
            subject=_("Your access to the viewer-relations CRM has changed"),
            body=_("Hello,\n\n%(who)s changed your access: %(changes)s.\n")
            % {"who": by, "changes": "; ".join(changes)},
        )
    return grant


def user_set_role(*, user: User, role: str, by: User | None) -> User:
    """Set a role without the four-eyes check: for commands and migrations run by the
    operator (`by` may be None), never for a screen. Audited."""
    old = user.role
    _apply_role(user=user, role=role)
    audit_record(actor=by, action="user.role", obj=user, data={"from": old, "to": role})
    return user


def role_grant_request_create(
    *, user: User, role: str, by: User, request: HttpRequest | None = None
) -> RoleGrantRequest:
    """Open a request to give `user` the mediator or administrator role, awaiting approval.

    Announced to the people who may approve it (serving mediators, or the other
    administrators) and to the user. A second open request for the same user is refused.
    """
    if role not in permissions.ROLE_GRANT_APPROVER:
        raise ValueError(f"the {role!r} role needs no approval")
    if role not in permissions.roles_grantable_by(by):
        raise PermissionDenied(_("You cannot grant a role wider than your own."))
    if RoleGrantRequest.objects.filter(user=user, status=RoleGrantRequest.Status.PENDING).exists():
        raise PermissionDenied(_("A request for this person already awaits approval."))
    grant = RoleGrantRequest.objects.create(user=user, role=role, requested_by=by)
    audit_record(
        actor=by,
        action="role_grant.requested",
        obj=grant,
        data={"user": user.pk, "role": role},
        request=request,
    )
    approvers = _active_with_role(permissions.ROLE_GRANT_APPROVER[role], exclude=[by.pk, user.pk])
    link = settings.SITE_URL + reverse("accounts:grant_list")
    account_email_send(
        to=approvers,
        subject=_("A role grant awaits your approval"),
        body=_(
            "Hello,\n\n%(by)s asks that %(user)s be given the role: %(role)s. "
            "It takes effect only once approved by another person: %(link)s\n"
        )
        % {"by": by, "user": user, "role": _role_label(role), "link": link},
    )
    account_email_send(
        to=[user],
        subject=_("A new role was requested for you"),
        body=_(
            "Hello,\n\n%(by)s asked that you be given the role: %(role)s. "
            "You will be told when it is approved or rejected.\n"
        )
        % {"by": by, "role": _role_label(role)},
    )
    return grant


@transaction.atomic
def role_grant_request_decide(
    *,
    grant: RoleGrantRequest,
    by: User,
    approve: bool,
    reason: str = "",
    request: HttpRequest | None = None,
) -> RoleGrantRequest:
    """Approve (the role is given at once) or reject a pending grant request.

    Only a serving mediator decides a mediator grant, only an administrator an administrator
    grant, and never the person who asked nor the person concerned (PermissionDenied).
    Audited; announced to the user and the requester, and to every mediator for a new mediator.
    """
    grant = RoleGrantRequest.objects.select_for_update().get(pk=grant.pk)
    if not permissions.can(by, "decide", grant):
        raise PermissionDenied(_("You may not decide this request."))
    grant.status = RoleGrantRequest.Status.APPROVED if approve else RoleGrantRequest.Status.REJECTED
    grant.decided_by = by
    grant.decided_at = timezone.now()
    grant.reason = reason
    grant.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    audit_record(
        actor=by,
        action="role_grant.approved" if approve else "role_grant.rejected",
        obj=grant,
        data={"user": grant.user_id, "role": grant.role, "reason": reason},
        request=request,
    )
    user = User.objects.select_for_update().get(pk=grant.user_id)
    label = _role_label(grant.role)
    if approve:
        old = user.role
        _apply_role(user=user, role=grant.role)
        audit_record(
            actor=by,
            action="user.role",
            obj=user,
            data={
                "from": old,
                "to": grant.role,
                "grant": grant.pk,
                "requested_by": grant.requested_by_id,
            },
            request=request,
        )
        subject = _("Role granted: %(role)s") % {"role": label}
        body = _(
            "Hello,\n\n%(user)s now has the role: %(role)s (asked by %(asker)s, "
            "approved by %(by)s).\n"
        ) % {"user": user, "role": label, "asker": grant.requested_by, "by": by}
        to = [user, grant.requested_by]
        if grant.role == Role.MEDIATOR:
            to += _active_with_role(Role.MEDIATOR)
        account_email_send(to=to, subject=subject, body=body)
    else:
        account_email_send(
            to=[user, grant.requested_by],
            subject=_("Role request rejected: %(role)s") % {"role": label},
            body=_(
                "Hello,\n\n%(by)s rejected the request to give %(user)s the role: "
                "%(role)s.\n%(reason)s\n"
            )
            % {"by": by, "user": user, "role": label, "reason": reason},
        )
    return grant


def team_membership_save(
    *, membership: TeamMembership, by: User, request: HttpRequest | None = None
) -> TeamMembership:
    """Add someone to a team, or change their lead flag; audited, announced to them."""
    adding = membership.pk is None
    old_lead = None
    if not adding:
        old_lead = (
            TeamMembership.objects.filter(pk=membership.pk)
            .values_list("is_lead", flat=True)
            .first()
        )
    membership.save()
    if not adding and old_lead == membership.is_lead:
        return membership
    audit_record(
        actor=by,
        action="team.member_added" if adding else "team.member_changed",
        obj=membership.team,
        data={"user": membership.user_id, "is_lead": membership.is_lead},
        request=request,
    )
    account_email_send(
        to=[membership.user],
        subject=_("Your teams have changed"),
        body=(
            _("Hello,\n\n%(by)s added you to the team %(team)s.\n")
            if adding
            else _("Hello,\n\n%(by)s changed your place in the team %(team)s.\n")
        )
        % {"by": by, "team": membership.team},
    )
    return membership


def team_membership_delete(
    *, membership: TeamMembership, by: User, request: HttpRequest | None = None
) -> None:
    """Take someone out of a team; audited, announced to them."""
    team, user = membership.team, membership.user
    membership.delete()
    audit_record(
        actor=by, action="team.member_removed", obj=team, data={"user": user.pk}, request=request
    )
    account_email_send(
        to=[user],
        subject=_("Your teams have changed"),
        body=_("Hello,\n\n%(by)s removed you from the team %(team)s.\n") % {"by": by, "team": team},
    )


def user_password_reset_send(*, user: User, by: User, request: HttpRequest | None = None) -> str:
    """Email `user` a link to choose a new password (Django's reset flow); returns the link.

    Nobody sets another person's password: an administrator only sends this link.
    Valid PASSWORD_RESET_TIMEOUT seconds, once (the token changes with the password).
    """
    if not permissions.can(by, "manage_users"):
        raise PermissionDenied
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = settings.SITE_URL + reverse(
        "password_reset_confirm", kwargs={"uidb64": uid, "token": token}
    )
    audit_record(actor=by, action="user.password_reset_sent", obj=user, request=request)
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    account_email_send(
        to=[user],
        subject=_("Choose your password for the viewer-relations CRM"),
        body=_(
            "Hello,\n\n%(by)s sent you this link to choose your password. It works once, "
            "for %(hours)s hours:\n\n%(link)s\n\nYour username: %(username)s\n"
        )
        % {"by": by, "link": link, "hours": hours, "username": user.get_username()},
    )
    return link


def user_signin_unlock(*, user: User, by: User, request: HttpRequest | None = None) -> int:
    """Lift a sign-in lock-out of `user` (django-axes' failure records for the username);
    returns how many records were cleared. Audited."""
    from axes.utils import reset

    if not permissions.can(by, "manage_users"):
        raise PermissionDenied
    cleared = reset(username=user.get_username())
    audit_record(
        actor=by,
        action="user.signin_unlocked",
        obj=user,
        data={"cleared": cleared},
        request=request,
    )
    return cleared


def user_signin_failures_forgive(sender, request, user, **kwargs) -> None:
    """On a successful sign-in, forget that username's own failed attempts (typos), and only
    them: the failures of other usernames from the same address still count against it.
    Connected to `user_logged_in` (accounts.apps)."""
    from axes.models import AccessAttempt

    AccessAttempt.objects.filter(username=user.get_username()).delete()


def username_signin_unlock(*, username: str, by: User, request: HttpRequest | None = None) -> int:
    """Lift a sign-in lock-out of a username that belongs to no account (someone guessing);
    audited."""
    from axes.utils import reset

    if not permissions.can(by, "manage_users"):
        raise PermissionDenied
    cleared = reset(username=username)
    audit_record(
        actor=by,
        action="signin.username_unlocked",
        object_type="username",
        object_id=username[:64],
        data={"cleared": cleared},
        request=request,
    )
    return cleared


def address_signin_unlock(*, ip_address: str, by: User, request: HttpRequest | None = None) -> int:
    """Lift a sign-in lock-out of one address; audited."""
    from axes.utils import reset

    if not permissions.can(by, "manage_users"):
        raise PermissionDenied
    cleared = reset(ip=ip_address)
    audit_record(
        actor=by,
        action="signin.address_unlocked",
        object_type="ip_address",
        object_id=ip_address,
        data={"cleared": cleared},
        request=request,
    )
    return cleared
