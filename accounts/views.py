"""Staff's own security pages (second factor, recovery codes) and the four-eyes page where
mediators and administrators decide role grants."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import permissions, second_factor, services
from .middleware import HAS_SECOND_FACTOR
from .models import Role, RoleGrantRequest, User


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@never_cache
@login_required
def security(request: HttpRequest) -> HttpResponse:
    """ "Ma sécurité": the second factor's state, recovery codes, the password."""
    user = request.user
    return render(
        request,
        "accounts/security.html",
        {
            "device": second_factor.totp_device(user),
            "required": permissions.second_factor_required(user),
            "codes_left": second_factor.recovery_codes_left(user),
            "verified": user.is_verified(),
        },
    )


@never_cache
@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app: QR code and secret, then a code from the app to confirm.

    Someone who already has one must first prove it (verified session): a stolen password
    alone must not be enough to replace the second factor."""
    user = request.user
    if second_factor.has_second_factor(user) and not user.is_verified():
        return redirect("accounts:verify")
    device = second_factor.totp_enrolment_device(user)
    error = None
    if request.method == "POST":
        codes = second_factor.totp_enrol_confirm(
            request=request, device=device, token=request.POST.get("code", "")
        )
        if codes is not None:
            request.session[HAS_SECOND_FACTOR] = True
            messages.success(request, _("Two-factor authentication is on."))
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "next": _next_url(request)},
            )
        error = _("This code is not valid. Check your phone's clock and type the current code.")
    return render(
        request,
        "accounts/enrol.html",
        {
            "qr_svg": second_factor.totp_qr_svg(device),
            "secret": second_factor.totp_secret_text(device),
            "error": error,
            "next": request.POST.get("next") or request.GET.get("next", ""),
            "required": permissions.second_factor_required(user),
        },
        status=400 if error else 200,
    )


@never_cache
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of sign-in: a code from the authenticator app, or a recovery code."""
    user = request.user
    if user.is_verified():
        return redirect(_next_url(request))
    if not second_factor.has_second_factor(user):
        return redirect("accounts:enrol")
    error = None
    if request.method == "POST":
        if second_factor.second_factor_verify(request=request, token=request.POST.get("code", "")):
            return redirect(_next_url(request))
        error = _("This code is not valid.")
    return render(
        request,
        "accounts/verify.html",
        {"error": error, "next": request.POST.get("next") or request.GET.get("next", "")},
        status=400 if error else 200,
    )


@never_cache
@login_required
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes (the old ones stop working), shown once."""
    if not second_factor.has_second_factor(request.user) or not request.user.is_verified():
        raise PermissionDenied
    codes = second_factor.recovery_codes_regenerate(request=request)
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": ""})


def _lockouts() -> dict[str, list[dict]]:
    """Usernames and addresses locked out now (django-axes' failure records in the cool-off
    window at or above the limit)."""
    from axes.models import AccessAttempt
    from django.conf import settings
    from django.db.models import Max, Sum
    from django.utils import timezone

    since = timezone.now() - settings.AXES_COOLOFF_TIME
    recent = AccessAttempt.objects.filter(attempt_time__gte=since)
    out = {}
    for field in ("username", "ip_address"):
        rows = (
            recent.exclude(**{f"{field}__isnull": True})
            .values(field)
            .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
            .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
            .order_by("-last")
        )
        out[field] = [{"key": r[field], "failures": r["failures"], "last": r["last"]} for r in rows]
    return out


@never_cache
@login_required
def lockouts(request: HttpRequest) -> HttpResponse:
    """Sign-in lock-outs now, by username and by address; an administrator lifts them."""
    permissions.require(request.user, "manage_users")
    if request.method == "POST":
        username = request.POST.get("username", "")
        address = request.POST.get("ip_address", "")
        if username:
            user = User.objects.filter(username=username).first()
            if user is not None:
                services.user_signin_unlock(user=user, by=request.user, request=request)
            else:
                services.username_signin_unlock(
                    username=username[:150], by=request.user, request=request
                )
        elif address:
            services.address_signin_unlock(
                ip_address=address[:64], by=request.user, request=request
            )
        messages.success(request, _("Sign-in unlocked."))
        return redirect("accounts:lockouts")
    locked = _lockouts()
    return render(
        request,
        "accounts/lockouts.html",
        {"usernames": locked["username"], "addresses": locked["ip_address"]},
    )


@never_cache
@login_required
def grant_list(request: HttpRequest) -> HttpResponse:
    """Role grants awaiting a second person's approval, and the latest decisions."""
    permissions.require(request.user, "review_role_grants")
    grants = RoleGrantRequest.objects.select_related("user", "requested_by", "decided_by")
    if permissions.role_of(request.user) != Role.ADMIN:
        grants = grants.filter(role=Role.MEDIATOR)
    pending = [g for g in grants.filter(status=RoleGrantRequest.Status.PENDING)]
    rows = [{"grant": g, "may_decide": permissions.can(request.user, "decide", g)} for g in pending]
    decided = grants.exclude(status=RoleGrantRequest.Status.PENDING)[:20]
    return render(request, "accounts/grant_list.html", {"rows": rows, "decided": decided})


@login_required
@require_POST
def grant_decide(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "review_role_grants")
    grant = get_object_or_404(RoleGrantRequest, pk=pk)
    if not permissions.can(request.user, "view", grant):
        raise PermissionDenied
    decision = request.POST.get("decision")
    if decision not in {"approve", "reject"}:
        return HttpResponse(status=400)
    services.role_grant_request_decide(
        grant=grant,
        by=request.user,
        approve=decision == "approve",
        reason=request.POST.get("reason", "")[:2000],
        request=request,
    )
    if decision == "approve":
        messages.success(request, _("Approved: %(grant)s.") % {"grant": grant})
    else:
        messages.info(request, _("Rejected: %(grant)s.") % {"grant": grant})
    return redirect("accounts:grant_list")
