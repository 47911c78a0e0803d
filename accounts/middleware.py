"""Session rules for staff: expiry on inactivity and at the end of a shift, and the second
factor before anything else for the roles that need it."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import permissions

SIGNED_IN_AT = "accounts_signed_in_at"
SEEN_AT = "accounts_seen_at"
HAS_SECOND_FACTOR = "accounts_has_second_factor"
# The last-seen time is written at most this often (seconds): a session write per request
# would cost a query on every page for nothing.
SEEN_RESOLUTION = 60

# What an unverified privileged user may still reach: the second-factor pages themselves,
# sign-out and the language switch.
UNVERIFIED_ALLOWED = frozenset(
    {
        "logout",
        "set_language",
        "accounts:verify",
        "accounts:enrol",
        "password_reset_confirm",
        "password_reset_complete",
    }
)


def _now() -> float:
    return timezone.now().timestamp()


def on_user_logged_in(sender, request, user, **kwargs) -> None:
    """Stamp a new session (shift start, last seen, whether this user has a second factor),
    so that the middleware needs no query nor session write on the next requests."""
    if request is None or not hasattr(request, "session"):
        return
    from .second_factor import has_second_factor

    now = _now()
    request.session[SIGNED_IN_AT] = now
    request.session[SEEN_AT] = now
    request.session[HAS_SECOND_FACTOR] = has_second_factor(user)


class SessionExpiryMiddleware:
    """Sign out a session idle for SESSION_IDLE_MINUTES, or older than SESSION_COOKIE_AGE
    (the end of a shift, counted from sign-in whatever the activity). External call-centre
    agents sign in from outside the group's network: a forgotten session must not stay open."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            session = request.session
            now = _now()
            signed_in = session.get(SIGNED_IN_AT)
            seen = session.get(SEEN_AT)
            if signed_in is None:
                session[SIGNED_IN_AT] = signed_in = now
            idle = settings.SESSION_IDLE_MINUTES * 60
            if now - signed_in > settings.SESSION_COOKIE_AGE or (
                seen is not None and now - seen > idle
            ):
                logout(request)
                messages.info(request, _("Your session has expired. Please log in again."))
            elif seen is None or now - seen >= SEEN_RESOLUTION:
                session[SEEN_AT] = now
        return self.get_response(request)


class SecondFactorMiddleware:
    """Managers, administrators and mediators (and anyone who enrolled a second factor) reach
    nothing but the second-factor pages, sign-out and the language switch until their session
    is verified (django-otp). Without an authenticator yet, they are sent to enrol one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return self.get_response(request)
        has_device = request.session.get(HAS_SECOND_FACTOR)
        if has_device is None:
            from .second_factor import has_second_factor

            has_device = request.session[HAS_SECOND_FACTOR] = has_second_factor(user)
        if not (has_device or permissions.second_factor_required(user)):
            return self.get_response(request)
        if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return self.get_response(request)
        try:
            name = resolve(request.path_info).view_name
        except Resolver404:
            name = None
        if name in UNVERIFIED_ALLOWED:
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": _("Two-factor authentication is required.")}, status=403)
        target = reverse("accounts:verify" if has_device else "accounts:enrol")
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        return redirect(target)
