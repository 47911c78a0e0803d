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
    """Requests per client (a flood from one integration is refused with 429)."""

    scope = "integration"

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
