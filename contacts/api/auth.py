"""Authentication and permissions of integration clients (see IntegrationClient)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.throttling import SimpleRateThrottle

from ..models import IntegrationClient
from ..services.integrations import integration_client_authenticate


class IntegrationTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>` of an IntegrationClient."""

    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Invalid Authorization header: expected “Bearer <token>”.")
            )
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        client = integration_client_authenticate(token=token)
        if client is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        return client, client

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class _ClientMay(BasePermission):
    flag = ""
    message = _("This client is not allowed to use this endpoint.")

    def has_permission(self, request, view):
        client = request.auth
        return isinstance(client, IntegrationClient) and getattr(client, self.flag)


class MayPostContacts(_ClientMay):
    flag = "may_post_contacts"


class MayPostCalls(_ClientMay):
    flag = "may_post_calls"


class IntegrationThrottle(SimpleRateThrottle):
    """Requests per client and per window of the rate's period (a flood from one integration
    is refused with 429).

    Counted in the cache, one counter per client and window, incremented once per request:
    DRF's default reads and writes the list of the period's request times instead, a list
    that grows with the rate (at 3,000 a minute, 27 kB each way on every request). The price
    of windows: a client may send up to twice its rate across the boundary of two of them; a
    flood is still refused within the period.
    """

    scope = "integration"

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        client_key = self.get_cache_key(request, view)
        if client_key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.key = f"{client_key}:{window}"
        self.window_ends = (window + 1) * self.duration
        try:
            count = self.cache.incr(self.key)
        except ValueError:
            # The window's first request; the counter outlives the window, then expires.
            if self.cache.add(self.key, 1, 2 * self.duration):
                return True
            count = self.cache.incr(self.key)  # another process started it meanwhile
        if count > self.num_requests:
            return self.throttle_failure()
        return True

    def wait(self):
        return max(0.0, self.window_ends - self.now)

    def get_rate(self):
        return getattr(settings, "INTAKE_API_RATE", "3000/minute")

    def get_cache_key(self, request, view):
        client = request.auth
        if not isinstance(client, IntegrationClient):
            return None
        return self.cache_format % {"scope": self.scope, "ident": client.code}


class IntegrationTokenScheme(OpenApiAuthenticationExtension):
    target_class = "contacts.api.auth.IntegrationTokenAuthentication"
    name = "integrationToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Token of an integration client (Configuration → integration "
            "clients), sent as `Authorization: Bearer <token>`.",
        }
